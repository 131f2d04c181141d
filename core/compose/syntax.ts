/**
 * Compose's short syntaxes, parsed into their long forms: ports
 * ("127.0.0.1:8000-8001:80-81/udp"), volumes ("./data:/data:ro,z"), devices
 * ("/dev/a:/dev/b:rwm"), and "KEY=VALUE" lists. Pure string work; errors are
 * returned as messages for the caller to locate.
 */
import type { PortMapping, Protocol } from "./model.ts";

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const PROTOCOLS: readonly Protocol[] = ["tcp", "udp", "sctp"];

function portRange(s: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a < 0 || b > 65535 || b < a) return undefined;
  return [a, b];
}

/** "[[ip:]published:]target[/protocol]" → one mapping per container port. */
export function parsePortShort(input: string | number): Parsed<PortMapping[]> {
  let s = String(input).trim();
  let protocol: Protocol = "tcp";
  const slash = s.lastIndexOf("/");
  if (slash >= 0) {
    const p = s.slice(slash + 1).toLowerCase();
    if (!PROTOCOLS.includes(p as Protocol)) return { ok: false, message: `unknown protocol "${p}" (use tcp, udp or sctp)` };
    protocol = p as Protocol;
    s = s.slice(0, slash);
  }
  let hostIp: string | undefined;
  let rest = s;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(s);
  if (v6) {
    hostIp = v6[1];
    rest = v6[2]!;
  }
  const parts = rest.split(":");
  let pub: string | undefined;
  let tgt: string;
  if (v6) {
    if (parts.length !== 2) return { ok: false, message: `invalid port "${input}": expected [ip]:published:target` };
    pub = parts[0];
    tgt = parts[1]!;
  } else if (parts.length === 1) tgt = parts[0]!;
  else if (parts.length === 2) {
    pub = parts[0];
    tgt = parts[1]!;
  } else if (parts.length === 3) {
    hostIp = parts[0];
    pub = parts[1];
    tgt = parts[2]!;
  } else {
    // IPv6 without brackets: last two parts are published:target.
    tgt = parts.pop()!;
    pub = parts.pop();
    hostIp = parts.join(":");
  }
  if (pub === "") pub = undefined;
  if (hostIp === "") hostIp = undefined;
  const t = portRange(tgt);
  if (!t) return { ok: false, message: `invalid container port "${tgt}" in "${input}": expected a port 0-65535 or a range like 8000-8010` };
  let p: [number, number] | undefined;
  if (pub !== undefined) {
    p = portRange(pub);
    if (!p) return { ok: false, message: `invalid published port "${pub}" in "${input}": expected a port 0-65535 or a range` };
  }
  if (hostIp !== undefined && !isIp(hostIp)) return { ok: false, message: `invalid host IP "${hostIp}" in "${input}"` };
  const count = t[1] - t[0] + 1;
  const out: PortMapping[] = [];
  if (p && p[1] - p[0] + 1 === count && count > 1) {
    for (let i = 0; i < count; i++) out.push(mk(t[0] + i, String(p[0] + i)));
  } else if (p && count > 1) {
    // As Docker (nat.ParsePortSpec): a host range may be wider than a single container port, not differ from a container range.
    return { ok: false, message: `invalid ranges specified for container and host ports in "${input}": ${p[1] - p[0] + 1} published, ${count} container ports` };
  } else {
    const published = p ? (p[0] === p[1] ? String(p[0]) : `${p[0]}-${p[1]}`) : undefined;
    for (let i = 0; i < count; i++) out.push(mk(t[0] + i, published));
  }
  return { ok: true, value: out };

  function mk(target: number, published: string | undefined): PortMapping {
    return {
      target,
      ...(published !== undefined ? { published } : {}),
      ...(hostIp !== undefined ? { host_ip: hostIp } : {}),
      protocol,
      mode: "ingress",
    };
  }
}

