/**
 * Datagrams the cluster transport refuses are logged, rate-limited per peer
 * and reason (platform/cluster/drop-log.ts): a node that cannot open a peer's
 * packets says so instead of silently missing its gossip.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { DropLog } from "../../../platform/cluster/drop-log.ts";
import type { ClusterLogger, ClusterNode } from "../../../platform/cluster/index.ts";
import { startNode, until } from "./support.ts";

describe("DropLog", () => {
  test("the first drop from a peer for a reason at once, then one line per period with the count since", () => {
    let now = 0;
    const lines: Record<string, unknown>[] = [];
    const log = new DropLog(() => now, (obj) => lines.push(obj), 30_000);
    log.note("auth-failed", "10.0.0.2:7946");
    for (let i = 0; i < 5; i++) log.note("auth-failed", "10.0.0.2:7946");
    log.note("unknown-key", "10.0.0.2:7946");
    log.note("auth-failed", "10.0.0.3:7946");
    expect(lines).toEqual([
      { from: "10.0.0.2:7946", reason: "auth-failed", dropped: 1 },
      { from: "10.0.0.2:7946", reason: "unknown-key", dropped: 1 },
      { from: "10.0.0.3:7946", reason: "auth-failed", dropped: 1 },
    ]);
    now = 30_000;
    log.note("auth-failed", "10.0.0.2:7946");
    expect(lines.at(-1)).toEqual({ from: "10.0.0.2:7946", reason: "auth-failed", dropped: 6 });
  });

  test("remembers a bounded number of peers", () => {
    const lines: unknown[] = [];
    const log = new DropLog(() => 0, (obj) => lines.push(obj), 30_000, 4);
    for (let i = 0; i < 100; i++) log.note("malformed", `10.0.1.${i}:1`);
    expect(lines).toHaveLength(100);
    log.note("malformed", "10.0.1.0:1"); // forgotten (evicted), so logged again
    expect(lines).toHaveLength(101);
    log.note("malformed", "10.0.1.99:1"); // still remembered
    expect(lines).toHaveLength(101);
  });
});

describe("a cluster node logs the packets it cannot open", () => {
  const nodes: ClusterNode[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.stop();
  });

  test("garbage to its UDP port is one warning naming the sender, not one per packet", async () => {
    const warns: { obj: Record<string, unknown>; msg: string }[] = [];
    const noop = () => {};
    const n = await startNode("dl1", { host: "127.0.0.1", logger: { debug: noop, info: noop, warn: (obj: Record<string, unknown>, msg: string) => void warns.push({ obj, msg }) } as unknown as ClusterLogger });
    nodes.push(n);
    const [host, port] = [n.address.slice(0, n.address.lastIndexOf(":")), Number(n.address.slice(n.address.lastIndexOf(":") + 1))];
    const s = createSocket("udp4");
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
    try {
      for (let i = 0; i < 5; i++) s.send(new Uint8Array(64).fill(7), port, host);
      await until(() => warns.some((w) => w.msg.startsWith("dropped")), 3000, "a drop warning");
      await new Promise((r) => setTimeout(r, 200));
      const drops = warns.filter((w) => w.msg.startsWith("dropped"));
      expect(drops).toHaveLength(1);
      expect(drops[0]!.obj.from).toBe(`127.0.0.1:${s.address().port}`);
      expect(typeof drops[0]!.obj.reason).toBe("string");
    } finally {
      s.close();
    }
  });
});
