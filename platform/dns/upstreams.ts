/**
 * The node's upstream resolvers: those the config names, else the
 * nameservers of this host's /etc/resolv.conf (re-read when it changes, so
 * a DHCP renewal is followed).
 */
import { readFileSync, statSync } from "node:fs";
import { parseResolvConf, parseUpstream, type Upstream } from "../../core/net/resolv-conf.ts";

export function upstreamSource(configured: readonly string[], path = "/etc/resolv.conf"): () => readonly Upstream[] {
  if (configured.length) {
    const list = configured.map(parseUpstream).filter((u): u is Upstream => u !== undefined);
    return () => list;
  }
  let mtime = -1;
  let list: Upstream[] = [];
  return () => {
    try {
      const m = statSync(path).mtimeMs;
      if (m !== mtime) {
        mtime = m;
        list = parseResolvConf(readFileSync(path, "utf8"));
      }
    } catch {
      list = [];
    }
    return list;
  };
}
