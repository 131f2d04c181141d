/**
 * Who may use a node's registry listener: connections from loopback need
 * nothing (this node's engine, local users); any other needs the cluster's
 * registry password (derived from each installed cluster key, so every node
 * accepts the same one and rotation works like the keyring's) or, outside a
 * cluster, this node's own (`<data_dir>/registry-password`, generated), as
 * Basic (`docker login -u fizz`) or Bearer.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IncomingMessage } from "node:http";
import { registryPassword } from "../../core/registry/index.ts";
import type { Keyring } from "../../core/cluster-crypto/keyring.ts";

export const REGISTRY_USER = "fizz";

export function isLoopback(a: string | undefined): boolean {
  return !!a && (a.startsWith("127.") || a === "::1" || a.startsWith("::ffff:127."));
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class RegistryAuth {
  private readonly own: string;

  constructor(
    dataDir: string,
    private readonly keyring: () => Keyring | undefined,
  ) {
    this.own = ownPassword(dataDir);
  }

  /** The password clients on other machines use now. */
  password(): string {
    const ring = this.keyring();
    const primary = ring?.keys.find((k) => k.id === ring.primary);
    return primary ? registryPassword(primary.key) : this.own;
  }

  authorize(req: IncomingMessage): boolean {
    if (isLoopback(req.socket.remoteAddress)) return true;
    const h = req.headers.authorization ?? "";
    let secret: string | undefined;
    if (/^bearer /i.test(h)) secret = h.slice(7).trim();
    else if (/^basic /i.test(h)) {
      const dec = Buffer.from(h.slice(6).trim(), "base64").toString("utf8");
      secret = dec.slice(dec.indexOf(":") + 1);
    }
    if (!secret) return false;
    const ring = this.keyring();
    const accepted = [...(ring ? ring.keys.map((k) => registryPassword(k.key)) : []), this.own];
    return accepted.some((a) => same(a, secret!));
  }
}

function ownPassword(dataDir: string): string {
  const file = join(dataDir, "registry-password");
  try {
    const t = readFileSync(file, "utf8").trim();
    if (t.length >= 16) return t;
  } catch {
    // first start
  }
  const t = randomBytes(24).toString("base64url");
  writeFileSync(file, `${t}\n`, { mode: 0o600 });
  return t;
}
