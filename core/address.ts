/**
 * Network addresses as `host:port` text, the one parser and formatter every
 * layer uses (cluster bind/advertise/seeds, SWIM member addresses, the
 * registry's listeners, the API's TCP listener): `10.0.0.1:7946`,
 * `[fd00::1]:7946`, `node-1.example:7946`. IPv6 hosts are bracketed. Pure.
 */

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export type ParsedHostPort = { readonly ok: true; readonly value: HostPort } | { readonly ok: false; readonly why: string };

/**
 * Parses `host:port`. `defaultPort`: a bare host (or bare IPv6 address) gets
 * it. `allowZero`: port 0 (pick a free one, for binding) is allowed.
 */
export function parseHostPort(text: string, o: { readonly defaultPort?: number; readonly allowZero?: boolean } = {}): ParsedHostPort {
  const s = o.defaultPort === undefined ? text.trim() : withDefaultPort(text, o.defaultPort);
  if (s === "") return { ok: false, why: "it is empty" };
  const m = /^\[([0-9a-fA-F:.%a-zA-Z]+)\]:(\d{1,5})$/.exec(s) ?? /^([^\s:[\]/]+):(\d{1,5})$/.exec(s);
  if (!m) return { ok: false, why: s.split(":").length > 2 && !s.startsWith("[") ? "write IPv6 addresses in brackets, e.g. [fd00::1]:7946" : "expected <host>:<port>" };
  const port = Number(m[2]);
  if (port > 65535 || (port === 0 && !o.allowZero)) return { ok: false, why: `port ${port} is out of range (${o.allowZero ? 0 : 1}-65535)` };
  return { ok: true, value: { host: m[1]!, port } };
}

/** `10.0.0.1:7946`, `[fd00::1]:7946`. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `127.0.0.11` → `127.0.0.11:7946`; `::1` → `[::1]:7946`; a port given is kept. */
export function withDefaultPort(addr: string, port: number): string {
  const a = addr.trim();
  if (a.startsWith("[")) return /\]:\d+$/.test(a) ? a : `${a}:${port}`;
  const colons = (a.match(/:/g) ?? []).length;
  if (colons === 0) return a === "" ? a : `${a}:${port}`;
  if (colons > 1) return `[${a}]:${port}`;
  return a;
}
