/**
 * The catalog's rules a new user meets (controllers/secrets/catalog.ts), over
 * an in-memory record map: names every route can address, the kind a name
 * encodes, pruned history that is not a lost rotation, revoking a grant that
 * does not exist.
 */
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { Catalog } from "../../../controllers/secrets/catalog.ts";
import type { KeyHolder } from "../../../controllers/secrets/keyring.ts";
import type { SecretsRecords } from "../../../controllers/secrets/state.ts";
import { isFizzError } from "../../../core/errors.ts";
import { jsAead } from "../../../core/secrets/aead-js.ts";
import { MasterKey } from "../../../core/secrets/keys.ts";
import type { SecretsRecord } from "../../../core/state/index.ts";

class Records implements SecretsRecords {
  readonly m = new Map<string, SecretsRecord>();
  get(k: string) {
    return this.m.get(k);
  }
  list(prefix = ""): [string, SecretsRecord][] {
    return [...this.m].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1));
  }
  put(k: string, r: SecretsRecord) {
    this.m.set(k, r);
  }
  delete(k: string) {
    this.m.delete(k);
  }
  putAll(entries: readonly (readonly [string, SecretsRecord | null])[]) {
    for (const [k, r] of entries) r === null ? this.m.delete(k) : this.m.set(k, r);
  }
}

function catalog(usedBy: (path: string) => string[] = () => []) {
  const master = new MasterKey(Uint8Array.from(randomBytes(32)));
  let t = 1_000;
  const events: { type: string; message: string }[] = [];
  const c = new Catalog({
    node: "node-a",
    state: new Records(),
    keys: { need: () => master, key: master } as unknown as KeyHolder,
    aead: jsAead,
    now: () => t++,
    maxBytes: 1 << 20,
    usedBy,
    emit: (type, message) => events.push({ type, message }),
  });
  return { c, events };
}

const bytes = (s: string) => new TextEncoder().encode(s);

async function refusal(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    if (isFizzError(e)) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("secret names", () => {
  for (const name of [".", "..", "p/secret/..", "p/config/.", "../secret/x"]) {
    test(`'${name}' is refused at creation (no route could address it)`, async () => {
      const { c } = catalog();
      const e = await refusal(c.create(name, bytes("x")));
      expect(e.code).toBe("secrets.bad_name");
      expect(e.status).toBe(400);
      expect(e.message).toContain("cannot be a name or a part of one");
      expect(c.list()).toEqual([]);
    });
  }

  test("names with dots inside still work", async () => {
    const { c } = catalog();
    expect((await c.create("a.b", bytes("x"))).name).toBe("a.b");
    expect((await c.create("...", bytes("x"))).name).toBe("...");
  });

  test("<project>/config/<name> is a config; asking for another kind than the name says is refused", async () => {
    const { c } = catalog();
    expect((await c.create("ex-fake/config/y", bytes("x"))).kind).toBe("config");
    expect((await c.create("ex-fake/secret/z", bytes("x"))).kind).toBe("secret");
    expect((await c.create("plain", bytes("x"), { kind: "config" })).kind).toBe("config");
    const e = await refusal(c.create("ex-fake/secret/w", bytes("x"), { kind: "config" }));
    expect(e.code).toBe("secrets.kind_mismatch");
    expect(e.message).toBe("ex-fake/secret/w names a secret, but a config was asked for");
  });
});

describe("rotation history", () => {
  test("quick sequential rotations on one node prune old versions without a rotation_lost event", async () => {
    const { c, events } = catalog();
    await c.create("ex_rl", bytes("v1"));
    for (let i = 2; i <= 8; i++) await c.rotate("ex_rl", bytes(`v${i}`));
    c.settle();
    expect(events.filter((e) => e.type === "secret.rotation_lost")).toEqual([]);
    expect(c.inspect("ex_rl").history.map((h) => h.v)).toEqual([8, 7, 6, 5, 4]);
    expect(new TextDecoder().decode(await c.value("ex_rl"))).toBe("v8");
  });
});

describe("grants", () => {
  test("revoking a grant that does not exist says so (404), and changes nothing", async () => {
    const { c, events } = catalog();
    await c.create("db", bytes("x"));
    c.grant("db", "shop");
    let e: unknown;
    try {
      c.grant("db", "nobody", true);
    } catch (x) {
      e = x;
    }
    expect(isFizzError(e) && e.code).toBe("secrets.no_grant");
    expect(isFizzError(e) && e.status).toBe(404);
    expect((e as Error).message).toBe("secret db is not granted to nobody (granted to shop)");
    expect(events.filter((x) => x.type === "secret.revoked")).toEqual([]);
    expect(c.grant("db", "shop", true).grants).toEqual([]);
  });

  test("revoking a grant a running service reads by is refused, naming it, as secret rm of a secret in use is", async () => {
    // Revoked while exs/app used it, the grant went and the replicas ran on; the next one the agent (re)created
    // failed to start, every 10 s, with 'may not read it' in the event log and nothing in fizz ps.
    const { c, events } = catalog((path) => (path === "api_tok" ? ["exs/app", "web/front"] : []));
    await c.create("api_tok", bytes("tok"), { kind: "secret", project: "other" });
    c.grant("api_tok", "exs/app");
    c.grant("api_tok", "web");
    c.grant("api_tok", "web/front");
    const e = await refusal(Promise.resolve().then(() => c.grant("api_tok", "exs/app", true)));
    expect({ code: e?.code, status: e?.status, message: e?.message }).toEqual({ code: "secrets.in_use", status: 409, message: "secret api_tok is used by exs/app, which could no longer read it" });
    expect(e?.hint).toBe("remove it from those services (or fizz down the deployment) and run fizz up first");
    expect(c.inspect("api_tok").grants).toEqual(["exs/app", "web", "web/front"]);
    // web/front still reads it through the project's grant: that revoke takes nothing away from a user.
    expect(c.grant("api_tok", "web/front", true).grants).toEqual(["exs/app", "web"]);
    expect(events.filter((x) => x.type === "secret.revoked")).toHaveLength(1);
  });
});
