import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { request } from "node:http";
import fc from "fast-check";
import { AgentStore, type EventRecord } from "../../../platform/store/index.ts";
import { EventFeed, matchesFilter } from "../../../platform/api/events.ts";
import { ApiClient } from "../../../platform/api/client.ts";
import { raw, startTestServer, type TestServer } from "./harness.ts";

/** Parses an SSE body into its events. */
function parseSse(body: string): { id?: string; event?: string; data: unknown }[] {
  return body
    .split("\n\n")
    .filter((block) => block.split("\n").some((l) => l.startsWith("data:")))
    .map((block) => {
      const f: { id?: string; event?: string; data: unknown } = { data: undefined };
      for (const l of block.split("\n")) {
        if (l.startsWith("id: ")) f.id = l.slice(4);
        else if (l.startsWith("event: ")) f.event = l.slice(7);
        else if (l.startsWith("data: ")) f.data = JSON.parse(l.slice(6));
      }
      return f;
    });
}

describe("EventFeed", () => {
  test("replays the backlog in pages, then follows appended events, and stops on abort", async () => {
    const store = AgentStore.open(":memory:");
    const feed = new EventFeed(store, { pageSize: 3, pollMs: 10_000 });
    for (let i = 1; i <= 7; i++) feed.append({ at: i, type: "t", message: `m${i}` });
    const ac = new AbortController();
    const got: number[] = [];
    const done = (async () => {
      for await (const e of feed.subscribe({ after: 2, filter: {}, follow: true, signal: ac.signal })) {
        got.push(e.id);
        if (got.length === 6) ac.abort();
      }
    })();
    await Bun.sleep(10);
    feed.append({ at: 8, type: "t", message: "m8" });
    await done;
    expect(got).toEqual([3, 4, 5, 6, 7, 8]);
    store.close();
  });

  test("filters: property — a subscriber sees exactly the matching events, in id order", () => {
    const ev = fc.record({
      type: fc.constantFrom("container.started", "container.died", "deployment.created", "agent.started"),
      deployment: fc.option(fc.constantFrom("a", "b"), { nil: undefined }),
      service: fc.option(fc.constantFrom("web", "db"), { nil: undefined }),
    });
    const filter = fc.record(
      {
        types: fc.array(fc.constantFrom("container.*", "deployment.created", "agent.started", "container.died"), { maxLength: 2 }),
        deployment: fc.constantFrom("a", "b"),
        service: fc.constantFrom("web", "db"),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.asyncProperty(fc.array(ev, { maxLength: 40 }), filter, fc.nat(10), async (events, f, after) => {
        const store = AgentStore.open(":memory:");
        const feed = new EventFeed(store, { pageSize: 4 });
        const all = events.map((e, i) => feed.append({ at: i, message: "x", ...e }));
        const got: EventRecord[] = [];
        for await (const e of feed.subscribe({ after, filter: f, follow: false, signal: new AbortController().signal })) got.push(e);
        const want = all.filter((e) => e.id > after && matchesFilter(e, f));
        store.close();
        expect(got.map((e) => e.id)).toEqual(want.map((e) => e.id));
      }),
      { numRuns: 100 },
    );
  });
});

describe("GET /v1/events (SSE)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
    t.events.append({ at: 1, type: "deployment.created", deployment: "shop", message: "created" });
    t.events.append({ at: 2, type: "container.started", deployment: "shop", service: "web", container: "c1", message: "started" });
    t.events.append({ at: 3, type: "container.died", deployment: "shop", service: "db", container: "c2", message: "died" });
    t.events.append({ at: 4, type: "container.started", deployment: "blog", service: "web", container: "c3", message: "started" });
  });
  afterAll(() => t.stop());
  const get = (path: string, headers?: Record<string, string>) => raw({ socketPath: t.socket, path, ...(headers ? { headers } : {}) });

  test("sends id, event type and JSON data; ?since= resumes after an id", async () => {
    const r = await get("/v1/events?follow=false");
    expect(r.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    const evs = parseSse(r.body);
    expect(evs.map((e) => e.id)).toEqual(["1", "2", "3", "4"]);
    expect(evs[1]).toMatchObject({ event: "container.started", data: { service: "web", container: "c1" } });
    expect(parseSse((await get("/v1/events?follow=false&since=2")).body).map((e) => e.id)).toEqual(["3", "4"]);
  });

  test("Last-Event-ID wins over ?since= (an EventSource reconnecting)", async () => {
    expect(parseSse((await get("/v1/events?follow=false&since=1", { "last-event-id": "3" })).body).map((e) => e.id)).toEqual(["4"]);
  });

  test("filters by type (with prefix), deployment and service", async () => {
    const ids = async (q: string) => parseSse((await get(`/v1/events?follow=false&${q}`)).body).map((e) => e.id);
    expect(await ids("type=container.*")).toEqual(["2", "3", "4"]);
    expect(await ids("type=container.died,deployment.created")).toEqual(["1", "3"]);
    expect(await ids("type=container.started&type=container.died&deployment=shop")).toEqual(["2", "3"]);
    expect(await ids("service=web")).toEqual(["2", "4"]);
  });

  test("bad filters and resume ids are 400", async () => {
    for (const q of ["since=-1", "since=abc", "type=Bad%20Type", "deployment=UP", "follow=maybe", "colour=red"]) {
      expect([q, (await get(`/v1/events?${q}`)).status]).toEqual([q, 400]);
    }
    expect((await get("/v1/events", { "last-event-id": "x1" })).status).toBe(400);
  });

  test("a following stream delivers new events live and sends heartbeats", async () => {
    const t2 = await startTestServer({ limits: { sseHeartbeatMs: 30 } });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        let buf = "";
        const req = request({ socketPath: t2.socket, path: "/v1/events?type=deployment.*" }, (res) => {
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            buf += c;
            if (buf.includes("data:") && buf.includes(": ping")) {
              req.destroy();
              resolve(buf);
            }
          });
        });
        req.on("error", (e) => (buf ? resolve(buf) : reject(e)));
        req.end();
        setTimeout(() => {
          t2.events.append({ at: 1, type: "container.started", message: "not for this subscriber" });
          t2.events.append({ at: 2, type: "deployment.created", deployment: "x", message: "for it" });
        }, 80);
      });
      const evs = parseSse(body);
      expect(evs.map((e) => e.event)).toEqual(["deployment.created"]);
    } finally {
      await t2.stop();
    }
  });

  test("the client's event iterator yields from ?since= and stops on break", async () => {
    const client = new ApiClient({ address: { kind: "unix", path: t.socket } });
    const ac = new AbortController();
    const seen: number[] = [];
    const it = client.events({ since: 2 }, ac.signal);
    for await (const e of it) {
      seen.push(e.id);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([3, 4]);
    const again: number[] = [];
    for await (const e of client.events({ since: seen[seen.length - 1]!, follow: false })) again.push(e.id);
    expect(again).toEqual([]);
  });
});

