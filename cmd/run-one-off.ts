/**
 * The steps of `fizz run` on one engine: start the dependencies (unless the
 * fizz agent owns the deployment, which keeps them running itself), ensure
 * the service's networks, volumes and image, create the one-off container,
 * then either start it detached or attach, start, pass signals on, and return
 * the command's exit code.
 */
import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import type { Project } from "../core/compose/model.ts";
import type { RunOverrides } from "../core/deploy/one-off.ts";
import type { Engine } from "../platform/engine/index.ts";
import type { StepEvent } from "../platform/deploy/executor.ts";
import type { Context } from "./context.ts";
import { attachAndWait } from "./attach-io.ts";
import { managedByAgent } from "./service-containers.ts";
import { projectEnvOf } from "./project-common.ts";

export interface RunOneOffOptions {
  overrides: RunOverrides;
  detach: boolean;
  noDeps: boolean;
  pull?: "always" | "missing" | "never";
  build: boolean;
  render: (e: StepEvent) => void;
}

export async function runOneOff(ctx: Context, engine: Engine, project: Project, serviceName: string, o: RunOneOffOptions): Promise<number> {
  const [{ prepareProject, readActual }, { plan }, { executePlan }, { EngineExecutor }, { converge }, { implicitDeps }, oneOff] = await Promise.all([
    import("../platform/deploy/project.ts"),
    import("../core/reconcile/plan.ts"),
    import("../platform/deploy/executor.ts"),
    import("../platform/deploy/engine-adapter.ts"),
    import("../platform/deploy/converge.ts"),
    import("../core/compose/query.ts"),
    import("../core/deploy/one-off.ts"),
  ]);
  const prepared = prepareProject(project, { hostEnv: process.env, ...projectEnvOf(project), targets: [serviceName], writeLocalFiles: true });
  const service = prepared.project.services[serviceName] ?? prepared.project.disabled_services[serviceName]!;
  const planOpts = { ...(o.pull ? { pull: o.pull } : {}), ...(o.build ? { build: true } : {}) };

  const deps = implicitDeps(service).filter((d) => Object.hasOwn(prepared.project.services, d));
  if (!o.noDeps && deps.length && !(await managedByAgent(ctx, project.name))) {
    const r = await converge(engine, prepared, { ...planOpts, services: deps }, { instance: {}, onEvent: o.render });
    if (!r.result.ok) throw r.result.error!;
  }
  // The service's own networks, volumes and image (its regular containers are not touched).
  const own = plan(prepared.desired, await readActual(engine, project.name), { ...planOpts, services: [serviceName], noDeps: true });
  const kinds = new Set(["createNetwork", "createVolume", "pullImage", "buildImage"]);
  const steps = own.steps.filter((s) => kinds.has(s.kind));
  const ids = new Set(steps.map((s) => s.id));
  if (steps.length) {
    const r = await executePlan({ steps: steps.map((s) => ({ ...s, after: s.after.filter((a) => ids.has(a)) })), warnings: [] }, new EngineExecutor(engine, prepared.builds), {
      project: project.name,
      instance: {},
      onEvent: o.render,
    });
    if (!r.ok) throw r.error!;
  }

  const svc = oneOff.oneOffService(service, o.overrides, (k) => process.env[k], (p) => (posix.isAbsolute(p) ? p : posix.join(project.working_dir, p)));
  const { instance } = oneOff.oneOffInstance(prepared.project, svc, {
    ...(o.overrides.name ? { name: o.overrides.name } : {}),
    slug: randomBytes(32).toString("hex"),
    // Detached, only the engine can remove it on exit. Attached, we remove it ourselves once we have
    // the exit code: the engine's AutoRemove can race the wait for it (and lose fast commands' output).
    autoRemove: o.overrides.autoRemove && o.detach,
  });
  const executor = new EngineExecutor(engine, prepared.builds);
  await executor.ensureBindSources(instance.body as never);
  const { Id: id } = await engine.containers.create(instance.body as never, { name: instance.name });
  try {
    for (const n of instance.extraNetworks) await engine.networks.connect(n.name, id, n.endpoint as Record<string, unknown>);
  } catch (e) {
    await engine.containers.remove(id, { force: true }).catch(() => {});
    throw e;
  }
  if (o.detach) {
    await engine.containers.start(id).catch(async (e) => {
      await engine.containers.remove(id, { force: true }).catch(() => {});
      throw e;
    });
    ctx.out(`${id}\n`);
    return 0;
  }
  try {
    return await attachAndWait(engine, id, { tty: o.overrides.tty, stdin: o.overrides.interactive });
  } finally {
    if (o.overrides.autoRemove) {
      await engine.containers.remove(id, { force: true, volumes: true }).catch(() => {});
    }
  }
}
