/**
 * `fizz -H … logs -f app` goes through the agent's logs endpoint. It must
 * follow the service across a recreate (`fizz up --force-recreate app`, a
 * changed spec, a health restart that recreates), as `fizz logs -f` on the
 * engine does: it used to end, exit 0, when the container it started with
 * went away, and said nothing of the new one.
 */
import { describe, expect, test } from "bun:test";
import { DeploymentViews } from "../../../controllers/deployments/views.ts";
import type { DesiredStore } from "../../../controllers/deployments/desired.ts";
import type { NodeEngine } from "../../../controllers/deployments/node-engine.ts";
import type { LogLine } from "../../../platform/api/backend.ts";
import type { ContainerSummary, LogsOptions, OutputFrame } from "../../../platform/engine/index.ts";
import type { AgentStore } from "../../../platform/store/index.ts";

interface FakeContainer {
  summary: ContainerSummary;
  lines: string[];
  /** Resolves when the container's stream should end (it was removed). */
  gone: Promise<void>;
  remove: () => void;
}

function container(id: string, service: string, lines: string[]): FakeContainer {
  let remove!: () => void;
  const gone = new Promise<void>((r) => (remove = r));
  return {
    summary: { Id: id, Names: [`/shop-${service}-1`], State: "running", Status: "Up", Labels: { "com.docker.compose.project": "shop", "com.docker.compose.service": service } } as unknown as ContainerSummary,
    lines,
    gone,
    remove,
  };
}

function views(live: FakeContainer[]) {
  const engine = {
    name: "fake",
    containers: async () => live.map((c) => c.summary),
    async *logs(id: string, opts: LogsOptions): AsyncGenerator<OutputFrame> {
      const c = live.find((x) => x.summary.Id === id);
      if (!c) return;
      for (const l of c.lines) yield { stream: "stdout", data: new TextEncoder().encode(`${l}\n`) };
      if (opts.follow) await Promise.race([c.gone, new Promise((r) => opts.signal?.addEventListener("abort", r))]);
    },
  } as unknown as NodeEngine;
  const desired = { get: (n: string) => (n === "shop" ? { name: "shop", spec: { services: { app: {} } } } : undefined) } as unknown as DesiredStore;
  return new DeploymentViews(engine, desired, {} as AgentStore, { node: "n1", placement: () => undefined, followPoll: 20 });
}

describe("the agent's logs -f", () => {
  test("follows a service into the container that replaced the one it started with", async () => {
    const old = container("c1", "app", ["old line"]);
    const live = [old];
    const v = views(live);
    const ac = new AbortController();
    const stream = await v.logs({ target: { kind: "deployment", deployment: "shop", services: ["app"] }, follow: true, timestamps: false }, ac.signal);
    const seen: LogLine[] = [];
    const done = (async () => {
      for await (const l of stream!) {
        seen.push(l);
        if (l.line === "new line") ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    // Recreated: the old container goes, a new one (another id) comes.
    live.splice(0, 1, container("c2", "app", ["new line"]));
    old.remove();
    const ended = await Promise.race([done.then(() => "ended"), new Promise((r) => setTimeout(() => r("timeout"), 2000))]);
    ac.abort();
    expect(ended).toBe("ended");
    expect(seen.map((l) => l.line)).toEqual(["old line", "new line"]);
  });

  test("without -f the stream ends after the containers' output", async () => {
    const v = views([container("c1", "app", ["a", "b"])]);
    const stream = await v.logs({ target: { kind: "deployment", deployment: "shop", services: [] }, follow: false, timestamps: false }, new AbortController().signal);
    const seen: string[] = [];
    for await (const l of stream!) seen.push(l.line);
    expect(seen).toEqual(["a", "b"]);
  });

  test("with -f and no container yet, the stream waits for one", async () => {
    const live: FakeContainer[] = [];
    const v = views(live);
    const ac = new AbortController();
    const stream = await v.logs({ target: { kind: "deployment", deployment: "shop", services: ["app"] }, follow: true, timestamps: false }, ac.signal);
    const seen: string[] = [];
    const done = (async () => {
      for await (const l of stream!) {
        seen.push(l.line);
        ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    live.push(container("c3", "app", ["first"]));
    const ended = await Promise.race([done.then(() => "ended"), new Promise((r) => setTimeout(() => r("timeout"), 2000))]);
    ac.abort();
    expect(ended).toBe("ended");
    expect(seen).toEqual(["first"]);
  });
});
