/**
 * An in-memory AgentBackend for API tests and the API benchmark: deployments
 * are maps, "containers" are rows the test adds. Nothing here talks to an
 * engine; it only has to behave like the contract in platform/api/backend.ts.
 */
import { FizzError } from "../../../core/errors.ts";
import type {
  AgentBackend,
  ContainerFilter,
  ContainerView,
  DeploymentDetail,
  DeploymentInput,
  InspectTarget,
  LogLine,
  LogsQuery,
  ServiceView,
} from "../../../platform/api/backend.ts";

interface FakeDeployment {
  name: string;
  generation: number;
  createdAt: number;
  updatedAt: number;
  input: DeploymentInput;
  replicas: Map<string, number>;
}

export class FakeBackend implements AgentBackend {
  readonly deployments = new Map<string, FakeDeployment>();
  readonly containers: ContainerView[] = [];
  readonly logLines = new Map<string, LogLine[]>();
  /** Lines pushed here reach following log streams. */
  private readonly followers = new Set<(l: LogLine) => void>();
  /** When set, every method throws it (to test error mapping). */
  failWith: unknown;
  clock = 1_700_000_000_000;
  /** Log iterables that were closed (client went away). */
  closedStreams = 0;

  private check(): void {
    if (this.failWith !== undefined) throw this.failWith;
  }

  private servicesOf(d: FakeDeployment): string[] {
    if (d.input.project && typeof d.input.project.services === "object" && d.input.project.services) return Object.keys(d.input.project.services);
    // For compose files, "services" are the top-level keys under services: in a tiny YAML subset.
    const names = new Set<string>();
    for (const f of d.input.files ?? []) {
      let inServices = false;
      for (const line of f.content.split("\n")) {
        if (/^services:\s*$/.test(line)) inServices = true;
        else if (/^\S/.test(line)) inServices = false;
        else if (inServices) {
          const m = /^ {2}([A-Za-z0-9._-]+):/.exec(line);
          if (m) names.add(m[1]!);
        }
      }
    }
    return [...names];
  }

  addContainer(c: Partial<ContainerView> & { deployment: string; service: string; number: number }): ContainerView {
    const v: ContainerView = {
      id: c.id ?? `${c.deployment}${c.service}${c.number}`.replace(/[^a-z0-9]/g, "").padEnd(12, "0").slice(0, 12),
      name: c.name ?? `${c.deployment}-${c.service}-${c.number}`,
      image: c.image ?? "fizz-test/busybox:1",
      state: c.state ?? "running",
      health: c.health ?? "none",
      status: c.status ?? "Up 3 minutes",
      createdAt: c.createdAt ?? this.clock,
      restarts: c.restarts ?? 0,
      ports: c.ports ?? [],
      ...c,
    };
    this.containers.push(v);
    return v;
  }

  emitLog(l: LogLine): void {
    const list = this.logLines.get(l.container) ?? [];
    list.push(l);
    this.logLines.set(l.container, list);
    for (const f of this.followers) f(l);
  }

  async listDeployments() {
    this.check();
    return [...this.deployments.values()].map((d) => this.summary(d));
  }

  private summary(d: FakeDeployment) {
    const cs = this.containers.filter((c) => c.deployment === d.name);
    const services = this.servicesOf(d);
    return {
      name: d.name,
      generation: d.generation,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      services: services.length,
      running: cs.filter((c) => c.state === "running").length,
      desired: services.reduce((n, s) => n + (d.replicas.get(s) ?? 1), 0),
    };
  }

  async getDeployment(name: string): Promise<DeploymentDetail | undefined> {
    this.check();
    const d = this.deployments.get(name);
    return d ? { ...this.summary(d), spec: d.input.project ?? null, source: { files: (d.input.files ?? []).map((f) => f.name) } } : undefined;
  }

  async putDeployment(name: string, input: DeploymentInput) {
    this.check();
    const prev = this.deployments.get(name);
    const d: FakeDeployment = {
      name,
      generation: (prev?.generation ?? 0) + 1,
      createdAt: prev?.createdAt ?? this.clock,
      updatedAt: this.clock,
      input,
      replicas: prev?.replicas ?? new Map(),
    };
    if (this.servicesOf(d).length === 0) {
      throw new FizzError({ code: "compose.no_services", message: "the project defines no services", status: 400 });
    }
    this.deployments.set(name, d);
    return { deployment: name, created: prev === undefined, generation: d.generation, actions: { create: this.servicesOf(d).length } };
  }

  async deleteDeployment(name: string, opts: { volumes: boolean }) {
    this.check();
    if (!this.deployments.delete(name)) return undefined;
    const before = this.containers.length;
    for (let i = this.containers.length - 1; i >= 0; i--) if (this.containers[i]!.deployment === name) this.containers.splice(i, 1);
    return { deployment: name, removed: { containers: before - this.containers.length, networks: 1, volumes: opts.volumes ? 1 : 0 } };
  }

