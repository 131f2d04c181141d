/**
 * The cluster resolver over real UDP and TCP on loopback, asked by `dig`
 * (a real resolver client), with a real dnsmasq as the upstream. Askers are
 * told apart by source address (dig -b 127.0.1.x): a "container" of project
 * p sees p's names and never q's; the host sees only qualified names. Runs
 * on all three UDP implementations: the native socket whose thread answers
 * repeated questions itself (a C part compiled by bun:ffi; the default on
 * Bun on Linux), Bun's socket with batched replies (FIZZ_DNS_SOCKETS=bun),
 * and node:dgram (=node, what Deno uses).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { readdirSync } from "node:fs";
import { createSocket } from "node:dgram";
import * as dnsPacket from "dns-packet";
import fc from "fast-check";
import { parseIp } from "../../../core/net/cidr.ts";
import { answerQuery } from "../../../core/net/dns-answer.ts";
import { buildDnsTable, type DnsEndpoint } from "../../../core/net/dns-records.ts";
import { DnsServer, TABLE_CHECK_MS, newDnsQueryCounts, udpImplementation } from "../../../platform/dns/index.ts";

const ip = (s: string) => parseIp(s)!;
const run = promisify(execFile);
const have = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0;
const needed = have("dig") && have("dnsmasq");
if (!needed && process.env.CI === "true") throw new Error("dig and dnsmasq are required (apt-get install dnsutils dnsmasq; test/setup-engines.sh installs them)");

function ep(project: string, service: string, n: number, address: string, ready = true, aliases: string[] = []): DnsEndpoint {
  return { project, service, containerName: `${project}-${service}-${n}`, ready, port: 8080, networks: [{ network: "default", address: ip(address), aliases }] };
}

const endpoints: DnsEndpoint[] = [
  ep("p", "web", 1, "127.0.1.5"),
  ep("p", "api", 1, "127.0.1.10", true, ["backend"]),
  ep("p", "api", 2, "127.0.1.11"),
  ep("p", "api", 3, "127.0.1.12"),
  ep("p", "api", 4, "127.0.1.13", false),
  ep("q", "secret", 1, "127.0.2.5"),
  ...Array.from({ length: 40 }, (_, i) => ep("p", "big", i + 1, `127.0.3.${i + 1}`)),
];
let table = buildDnsTable(endpoints);

let server: DnsServer;
/** One count for both runs' servers, as the agent's dns controller shares one between its listeners. */
const shared = newDnsQueryCounts();
let upstream: ChildProcess | undefined;
let port = 0;
const UPSTREAM_PORT = 15353;

/** dig runs as a child process while this process serves it: never spawnSync here. */
async function dig(args: string[], p = port): Promise<string> {
  const r = await run("dig", ["@127.0.0.1", "-p", String(p), "+time=3", "+tries=1", ...args], { encoding: "utf8", timeout: 10_000 });
  return r.stdout;
}
const answers = (out: string, type = "A") =>
  out
    .split("\n")
    .filter((l) => !l.startsWith(";") && l.includes(`\t${type}\t`))
    .map((l) => l.split(/\s+/).pop()!);

beforeAll(() => {
  if (needed) upstream = spawn("dnsmasq", ["--no-daemon", "--no-resolv", "--no-hosts", `--port=${UPSTREAM_PORT}`, "--listen-address=127.0.0.1", "--bind-interfaces", "--address=/outside.test/127.9.9.9", "--address=/gone.test/"], { stdio: "ignore" });
});
afterAll(() => {
  upstream?.kill("SIGKILL");
});

