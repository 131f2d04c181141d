/**
 * Rotation of delivered files (controllers/secrets/delivery.ts) against the
 * deployments' converge path: a rotation's restart runs under the
 * deployment's lock, so it never races a pass recreating the same container
 * (a user's `up` that changed a config and something else failed on "is not
 * running", or the old container was started again after the pass stopped
 * it); and a stopped container gets its new files without being started.
 * Real files in a temporary directory, a fake engine and catalog.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deliveries } from "../../../controllers/secrets/delivery.ts";
import type { Catalog } from "../../../controllers/secrets/catalog.ts";
import type { KeyHolder } from "../../../controllers/secrets/keyring.ts";
import { loadProject } from "../../../core/compose/load.ts";
import type { Project } from "../../../core/compose/model.ts";
import { jsAead } from "../../../core/secrets/aead-js.ts";
import type { SecretMetaRecord } from "../../../core/state/index.ts";
import type { Engine } from "../../../platform/engine/index.ts";

const PATH = "app/config/conf";
const bytes = (s: string) => new TextEncoder().encode(s);

function project(): Project {
  const yaml = "name: app\nservices:\n  web:\n    image: x\n    configs:\n      - source: conf\n        target: /etc/c.conf\nconfigs:\n  conf: {file: ./c.txt}\n";
  const r = loadProject({ files: ["/p/compose.yaml"], cwd: "/p", env: {}, reader: { read: (p: string) => (p === "/p/compose.yaml" ? yaml : undefined) } });
  if (!r.project) throw new Error(JSON.stringify(r.diagnostics));
  const p = r.project;
  return { ...p, configs: { conf: { ...p.configs.conf!, sealed: { kind: "stored", path: PATH } } } };
}

/** The stored config: its current version and value, changed by `rotate`. */
function catalog() {
  let v = 1;
  let value = "one";
  const meta = (): SecretMetaRecord => ({ type: "secret", kind: "config", current: v, versions: [{ v, created: 0, size: value.length, by: "n1", id: `id${v}` }], project: "app", grants: [], labels: {}, created: 0 });
  return {
    c: { meta: (p: string) => (p.startsWith("app/") ? meta() : undefined), value: async () => bytes(value), identities: async () => [] } as unknown as Catalog,
    rotate(to: string) {
      v += 1;
      value = to;
    },
  };
}

/** A lock per deployment, as the reconciler keeps it; `hold` takes it until the returned function is called. */
function locks() {
  const tails = new Map<string, Promise<unknown>>();
  const exclusive = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const next = (tails.get(name) ?? Promise.resolve()).catch(() => undefined).then(fn);
    tails.set(name, next);
    return next;
  };
  const hold = (name: string) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    void exclusive(name, () => held);
    return release;
  };
  return { exclusive, hold };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(opts: { running: boolean }) {
  const root = mkdtempSync(join(tmpdir(), "fizz-delivery-"));
  dirs.push(root);
  const calls: string[] = [];
  const events: string[] = [];
  const state = { running: opts.running, exists: true };
  const engine = {
    containers: {
      list: async () => (state.exists ? [{ Names: ["/app-web-1"] }] : []),
      find: async () => (state.exists ? { State: { Running: state.running } } : undefined),
      restart: async (c: string) => {
        calls.push(`restart ${c}`);
        state.running = true;
      },
      kill: async (c: string) => calls.push(`kill ${c}`),
    },
  } as unknown as Engine;
  const cat = catalog();
  const l = locks();
  const d = new Deliveries({
    node: "n1",
    root: async () => root,
    rootIfReady: () => root,
    catalog: cat.c,
    keys: { key: {}, need: () => ({}) } as unknown as KeyHolder,
    aead: jsAead,
    engine,
    exclusive: l.exclusive,
    emit: (type) => events.push(type),
    log: { warn: () => {} },
  });
  const file = () => readFileSync(join(root, "app-web-1", "files", "0"), "utf8");
  return { d, cat, l, calls, events, state, file, p: project() };
}

