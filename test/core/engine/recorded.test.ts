import { describe, expect, test } from "bun:test";
import { checkRecordedEngine, readRecordedEngine } from "../../../core/engine/recorded.ts";
import type { EngineIdentity } from "../../../core/engine/identity.ts";

const docker: EngineIdentity = { name: "docker", id: "docker:ABC:/var/lib/docker", address: "unix:///var/run/docker.sock" };
const podman: EngineIdentity = { name: "podman", id: "podman:host:/var/lib/containers/storage", address: "unix:///run/podman/podman.sock" };
const base = { current: podman, deployments: ["shop"], adopt: false, dataDir: "/var/lib/fizz" };

describe("the engine a data directory's deployments run on", () => {
  test("first start, same engine, or nothing stored: start (and record)", () => {
    expect(checkRecordedEngine({ ...base, recorded: undefined })).toEqual({ ok: true, record: true });
    expect(checkRecordedEngine({ ...base, recorded: "not json" })).toEqual({ ok: true, record: true });
    expect(checkRecordedEngine({ ...base, recorded: JSON.stringify(podman) })).toEqual({ ok: true, record: false });
    // The same engine reached at another address: same engine, the new address recorded.
    expect(checkRecordedEngine({ ...base, recorded: JSON.stringify({ ...podman, address: "unix:///run/podman/other.sock" }) })).toEqual({ ok: true, record: true });
    expect(checkRecordedEngine({ ...base, recorded: JSON.stringify(docker), deployments: [] })).toEqual({ ok: true, record: true });
  });

  test("another engine with deployments stored: refused, naming both engines, the deployments and the ways on", () => {
    const r = checkRecordedEngine({ ...base, recorded: JSON.stringify(docker), deployments: ["shop", "blog"] });
    if (r.ok) throw new Error("expected a refusal");
    expect(r.error.code).toBe("agent.engine_changed");
    expect(r.error.message).toBe(
      "the data directory /var/lib/fizz holds 2 deployments (shop, blog) that run on docker (unix:///var/run/docker.sock), but this agent was started on podman (unix:///run/podman/podman.sock); it would recreate them there, so it did not start",
    );
    expect(r.error.hint).toContain("fizz agent --engine unix:///var/run/docker.sock");
    expect(r.error.hint).toContain("--data-dir /var/lib/fizz-podman");
    expect(r.error.hint).toContain("--adopt-engine");
    const many = checkRecordedEngine({ ...base, recorded: JSON.stringify(docker), deployments: ["a", "b", "c", "d", "e", "f", "g"] });
    expect(many.ok ? "" : many.error.message).toContain("(a, b, c, d, e and 2 more)");
  });

  test("--adopt-engine moves them on purpose", () => {
    expect(checkRecordedEngine({ ...base, recorded: JSON.stringify(docker), adopt: true })).toEqual({ ok: true, record: true, adopted: ["shop"] });
  });

  test("a record that is not an identity reads as none", () => {
    expect(readRecordedEngine(JSON.stringify({ name: "rkt", id: "x", address: "y" }))).toBeUndefined();
    expect(readRecordedEngine(JSON.stringify(docker))).toEqual(docker);
  });
});
