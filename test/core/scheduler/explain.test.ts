import { describe, expect, test } from "bun:test";
import { isFizzError } from "../../../core/errors.ts";
import { describeReason, explain, formatBytes } from "../../../core/scheduler/explain.ts";
import { schedule } from "../../../core/scheduler/schedule.ts";
import { GiB, node, nodes, service } from "./fixtures.ts";

describe("explain (fizz why)", () => {
  const ns = [
    ...nodes(4, () => ({ resources: { cpus: 2, memoryBytes: 4 * GiB } })),
    node("x-dead", { state: "dead" }),
    node("y-mgr", { role: "manager" }),
  ];
  const existing = [{ deploymentId: "stack", service: "web", index: 0, nodeId: "node-0003", healthy: true, specHash: "a" }];
  const web = service("web", { replicas: 6, constraints: ["node.role==worker"], reservations: { cpus: 1, memoryBytes: GiB } });

  test("renders a row per replica, how it was placed and the excluded nodes with named reasons", () => {
    const p = schedule({ nodes: ns, existing }, [web]);
    const text = explain(p, "web", { hostnames: new Map([["node-0000", "alpha"]]) });
    const lines = text.split("\n");
    expect(lines[0]).toBe("web (deployment stack, replicated): 6 replicas, 6 placed, 0 pending");
    expect(lines[1]).toBe("  4 of 6 nodes eligible; at most 2 per node");
    expect(text).toMatch(/web\.1 +node-0003 +kept +already running/);
    // every placed replica names its node and its rank; passed-over nodes carry their reason
    for (const a of p.assignments) expect(text).toContain(`web.${a.index + 1}`);
    for (const r of p.explanations[0]!.replicas) {
      if (r.outcome.kind === "placed") {
        expect(text).toContain(`hashed, rank ${r.outcome.rank}`);
        for (const po of r.outcome.passedOver) expect(text).toContain(`${po.nodeId} ${po.reason.kind}`);
      }
    }
    expect(text).toContain("(alpha)");
    expect(text).toContain('ConstraintMismatch: "node.role==worker" is not met: 1 node (y-mgr)');
    expect(text).toContain("NodeDown: node is dead: 1 node (x-dead)");
  });

  test("pending replicas list why every node refused, grouped", () => {
    const p = schedule({ nodes: ns, existing: [] }, [{ ...web, replicas: 10 }]);
    const text = explain(p, "web");
    expect(p.pending.length).toBe(2); // 4 nodes × 2 CPU / 1 CPU each = 8
    expect(text).toContain("10 replicas, 8 placed, 2 pending");
    expect(text).toContain("Pending (web.9, web.10):");
    expect(text).toMatch(/InsufficientCpu: needs 1 CPU, 0 free: 4 nodes \(node-0000, node-0001, node-0002, node-0003\)/);
  });

  test("large clusters are summarised per reason", () => {
    const many = nodes(40, (i) => ({ labels: { zone: i === 7 ? "a" : "b" } }));
    const p = schedule({ nodes: many, existing: [] }, [service("db", { replicas: 1, constraints: ["node.labels.zone==a"] })]);
    const text = explain(p, "db", { maxNodesPerReason: 3 });
    expect(text).toContain('ConstraintMismatch: "node.labels.zone==a" is not met: 39 nodes (node-0000, node-0001, node-0002, +36 more)');
  });

  test("an empty cluster says so", () => {
    const p = schedule({ nodes: [], existing: [] }, [service("web", { replicas: 1 })]);
    expect(explain(p, "web")).toContain("no nodes in the cluster");
  });

  test("global services and unknown names", () => {
    const p = schedule({ nodes: nodes(2), existing: [] }, [service("agent", { mode: "global" })]);
    expect(explain(p, "agent")).toContain("one per eligible node");
    try {
      explain(p, "agnt");
      throw new Error("expected a FizzError");
    } catch (e) {
      expect(isFizzError(e)).toBe(true);
      if (isFizzError(e)) {
        expect(e.code).toBe("scheduler.unknown_service");
        expect(e.hint).toBe('did you mean "agent"?');
      }
    }
  });

  test("every reason has a readable sentence", () => {
    expect(formatBytes(3 * GiB)).toBe("3 GiB");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(describeReason({ kind: "InsufficientMemory", need: 2 * GiB, free: 512 * 1024 ** 2 })).toBe(
      "InsufficientMemory: needs 2 GiB, 512 MiB free",
    );
    expect(describeReason({ kind: "SpreadLimit", label: "node.labels.zone", value: "", limit: 2 })).toContain("(unset)");
    expect(describeReason({ kind: "MaxPerNode", max: 1 })).toContain("max 1 per node");
    expect(describeReason({ kind: "LoadBound", cap: 3 })).toContain("3 replicas");
    expect(describeReason({ kind: "NotPreferred", prefer: ["tier==fast"] })).toBe("NotPreferred: does not match x-fizz prefer (tier==fast)");
  });
});