for (const impl of ["native", "bun", "node"] as const) {
  describe.skipIf(!needed)(`cluster resolver (UDP + TCP, dig, dnsmasq upstream; ${impl} UDP sockets)`, () => {
    beforeAll(async () => {
      process.env.FIZZ_DNS_SOCKETS = impl;
      expect(udpImplementation()).toBe(impl);
      server = await DnsServer.start({
        listen: [{ host: "127.0.0.1", port: 0 }],
        decide: (q, ctx) => answerQuery(table, q, ctx),
        tableVersion: () => table,
        upstreams: () => [{ host: "127.0.0.1", port: UPSTREAM_PORT }],
        forwardTimeoutMs: 1000,
        counts: shared,
      });
      expect(server.byTransport).toBe(shared);
      expect(server.udpImplementations()).toEqual([impl]);
      port = server.addresses()[0]!.port;
      for (let i = 0; i < 50 && !(await dig(["outside.test"])).includes("127.9.9.9"); i++) await Bun.sleep(100);
    });
    afterAll(async () => {
      await server?.close();
      delete process.env.FIZZ_DNS_SOCKETS;
    });

    test("a container gets its project's ready replicas, TTL <= 5, in rotating order", async () => {
      const a = await dig(["-b", "127.0.1.5", "api"]);
      expect(answers(a).sort()).toEqual(["127.0.1.10", "127.0.1.11", "127.0.1.12"]);
      expect(a).toMatch(/\t5\tIN\tA\t/);
      const firsts = new Set(await Promise.all(Array.from({ length: 6 }, async () => answers(await dig(["-b", "127.0.1.5", "api"]))[0])));
      expect(firsts.size).toBeGreaterThan(1);
      expect(answers(await dig(["-b", "127.0.1.5", "api.p"])).length).toBe(3);
      expect(answers(await dig(["-b", "127.0.1.5", "backend"]))).toEqual(["127.0.1.10"]);
      expect(answers(await dig(["-b", "127.0.1.5", "p-api-2"]))).toEqual(["127.0.1.11"]);
    });

    test("another project's names are not answered to this project's containers", async () => {
      const out = await dig(["-b", "127.0.1.5", "secret"]);
      expect(answers(out)).toEqual([]);
      expect(answers(await dig(["-b", "127.0.1.5", "secret.q"]))).toEqual([]);
      expect(answers(await dig(["-b", "127.0.2.5", "secret"]))).toEqual(["127.0.2.5"]);
    });

    test("an unhealthy replica leaves the answers as soon as the table says so (native sockets: within TABLE_CHECK_MS)", async () => {
      expect(answers(await dig(["-b", "127.0.1.5", "api"])).length).toBe(3);
      table = buildDnsTable(endpoints.map((e) => (e.containerName === "p-api-2" ? { ...e, ready: false } : e)));
      // The check is a timer due before this sleep's: it has run when the sleep ends.
      if (impl === "native") await Bun.sleep(2 * TABLE_CHECK_MS);
      try {
        expect(answers(await dig(["-b", "127.0.1.5", "api"])).sort()).toEqual(["127.0.1.10", "127.0.1.12"]);
      } finally {
        table = buildDnsTable(endpoints);
      }
    });

    test("an answer too big for UDP sets TC; TCP carries it whole", async () => {
      const udp = await dig(["-b", "127.0.1.5", "+ignore", "+noedns", "big"]);
      expect(udp).toMatch(/flags:[^;]*\btc\b/);
      expect(answers(udp)).toEqual([]);
      const tcp = await dig(["-b", "127.0.1.5", "+tcp", "big"]);
      expect(answers(tcp).length).toBe(40);
    });

    test("SRV and PTR", async () => {
      const srv = await dig(["-b", "127.0.1.5", "api", "SRV"]);
      expect(srv).toMatch(/SRV\t0 10 8080 p-api-1\./);
      const ptr = await dig(["-b", "127.0.1.5", "-x", "127.0.1.11"]);
      expect(answers(ptr, "PTR")).toEqual(["p-api-2."]);
    });

    test("the host sees only qualified names; everything else goes upstream", async () => {
      expect(answers(await dig(["api.p"])).length).toBe(3);
      expect(answers(await dig(["api"]))).toEqual([]);
      expect(answers(await dig(["outside.test"]))).toEqual(["127.9.9.9"]);
      expect(answers(await dig(["+tcp", "outside.test"]))).toEqual(["127.9.9.9"]);
      expect(server.counters.forwarded).toBeGreaterThan(0);
      expect(shared.udp.forwarded).toBeGreaterThan(0);
      expect(shared.tcp.forwarded).toBeGreaterThan(0);
    });

    test("a name that exists nowhere gets the upstream's NXDOMAIN, over UDP and TCP, to a container and to the host", async () => {
      for (const args of [["-b", "127.0.1.5"], [], ["+tcp"], ["-b", "127.0.1.5", "+tcp"]]) {
        const out = await dig([...args, "nothing.gone.test"]);
        expect(out).toContain("status: NXDOMAIN");
        expect(answers(out)).toEqual([]);
      }
    });

    test("IPv6 upstreams (as resolv.conf may list them) are asked over IPv6, next to IPv4 ones; over TCP each in turn", async () => {
      // A one-answer upstream on ::1: it echoes the query back as a response.
      const v6 = createSocket("udp6");
      await new Promise<void>((r) => v6.bind(0, "::1", () => r()));
      v6.on("message", (m, rinfo) => {
        const reply = Buffer.from(m);
        reply[2] = 0x81;
        reply[3] = 0x83; // NXDOMAIN: only this upstream says so
        v6.send(reply, rinfo.port, rinfo.address);
      });
      const only6 = await DnsServer.start({ listen: [{ host: "127.0.0.1", port: 0 }], decide: (q, ctx) => answerQuery(table, q, ctx), upstreams: () => [{ host: "::1", port: v6.address().port }], forwardTimeoutMs: 1000 });
      const both = await DnsServer.start({ listen: [{ host: "127.0.0.1", port: 0 }], decide: (q, ctx) => answerQuery(table, q, ctx), upstreams: () => [{ host: "::1", port: 9 }, { host: "127.0.0.1", port: UPSTREAM_PORT }], forwardTimeoutMs: 1000 });
      try {
        expect(await dig(["elsewhere.test"], only6.addresses()[0]!.port)).toContain("status: NXDOMAIN");
        expect(answers(await dig(["outside.test"], both.addresses()[0]!.port))).toEqual(["127.9.9.9"]);
        // Over TCP in turn: nothing listens on [::1]:9 (refused), dnsmasq answers next.
        expect(answers(await dig(["+tcp", "outside.test"], both.addresses()[0]!.port))).toEqual(["127.9.9.9"]);
      } finally {
        await only6.close();
        await both.close();
        v6.close();
      }
    });

    test("an upstream that never answers costs a bounded wait and a SERVFAIL", async () => {
      const black = createSocket("udp4");
      await new Promise<void>((r) => black.bind(0, "127.0.0.1", () => r()));
      const s2 = await DnsServer.start({ listen: [{ host: "127.0.0.1", port: 0 }], decide: (q, ctx) => answerQuery(table, q, ctx), upstreams: () => [{ host: "127.0.0.1", port: black.address().port }], forwardTimeoutMs: 300 });
      try {
        const t0 = Date.now();
        const out = await dig(["nowhere.test"], s2.addresses()[0]!.port);
        expect(out).toContain("SERVFAIL");
        expect(Date.now() - t0).toBeLessThan(4000);
      } finally {
        await s2.close();
        black.close();
      }
    });

    test("a flood of queries for a silent upstream: at most 256 wait for it, the rest get SERVFAIL at once; cluster names still answered", async () => {
      const black = createSocket("udp4");
      await new Promise<void>((r) => black.bind(0, "127.0.0.1", () => r()));
      const s2 = await DnsServer.start({ listen: [{ host: "127.0.0.1", port: 0 }], decide: (q, ctx) => answerQuery(table, q, ctx), upstreams: () => [{ host: "127.0.0.1", port: black.address().port }], forwardTimeoutMs: 3000 });
      const p2 = s2.addresses()[0]!.port;
      const client = createSocket("udp4");
      const fds = () => readdirSync("/proc/self/fd").length;
      const fdsBefore = fds();
      try {
        const servfails = new Set<number>();
        client.on("message", (m) => {
          if ((m[3]! & 0x0f) === 2) servfails.add(m.readUInt16BE(0));
        });
        await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
        const N = 400;
        // In steps of 50, so the server's receive buffer holds each step.
        for (let id = 0; id < N; id++) {
          client.send(dnsPacket.encode({ type: "query", id, questions: [{ type: "A", name: `n${id}.silent.test` }] } as dnsPacket.Packet), p2, "127.0.0.1");
          if (id % 50 === 49) await Bun.sleep(20);
        }
        for (let i = 0; i < 40 && servfails.size < N - 256; i++) await Bun.sleep(25);
        // Long before the 3 s deadline: the ones past the bound were refused at once.
        expect(servfails.size).toBe(N - 256);
        expect(fds() - fdsBefore).toBeLessThanOrEqual(256 + 16);
        expect(answers(await dig(["api.p"], p2)).length).toBe(3);
        expect(s2.byTransport.udp.forwardFailed).toBe(N - 256);
      } finally {
        client.close();
        await s2.close();
        black.close();
      }
    });

    test("TCP: past 256 open connections a new one is closed at once; UDP and the open connections still answer", async () => {
      const { connect } = await import("node:net");
      const open = async () =>
        await new Promise<import("node:net").Socket>((ok, fail) => {
          const c = connect(port, "127.0.0.1", () => ok(c));
          c.on("error", fail);
        });
      const conns: import("node:net").Socket[] = [];
      try {
        for (let i = 0; i < 256; i++) conns.push(await open());
        const extra = await open();
        conns.push(extra);
        const closed = await Promise.race([new Promise<boolean>((r) => extra.on("close", () => r(true))), Bun.sleep(2000).then(() => false)]);
        expect(closed).toBe(true);
        expect(answers(await dig(["api.p"])).length).toBe(3);
        const first = conns[0]!;
        const q = dnsPacket.streamEncode({ type: "query", id: 9, questions: [{ type: "A", name: "api.p" }] } as dnsPacket.Packet);
        const reply = new Promise<Buffer>((r) => first.once("data", (d: Buffer) => r(d)));
        first.write(q);
        const got = dnsPacket.streamDecode(await reply);
        expect(got.id).toBe(9);
        expect(got.answers?.length).toBe(3);
      } finally {
        for (const c of conns) c.destroy();
      }
      for (let i = 0; i < 40 && answers(await dig(["+tcp", "api.p"])).length !== 3; i++) await Bun.sleep(50);
      expect(answers(await dig(["+tcp", "api.p"])).length).toBe(3);
    });

    test("a burst from many askers gets every reply, each to its asker with its id (replies leave in batches on Bun)", async () => {
      const N = 200;
      const clients = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const c = createSocket("udp4");
          await new Promise<void>((r) => c.bind(0, "127.0.0.1", () => r()));
          return c;
        }),
      );
      const got = new Map<number, Uint8Array>();
      let misdelivered = 0;
      try {
        const done = new Promise<void>((resolve) => {
          clients.forEach((c, i) =>
            c.on("message", (m) => {
              if (m.readUInt16BE(0) % clients.length !== i) misdelivered++;
              got.set(m.readUInt16BE(0), new Uint8Array(m));
              if (got.size === N) resolve();
            }),
          );
        });
        const before = server.byTransport.udp.answered;
        // All sent before any reply is read: the server sees them as one backlog.
        for (let id = 0; id < N; id++) {
          const q = dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: "api.p" }] } as dnsPacket.Packet);
          clients[id % clients.length]!.send(q, port, "127.0.0.1");
        }
        await Promise.race([done, Bun.sleep(5000)]);
        expect(got.size).toBe(N);
        expect(misdelivered).toBe(0);
        const firsts = new Set<string>();
        for (const [id, bytes] of got) {
          const p = dnsPacket.decode(Buffer.from(bytes));
          expect(p.id).toBe(id);
          const addrs = (p.answers ?? []).map((a) => (a as { data: string }).data);
          expect([...addrs].sort()).toEqual(["127.0.1.10", "127.0.1.11", "127.0.1.12"]);
          firsts.add(addrs[0]!);
        }
        expect(firsts.size).toBe(3);
        // Answers the native socket's thread gave are counted every TABLE_CHECK_MS.
        for (let i = 0; i < 40 && server.byTransport.udp.answered - before < N; i++) await Bun.sleep(TABLE_CHECK_MS);
        expect(server.byTransport.udp.answered - before).toBe(N);
        expect(server.udpSendDrops).toBe(0);
      } finally {
        for (const c of clients) c.close();
      }
    });

    test("an empty datagram, a bare header and 3,000 bytes of junk are dropped; the server keeps answering", async () => {
      const s = createSocket("udp4");
      const before = server.counters.dropped;
      s.send(Buffer.alloc(0), port, "127.0.0.1");
      s.send(Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), port, "127.0.0.1");
      s.send(Buffer.alloc(3000, 0xff), port, "127.0.0.1");
      await Bun.sleep(50);
      s.close();
      expect(answers(await dig(["api.p"])).length).toBe(3);
      expect(server.counters.dropped).toBeGreaterThanOrEqual(before + 2);
    });

    test("without tableVersion every query reaches decide", async () => {
      let calls = 0;
      const s2 = await DnsServer.start({
        listen: [{ host: "127.0.0.1", port: 0 }],
        decide: (q, ctx) => {
          calls++;
          return answerQuery(table, q, ctx);
        },
        upstreams: () => [],
      });
      try {
        for (let i = 0; i < 3; i++) expect(answers(await dig(["api.p"], s2.addresses()[0]!.port)).length).toBe(3);
        expect(calls).toBe(3);
      } finally {
        await s2.close();
      }
    });

    test("garbage on UDP and TCP is dropped, the server keeps answering", async () => {
      const s = createSocket("udp4");
      s.send(Buffer.from("not dns at all"), port, "127.0.0.1");
      await Bun.sleep(50);
      s.close();
      expect(answers(await dig(["api.p"])).length).toBe(3);
      expect(server.counters.dropped).toBeGreaterThan(0);
    });
  });
}

