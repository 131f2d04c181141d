/**
 * The node's upstream resolvers, from resolv.conf text (what the cluster
 * resolver forwards everything else to). Loopback stub resolvers (systemd's
 * 127.0.0.53) are kept: the agent runs on the host and can reach them.
 */
export interface Upstream {
  readonly host: string;
  readonly port: number;
}

export function parseResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const m = /^nameserver\s+(\S+)$/.exec(line);
    if (!m) continue;
    const host = m[1]!.replace(/%.*$/, "");
    if (/^[0-9.]+$/.test(host) || host.includes(":")) out.push({ host, port: 53 });
  }
  return out.slice(0, 3);
}

/** "ip:port" or "ip" (port 53) as given in the node config's dns.upstreams. */
export function parseUpstream(s: string): Upstream | undefined {
  const m = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(s.trim());
  if (!m) return undefined;
  const port = m[2] === undefined ? 53 : Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : undefined;
}