describe("rotating delivered files", () => {
  test("a running container with a file mounted alone is restarted for the new version", async () => {
    const s = setup({ running: true });
    await s.d.prepare(s.p, "web", "app-web-1");
    expect(s.file()).toBe("one");
    s.cat.rotate("two");
    await s.d.pass(() => s.p);
    expect(s.file()).toBe("two");
    expect(s.calls).toEqual(["restart app-web-1"]);
    expect(s.events).toContain("secret.rotated_restart");
  });

  test("the restart waits for the deployment's pass; a pass that recreated the container leaves nothing to restart", async () => {
    const s = setup({ running: true });
    await s.d.prepare(s.p, "web", "app-web-1");
    s.cat.rotate("two");
    // A pass is recreating the container: it holds the lock.
    const release = s.l.hold("app");
    const rotation = s.d.pass(() => s.p);
    await new Promise((r) => setTimeout(r, 20));
    expect(s.calls).toEqual([]);
    // The pass removes the old container and creates the new one, whose files are written with the new version.
    await s.d.prepare(s.p, "web", "app-web-1");
    release();
    await rotation;
    expect(s.file()).toBe("two");
    expect(s.calls).toEqual([]);
    expect(s.events.filter((e) => e.startsWith("secret.rotated"))).toEqual([]);
  });

  test("a secret whose target is below /run/secrets (target: custom/pw) is in the directory mount, not a file mounted below it", async () => {
    const s = setup({ running: true });
    const p = s.p;
    const nested: Project = {
      ...p,
      secrets: { pw: { name: "pw", external: false, labels: {}, extensions: {}, sealed: { kind: "stored", path: "app/secret/pw" } } },
      services: { web: { ...p.services.web!, secrets: [{ source: "pw", target: "custom/pw" }] } },
    };
    const mounts = await s.d.prepare(nested, "web", "app-web-1");
    expect(mounts.filter((m) => m.Target.startsWith("/run/secrets"))).toEqual([{ Type: "bind", Source: expect.stringMatching(/app-web-1\/run-secrets$/), Target: "/run/secrets", ReadOnly: true }]);
    expect(readFileSync(join(String(mounts[0]!.Source), "custom", "pw"), "utf8")).toBe("one");
  });

  test("the pass applying a user's change (holding the lock) brings the files up to date itself, restart included", async () => {
    const s = setup({ running: true });
    await s.d.prepare(s.p, "web", "app-web-1");
    s.cat.rotate("two");
    // The deployment's pass holds the lock and asks for current files: done before the pass ends, so `fizz up` waits for it.
    const release = s.l.hold("app");
    await s.d.current(s.p);
    expect(s.file()).toBe("two");
    expect(s.calls).toEqual(["restart app-web-1"]);
    release();
    // Another deployment's containers are left to their own passes.
    s.cat.rotate("three");
    await s.d.current({ ...s.p, name: "other" });
    expect(s.file()).toBe("two");
  });

  test("on a node where the change's values arrive after it (gossip), the pass waits for the version the change was made with", async () => {
    const s = setup({ running: true });
    await s.d.prepare(s.p, "web", "app-web-1");
    // The change was accepted elsewhere with version 2 of the config; here it arrives 150 ms later.
    setTimeout(() => s.cat.rotate("two"), 150);
    await s.d.current(s.p, { [PATH]: 2, "app/config/unused": 7 });
    expect(s.file()).toBe("two");
    expect(s.calls).toEqual(["restart app-web-1"]);
  });

  test("a stopped container gets the new files and stays stopped", async () => {
    const s = setup({ running: false });
    await s.d.prepare(s.p, "web", "app-web-1");
    s.cat.rotate("two");
    await s.d.pass(() => s.p);
    expect(s.file()).toBe("two");
    expect(s.calls).toEqual([]);
    expect(s.state.running).toBe(false);
    expect(s.events).toContain("secret.rotated_in_place");
  });
});