// The native socket's own behaviour (the default on Bun on Linux; the shared tests above run on it too).
describe.skipIf(!needed)("native UDP socket: answers from its thread", () => {
  beforeAll(() => {
    delete process.env.FIZZ_DNS_SOCKETS;
    expect(udpImplementation()).toBe("native");
  });

  test("the socket's thread answers a repeated question itself (any case, per asker), counts it, and forgets when the table changes", async () => {
    let t2 = table;
    let calls = 0;
    const s2 = await DnsServer.start({
      listen: [{ host: "127.0.0.1", port: 0 }],
      decide: (q, ctx) => {
        calls++;
        return answerQuery(t2, q, ctx);
      },
      tableVersion: () => t2,
      upstreams: () => [],
    });
    const p2 = s2.addresses()[0]!.port;
    try {
      expect(answers(await dig(["api.p"], p2)).length).toBe(3);
      expect(calls).toBe(1);
      const firsts = new Set<string>();
      for (let i = 0; i < 4; i++) firsts.add(answers(await dig(["api.p"], p2))[0]!);
      const upper = await dig(["API.p"], p2);
      expect(upper).toContain(";API.p.");
      expect(answers(upper).length).toBe(3);
      expect(calls).toBe(1);
      expect(firsts.size).toBeGreaterThan(1);
      // Another asker is asked about once: answers are scoped to askers.
      expect(answers(await dig(["-b", "127.0.1.5", "api"], p2)).length).toBe(3);
      expect(answers(await dig(["-b", "127.0.2.5", "api"], p2))).toEqual([]);
      expect(calls).toBe(3);
      for (let i = 0; i < 40 && s2.counters.answered < 7; i++) await Bun.sleep(TABLE_CHECK_MS);
      expect(s2.counters.answered).toBe(7);
      // An EDNS size too small for the answer: not the thread's to give (TC comes from JavaScript).
      expect(await dig(["+bufsize=512", "+ignore", "big.p"], p2)).toMatch(/flags:[^;]*\btc\b/);
      t2 = buildDnsTable(endpoints.filter((e) => e.containerName !== "p-api-3"));
      await Bun.sleep(2 * TABLE_CHECK_MS);
      expect(answers(await dig(["api.p"], p2)).sort()).toEqual(["127.0.1.10", "127.0.1.11"]);
      expect(calls).toBe(5);
    } finally {
      await s2.close();
    }
  });


  test("property: the thread's answer is JavaScript's answer (header, question as asked, the same records), for random names, case, ids, flags and EDNS sizes", async () => {
    let calls = 0;
    let asked = 0;
    const decide = (q: Uint8Array, ctx: Parameters<typeof answerQuery>[2]) => {
      calls++;
      return answerQuery(table, q, ctx);
    };
    const s2 = await DnsServer.start({ listen: [{ host: "127.0.0.1", port: 0 }], decide, tableVersion: () => table, upstreams: () => [] });
    const p2 = s2.addresses()[0]!.port;
    const client = createSocket("udp4");
    await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
    const ask = (q: Uint8Array) =>
      new Promise<Buffer | undefined>((resolve) => {
        const t = setTimeout(() => done(undefined), 2000);
        const done = (m: Buffer | undefined) => {
          clearTimeout(t);
          client.off("message", done);
          resolve(m);
        };
        client.on("message", done);
        asked++;
        client.send(q, p2, "127.0.0.1");
      });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("api.p", "API.P", "Api.p", "web.p", "big.p", "secret.q", "p-api-2.p", "nothing.p"),
          fc.option(fc.integer({ min: 0, max: 8192 }), { nil: undefined }),
          fc.nat(65535),
          fc.boolean(),
          async (name, edns, id, rd) => {
            const q = new Uint8Array(dnsPacket.encode({ type: "query", id, flags: rd ? dnsPacket.RECURSION_DESIRED : 0, questions: [{ type: "A", name }], ...(edns !== undefined ? { additionals: [{ type: "OPT", name: ".", udpPayloadSize: edns }] } : {}) } as dnsPacket.Packet));
            const js = answerQuery(table, q, { askerIp: ip("127.0.0.1"), transport: "udp", rotation: 0 });
            // Twice: the first may be JavaScript's own, the second is the thread's when it remembers.
            for (let k = 0; k < 2; k++) {
              const got = await ask(q);
              if (js.kind !== "answer") return void expect(got === undefined || (got[3]! & 0x0f) !== 0 || got.readUInt16BE(6) === 0).toBe(true);
              expect(got).toBeDefined();
              const a = new Uint8Array(got!);
              const b = js.bytes;
              expect(a.length).toBe(b.length);
              const end = b.length - 16 * js.answers;
              expect(Array.from(a.subarray(0, end))).toEqual(Array.from(b.subarray(0, end)));
              const recs = (x: Uint8Array) => Array.from({ length: js.answers }, (_, r) => Array.from(x.subarray(end + 16 * r, end + 16 * r + 16)).join(",")).sort();
              expect(recs(a)).toEqual(recs(b));
            }
          },
        ),
        { numRuns: 150 },
      );
      // Most of them were the thread's to answer.
      expect(calls).toBeLessThan(asked / 2);
    } finally {
      client.close();
      await s2.close();
    }
  });

  test("a burst before the first answer is remembered (more than the ring holds) gets every reply: the thread waits for JavaScript, nothing is dropped", async () => {
    const s2 = await DnsServer.start({ listen: [{ host: "127.0.0.1", port: 0 }], decide: (q, ctx) => answerQuery(table, q, ctx), tableVersion: () => table, upstreams: () => [] });
    const p2 = s2.addresses()[0]!.port;
    const client = createSocket("udp4");
    await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
    const N = 400;
    const got = new Set<number>();
    try {
      const done = new Promise<void>((resolve) =>
        client.on("message", (m) => {
          if (m.readUInt16BE(6) === 3) got.add(m.readUInt16BE(0));
          if (got.size === N) resolve();
        }),
      );
      // Sent in steps of 100, so the socket's receive buffer holds each step.
      for (let id = 0; id < N; id++) {
        client.send(dnsPacket.encode({ type: "query", id, questions: [{ type: "A", name: id % 2 ? "api.p" : "API.p" }] } as dnsPacket.Packet), p2, "127.0.0.1");
        if (id % 100 === 99) await Bun.sleep(10);
      }
      await Promise.race([done, Bun.sleep(5000)]);
      expect(got.size).toBe(N);
      expect(s2.udpSendDrops).toBe(0);
    } finally {
      client.close();
      await s2.close();
    }
  });

  test("closing a native socket stops its thread and frees the port", async () => {
    // The runtime starts and stops threads of its own too: look for one that came with the socket and left with it.
    const threads = () => new Set(readdirSync("/proc/self/task"));
    const before = threads();
    const s = await DnsServer.start({ listen: [{ host: "127.0.0.1", port: 0 }], decide: (q, ctx) => answerQuery(table, q, ctx), tableVersion: () => table, upstreams: () => [] });
    const p = s.addresses()[0]!.port;
    expect(answers(await dig(["api.p"], p)).length).toBe(3);
    expect(answers(await dig(["api.p"], p)).length).toBe(3);
    const came = [...threads()].filter((t) => !before.has(t));
    expect(came.length).toBeGreaterThan(0);
    await s.close();
    const after = threads();
    expect(came.filter((t) => !after.has(t)).length).toBeGreaterThan(0);
    const again = await DnsServer.start({ listen: [{ host: "127.0.0.1", port: p }], decide: (q, ctx) => answerQuery(table, q, ctx), tableVersion: () => table, upstreams: () => [] });
    try {
      expect(answers(await dig(["api.p"], p)).length).toBe(3);
      await expect(DnsServer.start({ listen: [{ host: "127.0.0.1", port: p }], decide: (q, ctx) => answerQuery(table, q, ctx), upstreams: () => [] })).rejects.toThrow(/EADDRINUSE|in use/);
    } finally {
      await again.close();
    }
  });
});
