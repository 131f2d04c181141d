import { describe, expect, test } from "bun:test";
import type { Engine } from "../../../platform/engine/index.ts";
import { podmanNameResolution } from "../../../platform/engine/podman-dns.ts";

/** An engine whose libpod /info names this network backend. */
function fake(backend: string | undefined, transport: "unix" | "tcp" = "unix"): Engine {
  return {
    endpoint: { transport },
    transport: {
      json: async (o: { path: string }) => {
        expect(o.path).toBe("/v4.0.0/libpod/info");
        return { host: backend === undefined ? {} : { networkBackend: backend } };
      },
    },
  } as unknown as Engine;
}

describe("Podman service-name resolution check", () => {
  test("netavark resolves names itself", async () => {
    expect(await podmanNameResolution(fake("netavark"), () => false)).toEqual({ ok: true, detail: "netavark networking" });
  });
  test("CNI with the dnsname plugin installed", async () => {
    const r = await podmanNameResolution(fake("cni"), (p) => p === "/usr/libexec/cni/dnsname");
    expect(r).toEqual({ ok: true, detail: "CNI networking with the dnsname plugin (/usr/libexec/cni/dnsname)" });
  });
  test("CNI without it fails, saying what to install", async () => {
    const r = await podmanNameResolution(fake("cni"), () => false);
    expect(r.ok).toBe(false);
    expect(r.detail).toContain("cannot reach each other by service name");
    expect(r.detail).toContain("golang-github-containernetworking-plugin-dnsname");
  });
  test("a remote engine's plugins cannot be seen from here: not a failure", async () => {
    expect((await podmanNameResolution(fake("cni", "tcp"), () => false)).ok).toBe(true);
  });
});
