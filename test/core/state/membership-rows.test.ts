import { describe, expect, test } from "bun:test";
import { HlcClock } from "../../../core/crdt/index.ts";
import { emptyState, putNode, type ClusterState } from "../../../core/state/index.ts";
import type { MemberEvent, MemberEventType } from "../../../core/swim/index.ts";
import { fromSwimMeta, nodeInfo, selfRowStale, toSwimMeta, writeForEvent } from "../../../core/state/membership-rows.ts";

const meta = { name: "box-1", labels: { zone: "eu", gpu: "yes" }, resources: { cpuMillis: 4000, memoryBytes: 8 * 2 ** 30 }, ports: { api: 8080 } };
const clock = new HlcClock("self");
let wall = 1_700_000_000_000;

function ev(type: MemberEventType, id: string, local = false): MemberEvent {
  return { type, local, member: { id, addr: `127.0.0.9:${id.length}`, meta: toSwimMeta({ ...meta, name: id }), state: type === "dead" ? "dead" : type === "left" ? "left" : "alive", incarnation: 1 } };
}

function withRow(id: string, state: "alive" | "dead" | "left"): ClusterState {
  return putNode(emptyState(), clock.now(wall++), id, nodeInfo(`127.0.0.9:${id.length}`, { ...meta, name: id }, state)).state;
}

describe("membership → nodes rows", () => {
  test("SWIM meta carries name, labels, resources and ports both ways", () => {
    const back = fromSwimMeta("n1", toSwimMeta(meta));
    expect(back).toEqual({ name: "box-1", labels: { zone: "eu", gpu: "yes" }, resources: { cpuMillis: 4000, memoryBytes: 8 * 2 ** 30 }, ports: { api: 8080 } });
    expect(fromSwimMeta("n1", toSwimMeta({ name: "x" })).resources).toEqual({ cpuMillis: 0, memoryBytes: 0 });
  });

  test("dead is written only by the node whose own timer declared it", () => {
    const s = withRow("peer", "alive");
    expect(writeForEvent(s, "self", ev("dead", "peer", false), ["self"])).toBeUndefined();
    const w = writeForEvent(s, "self", ev("dead", "peer", true), ["self"]);
    expect(w?.nodeId).toBe("peer");
    expect(w?.info.state).toBe("dead");
    expect(w?.info.name).toBe("peer");
    // already dead: nothing to write
    expect(writeForEvent(withRow("peer", "dead"), "self", ev("dead", "peer", true), ["self"])).toBeUndefined();
    // no row yet: built from the SWIM view
    expect(writeForEvent(emptyState(), "self", ev("dead", "peer", true), ["self"])?.info.address).toBe("127.0.0.9:4");
  });

  test("left is backed up by the smallest live id only", () => {
    const s = withRow("peer", "alive");
    expect(writeForEvent(s, "self", ev("left", "peer"), ["self", "aaa", "peer"])).toBeUndefined();
    expect(writeForEvent(s, "aaa", ev("left", "peer"), ["self", "aaa", "peer"])?.info.state).toBe("left");
    expect(writeForEvent(withRow("peer", "left"), "aaa", ev("left", "peer"), ["aaa"])).toBeUndefined();
  });

  test("join/alive/update/suspect write nothing (each node writes its own row); events about self neither", () => {
    const s = withRow("peer", "dead");
    for (const t of ["join", "alive", "update", "suspect"] as const) expect(writeForEvent(s, "self", ev(t, "peer"), ["self", "peer"])).toBeUndefined();
    expect(writeForEvent(s, "self", ev("dead", "self", true), ["self"])).toBeUndefined();
  });

  test("own row is stale when missing, marked dead, or different", () => {
    const want = nodeInfo("127.0.0.9:4", { ...meta, name: "self" }, "alive");
    expect(selfRowStale(emptyState(), "self", want)).toBe(true);
    const s = putNode(emptyState(), clock.now(wall++), "self", want).state;
    expect(selfRowStale(s, "self", want)).toBe(false);
    expect(selfRowStale(s, "self", { ...want, state: "dead" })).toBe(true);
    expect(selfRowStale(s, "self", { ...want, labels: { zone: "us" } })).toBe(true);
  });
});
