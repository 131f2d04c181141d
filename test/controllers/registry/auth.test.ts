import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKeyring, install, type Keyring } from "../../../core/cluster-crypto/keyring.ts";
import { registryPassword } from "../../../core/registry/index.ts";
import { RegistryAuth } from "../../../controllers/registry/auth.ts";

const req = (remoteAddress: string, authorization?: string) => ({ socket: { remoteAddress }, headers: authorization ? { authorization } : {} }) as unknown as IncomingMessage;
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

describe("registry listener auth", () => {
  test("loopback needs nothing; others need the password (Basic or Bearer); a node outside a cluster has its own", () => {
    const dir = mkdtempSync(join(tmpdir(), "fizz-regauth-"));
    try {
      const auth = new RegistryAuth(dir, () => undefined);
      const own = readFileSync(join(dir, "registry-password"), "utf8").trim();
      expect(statSync(join(dir, "registry-password")).mode & 0o777).toBe(0o600);
      expect(auth.password()).toBe(own);
      expect(auth.authorize(req("127.0.0.1"))).toBe(true);
      expect(auth.authorize(req("::1"))).toBe(true);
      expect(auth.authorize(req("10.0.0.2"))).toBe(false);
      expect(auth.authorize(req("10.0.0.2", basic("fizz", "wrong")))).toBe(false);
      expect(auth.authorize(req("10.0.0.2", basic("fizz", own)))).toBe(true);
      expect(auth.authorize(req("10.0.0.2", `Bearer ${own}`))).toBe(true);
      // the same password after a restart
      expect(new RegistryAuth(dir, () => undefined).password()).toBe(own);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("in a cluster: the password derived from the primary key; every installed key's is accepted (rotation)", () => {
    const dir = mkdtempSync(join(tmpdir(), "fizz-regauth-"));
    try {
      const k1 = new Uint8Array(32).fill(1);
      const k2 = new Uint8Array(32).fill(2);
      const r1 = createKeyring(k1);
      if (!r1.ok) throw new Error("keyring");
      const r2 = install(r1.keyring, k2);
      if (!r2.ok) throw new Error("install");
      let ring: Keyring = r2.keyring;
      const auth = new RegistryAuth(dir, () => ring);
      expect(auth.password()).toBe(registryPassword(k1));
      expect(auth.authorize(req("10.0.0.2", basic("fizz", registryPassword(k2))))).toBe(true);
      expect(auth.authorize(req("10.0.0.2", basic("fizz", registryPassword(new Uint8Array(32).fill(3)))))).toBe(false);
      ring = r1.keyring;
      expect(auth.authorize(req("10.0.0.2", basic("fizz", registryPassword(k2))))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
