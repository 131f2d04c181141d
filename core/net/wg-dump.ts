/**
 * Parses `wg show <interface> dump` (tab-separated; the first line is the
 * interface, one line per peer after it). The private key in the first line
 * is dropped here, so it never travels further than this parser.
 */

export interface WgPeerStatus {
  readonly publicKey: string;
  readonly endpoint: string | undefined;
  readonly allowedIps: readonly string[];
  /** Seconds since the epoch of the last handshake; 0 = never. */
  readonly latestHandshake: number;
  readonly rxBytes: number;
  readonly txBytes: number;
}

export interface WgStatus {
  readonly publicKey: string;
  readonly listenPort: number;
  readonly peers: readonly WgPeerStatus[];
}

export type WgDumpResult = { readonly ok: true; readonly value: WgStatus } | { readonly ok: false; readonly reason: string };

export function parseWgDump(text: string): WgDumpResult {
  const lines = text.split("\n").filter((l) => l.length > 0);
  if (lines.length === 0) return { ok: false, reason: "empty output" };
  const head = lines[0]!.split("\t");
  if (head.length !== 4) return { ok: false, reason: `interface line has ${head.length} fields, want 4` };
  const peers: WgPeerStatus[] = [];
  for (const [i, l] of lines.slice(1).entries()) {
    const f = l.split("\t");
    if (f.length !== 8) return { ok: false, reason: `peer line ${i + 1} has ${f.length} fields, want 8` };
    peers.push({
      publicKey: f[0]!,
      endpoint: f[2] === "(none)" ? undefined : f[2],
      allowedIps: f[3] === "(none)" || f[3] === "" ? [] : f[3]!.split(","),
      latestHandshake: Number(f[4]) || 0,
      rxBytes: Number(f[5]) || 0,
      txBytes: Number(f[6]) || 0,
    });
  }
  return { ok: true, value: { publicKey: head[1]!, listenPort: Number(head[2]) || 0, peers } };
}
