/**
 * Binding listeners. A unix socket's parent directory is created, a stale
 * socket file left by a crashed agent is removed (but a live one is not: a
 * second agent on the same path is an error), and the socket gets its mode
 * (0660 by default: owner and group may talk to the agent).
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from "node:fs";
import { connect } from "node:net";
import { dirname } from "node:path";
import type { Server } from "node:http";
import { FizzError } from "../../core/errors.ts";

export type Listening =
  | { readonly kind: "unix"; readonly path: string; readonly mode: number }
  | { readonly kind: "tcp"; readonly host: string; readonly port: number; readonly tls: boolean };

export interface Bound {
  readonly listening: Listening;
  readonly cleanup: () => Promise<void>;
}

function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    const done = (alive: boolean) => {
      s.destroy();
      resolve(alive);
    };
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
    setTimeout(() => done(false), 1000).unref?.();
  });
}

/** A group name or numeric gid → gid, from /etc/group. */
export function resolveGroup(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  let text = "";
  try {
    text = readFileSync("/etc/group", "utf8");
  } catch {
    /* no group database: treated as not found */
  }
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new FizzError({
    code: "api.no_such_group",
    message: `no group '${group}' for the API socket`,
    hint: `create it (groupadd ${group}) or leave api.socket_group empty`,
    exitCode: 2,
  });
}

export async function listenUnix(server: Server, path: string, mode: number, gid?: number): Promise<Bound> {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new FizzError({
      code: "api.listen_failed",
      message: `cannot create the directory for the API socket ${path}: ${(e as Error).message}`,
      hint: "run as root, or choose another path with --api unix:<path>",
    });
  }
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(path);
  } catch {
    st = undefined;
  }
  if (st) {
    if (!st.isSocket()) {
      throw new FizzError({ code: "api.listen_failed", message: `${path} exists and is not a socket; refusing to replace it` });
    }
    if (await isAlive(path)) {
      throw new FizzError({
        code: "api.address_in_use",
        message: `another process is serving on ${path}`,
        hint: "is an agent already running? Give this one its own --api and --data-dir",
      });
    }
    unlinkSync(path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ path }, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    throw new FizzError({ code: "api.listen_failed", message: `cannot listen on ${path}: ${e.message}` });
  });
  chmodSync(path, mode);
  if (gid !== undefined) {
    try {
      chownSync(path, -1, gid);
    } catch (e) {
      server.close();
      throw new FizzError({ code: "api.listen_failed", message: `cannot give the API socket ${path} to group ${gid}: ${(e as Error).message}`, hint: "the agent must run as root or be a member of that group" });
    }
  }
  return {
    listening: { kind: "unix", path, mode },
    cleanup: async () => {
      try {
        unlinkSync(path);
      } catch {
        /* already gone */
      }
    },
  };
}

export async function listenTcp(server: Server, host: string, port: number, tls: boolean): Promise<Bound> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    throw new FizzError({
      code: e.code === "EADDRINUSE" ? "api.address_in_use" : "api.listen_failed",
      message: `cannot listen on ${host}:${port}: ${e.message}`,
      ...(e.code === "EADDRINUSE" ? { hint: "another process uses that port; pick another with --api <ip>:<port>" } : {}),
    });
  });
  const a = server.address();
  const actualPort = a && typeof a === "object" ? a.port : port;
  return { listening: { kind: "tcp", host, port: actualPort, tls }, cleanup: async () => undefined };
}