  async listServices(deployment: string | undefined): Promise<ServiceView[] | undefined> {
    this.check();
    if (deployment !== undefined && !this.deployments.has(deployment)) return undefined;
    const ds = deployment === undefined ? [...this.deployments.values()] : [this.deployments.get(deployment)!];
    return ds.flatMap((d) =>
      this.servicesOf(d).map((s) => {
        const cs = this.containers.filter((c) => c.deployment === d.name && c.service === s);
        return {
          deployment: d.name,
          name: s,
          image: cs[0]?.image ?? "unknown",
          desired: d.replicas.get(s) ?? 1,
          running: cs.filter((c) => c.state === "running").length,
          healthy: cs.filter((c) => c.health === "healthy").length,
        };
      }),
    );
  }

  async listContainers(f: ContainerFilter) {
    this.check();
    return this.containers.filter(
      (c) =>
        (f.deployment === undefined || c.deployment === f.deployment) &&
        (f.service === undefined || c.service === f.service) &&
        (f.state === undefined || c.state === f.state) &&
        (f.health === undefined || c.health === f.health),
    );
  }

  async inspect(t: InspectTarget) {
    this.check();
    if (t.kind === "container") {
      const c = this.containers.find((x) => x.id === t.id || x.name === t.id || (t.id.length >= 4 && x.id.startsWith(t.id)));
      return c ? { ...c, engine: { Id: c.id } } : undefined;
    }
    const svc = (await this.listServices(t.deployment))?.find((s) => s.name === t.service);
    return svc ? { ...svc, containers: this.containers.filter((c) => c.deployment === t.deployment && c.service === t.service) } : undefined;
  }

  async logs(q: LogsQuery, signal: AbortSignal): Promise<AsyncIterable<LogLine> | undefined> {
    this.check();
    let ids: string[];
    if (q.target.kind === "container") {
      const id = q.target.id;
      const c = this.containers.find((x) => x.id === id || x.name === id);
      if (!c) return undefined;
      ids = [c.id];
    } else {
      const t = q.target;
      if (!this.deployments.has(t.deployment)) return undefined;
      ids = this.containers.filter((c) => c.deployment === t.deployment && (t.services.length === 0 || t.services.includes(c.service))).map((c) => c.id);
    }
    const self = this;
    const backlog = ids.flatMap((id) => {
      const all = this.logLines.get(id) ?? [];
      return q.tail !== undefined ? all.slice(Math.max(0, all.length - q.tail)) : all;
    });
    return (async function* () {
      const queue: LogLine[] = [];
      let wake: (() => void) | undefined;
      const follower = (l: LogLine) => {
        if (ids.includes(l.container)) {
          queue.push(l);
          wake?.();
        }
      };
      const onAbort = () => wake?.();
      signal.addEventListener("abort", onAbort);
      if (q.follow) self.followers.add(follower);
      try {
        yield* backlog;
        while (q.follow && !signal.aborted) {
          if (queue.length) yield queue.shift()!;
          else await new Promise<void>((r) => (wake = r));
        }
      } finally {
        self.followers.delete(follower);
        signal.removeEventListener("abort", onAbort);
        self.closedStreams++;
      }
    })();
  }

  async scale(deployment: string, service: string, replicas: number) {
    this.check();
    const d = this.deployments.get(deployment);
    if (!d || !this.servicesOf(d).includes(service)) return undefined;
    const previous = d.replicas.get(service) ?? 1;
    d.replicas.set(service, replicas);
    return { deployment, service, replicas, previous };
  }

  /** API shape only: the real rollback is tested against the engine backend. */
  async rollback(deployment: string, service: string) {
    this.check();
    const d = this.deployments.get(deployment);
    if (!d || !this.servicesOf(d).includes(service)) return undefined;
    d.generation++;
    return { deployment, service, generation: d.generation };
  }

  async why(service: string, deployment: string | undefined) {
    this.check();
    const d = [...this.deployments.values()].find((x) => (deployment === undefined || x.name === deployment) && this.servicesOf(x).includes(service));
    if (!d) throw new FizzError({ code: "api.not_found", message: `no service '${service}'`, status: 404 });
    const n = d.replicas.get(service) ?? 1;
    return { deployment: d.name, service, explanation: { desired: n }, text: `${service} (deployment ${d.name}): ${n} replicas on this node\n`, replicas: Array.from({ length: n }, (_, i) => ({ number: i + 1, node: "local", addresses: { default: `10.208.4.${20 + i}` } })) };
  }
}