test("with a logger, every appended event is one JSON log line with its deployment/service/container", async () => {
  const { createLogger } = await import("../../../platform/log.ts");
  const lines: string[] = [];
  const store = AgentStore.open(":memory:");
  const feed = new EventFeed(store, { logger: createLogger({ format: "json", write: (l) => void lines.push(l) }) });
  feed.append({ at: 1, type: "container.died", deployment: "shop", service: "web", container: "abc", message: "web-1 exited with 137" });
  feed.append({ at: 2, type: "agent.started", message: "started" });
  store.close();
  const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(recs).toEqual([
    expect.objectContaining({ level: 30, event: "container.died", eventId: 1, deployment: "shop", service: "web", container: "abc", msg: "web-1 exited with 137" }),
    expect.objectContaining({ event: "agent.started", eventId: 2, msg: "started" }),
  ]);
  expect("deployment" in recs[1]!).toBe(false);
});

test("backpressure: a client that stops reading stops the server pulling events; resuming delivers all, in order", async () => {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { createApiServer, createRoutes } = await import("../../../platform/api/index.ts");
  const { FakeBackend } = await import("./fake-backend.ts");
  const dir = mkdtempSync(join(tmpdir(), "fizz-bp-"));
  const store = AgentStore.open(join(dir, "state.db"));
  const TOTAL = 20_000;
  const pad = "x".repeat(1000);
  for (let i = 0; i < TOTAL; i++) store.appendEvent({ at: i, type: "t", message: pad });
  let pulled = 0;
  const counting = { appendEvent: store.appendEvent.bind(store), events: (after?: number, limit?: number) => {
    const page = store.events(after, limit);
    pulled += page.length;
    return page;
  } };
  const server = createApiServer({ router: createRoutes({ backend: new FakeBackend(), events: new EventFeed(counting, { pageSize: 200 }) }) });
  const socket = join(dir, "fizz.sock");
  await server.listen({ kind: "unix", path: socket });
  try {
    const ids: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: socket, path: "/v1/events?follow=false" }, (res) => {
        res.pause();
        setTimeout(() => {
          // Paused for 500 ms: the server must have stopped far short of the backlog.
          // (A failed expectation rejects, so it fails now, not as a timeout.)
          try {
            expect(pulled).toBeLessThan(TOTAL / 2);
          } catch (e) {
            res.destroy();
            reject(e);
            return;
          }
          let buf = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            buf += c;
            let i: number;
            while ((i = buf.indexOf("\n\n")) >= 0) {
              const block = buf.slice(0, i);
              buf = buf.slice(i + 2);
              const id = /^id: (\d+)$/m.exec(block);
              if (id) ids.push(Number(id[1]));
            }
          });
          res.on("end", resolve);
          res.resume();
        }, 500);
      });
      req.on("error", reject);
      req.end();
    });
    expect(ids.length).toBe(TOTAL);
    expect(ids.every((id, i) => id === i + 1)).toBe(true);
  } finally {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