export function isIp(s: string): boolean {
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s)) return s.split(".").every((o) => Number(o) <= 255);
  return /^[0-9a-fA-F:.]+$/.test(s) && s.includes(":");
}

export interface VolumeShort {
  source: string | undefined;
  target: string;
  kind: "bind" | "volume";
  read_only: boolean;
  selinux?: "z" | "Z";
  propagation?: string;
  nocopy?: boolean;
  consistency?: string;
}

const PROPAGATION = ["shared", "rshared", "slave", "rslave", "private", "rprivate"];
const CONSISTENCY = ["consistent", "cached", "delegated"];

export function isPathLike(source: string): boolean {
  return source.startsWith("/") || source.startsWith(".") || source.startsWith("~") || isWindowsAbsolute(source);
}

/** A drive path (`C:\\data`, `c:/data`) or a UNC path (`\\\\server\\share`): absolute on Windows, so Compose never joins it to the project directory. */
export function isWindowsAbsolute(p: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(p) || /^\\\\[^\\]/.test(p);
}

/** "[source:]target[:mode,…]" */
export function parseVolumeShort(input: string): Parsed<VolumeShort> {
  const s = input.trim();
  if (s === "") return { ok: false, message: "empty volume" };
  // Windows drive letters ("C:\data") contain a colon; split only on colons not followed by \ or /.
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === ":" && !(cur.length === 1 && /[A-Za-z]/.test(cur) && /[\\/]/.test(s[i + 1] ?? ""))) {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  let source: string | undefined;
  let target: string;
  let mode = "";
  if (parts.length === 1) target = parts[0]!;
  else if (parts.length === 2) {
    if (parts[1]!.startsWith("/") || /^[A-Za-z]:/.test(parts[1]!)) {
      source = parts[0];
      target = parts[1]!;
    } else {
      target = parts[0]!;
      mode = parts[1]!;
    }
  } else if (parts.length === 3) {
    source = parts[0];
    target = parts[1]!;
    mode = parts[2]!;
  } else return { ok: false, message: `invalid volume "${input}": too many colons (expected [source:]target[:mode])` };
  if (source === "") return { ok: false, message: `invalid volume "${input}": empty source` };
  if (target === "") return { ok: false, message: `invalid volume "${input}": empty target` };
  const v: VolumeShort = { source, target, kind: source !== undefined && isPathLike(source) ? "bind" : "volume", read_only: false };
  for (const opt of mode.split(",").filter(Boolean)) {
    if (opt === "ro") v.read_only = true;
    else if (opt === "rw") v.read_only = false;
    else if (opt === "z" || opt === "Z") v.selinux = opt;
    else if (opt === "nocopy") v.nocopy = true;
    else if (PROPAGATION.includes(opt)) v.propagation = opt;
    else if (CONSISTENCY.includes(opt)) v.consistency = opt;
    else return { ok: false, message: `invalid volume mode "${opt}" in "${input}" (use ro, rw, z, Z, nocopy or a propagation like rshared)` };
  }
  return { ok: true, value: v };
}

/** "/dev/host[:/dev/container[:perms]]" */
export function parseDeviceShort(input: string): Parsed<{ source: string; target: string; permissions?: string }> {
  const parts = input.split(":");
  if (parts.length > 3 || parts[0] === "") return { ok: false, message: `invalid device "${input}": expected host[:container[:permissions]]` };
  const source = parts[0]!;
  const target = parts[1] || source;
  const perms = parts[2];
  if (perms !== undefined && !/^[rwm]+$/.test(perms)) return { ok: false, message: `invalid device permissions "${perms}" (use r, w, m)` };
  return { ok: true, value: { source, target, ...(perms ? { permissions: perms } : {}) } };
}

/** "KEY=VALUE" → [KEY, VALUE]; "KEY" → [KEY, null]. */
export function splitKeyValue(item: string, sep = "="): [string, string | null] {
  const i = item.indexOf(sep);
  return i < 0 ? [item, null] : [item.slice(0, i), item.slice(i + 1)];
}
