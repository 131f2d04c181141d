/**
 * Durations as text, one module for every layer: compose's Go durations
 * (`1m30s`, `500ms`, `1.5h`; a bare number is seconds), the node config's
 * (the same plus `d` for days), and durations in messages. Parsing returns
 * nanoseconds (compose's unit); `ms` variants are for the config and timers.
 */

const UNITS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3,
  "μs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
  d: 86_400e9,
};

/**
 * Go's time.ParseDuration (plus a bare number = seconds; `days` also allows
 * `d`). Nanoseconds, or undefined when malformed or negative.
 */
export function parseDuration(input: string | number, o: { readonly days?: boolean } = {}): number | undefined {
  if (typeof input === "number") return Number.isFinite(input) && input >= 0 ? Math.round(input * 1e9) : undefined;
  const s = input.trim();
  if (s === "0") return 0;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1e9);
  const re = o.days ? /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/y : /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let body = s;
  if (body.startsWith("-")) return undefined;
  if (body.startsWith("+")) body = body.slice(1);
  if (body === "") return undefined;
  let pos = 0;
  let total = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return Math.round(total);
}

/** Milliseconds (the node config: `10s`, `500ms`, `7d`). */
export function parseDurationMs(input: string, o: { readonly days?: boolean } = { days: true }): number | undefined {
  const ns = parseDuration(input, o);
  return ns === undefined ? undefined : Math.round(ns / 1e6);
}

/**
 * Nanoseconds as text. `go` is Go's time.Duration.String() (`1m30s`,
 * `1h0m0s`, `1.5ms`: what `docker compose config` prints); `compact` drops
 * zero parts (`2m`, `1h30m30s`, `1.5s`) for messages and the node config.
 * Both parse back to the same value.
 */
export function formatDuration(ns: number, style: "go" | "compact" = "go"): string {
  if (ns === 0) return "0s";
  const sign = ns < 0 ? "-" : "";
  let n = Math.abs(Math.round(ns));
  if (n < 1e3) return `${sign}${n}ns`;
  if (n < 1e6) return `${sign}${trimFrac(n / 1e3)}µs`;
  if (n < 1e9) return `${sign}${trimFrac(n / 1e6)}ms`;
  const h = Math.floor(n / 3600e9);
  n -= h * 3600e9;
  const m = Math.floor(n / 60e9);
  n -= m * 60e9;
  const sec = trimFrac(n / 1e9);
  if (style === "compact") return `${sign}${h ? `${h}h` : ""}${m ? `${m}m` : ""}${sec !== "0" ? `${sec}s` : ""}`;
  if (h > 0) return `${sign}${h}h${m}m${sec}s`;
  if (m > 0) return `${sign}${m}m${sec}s`;
  return `${sign}${sec}s`;
}

/** Milliseconds in the compact style (`1.5s`, `2m`, `1h30m`). */
export function formatMs(ms: number): string {
  return formatDuration(ms * 1e6, "compact");
}

function trimFrac(x: number): string {
  return String(Number(x.toFixed(9)));
}

/**
 * `--since` as the engine's logs endpoint takes it: unix seconds with up to nine
 * decimals (Docker 20.10 reads nothing else). Accepts what the docker CLI and
 * Compose accept: unix seconds, a Go duration before `nowMs` (`10m`, `1h30m`),
 * or an RFC 3339 time or date (`2026-12-05T00:06:58.667670463Z`, `2026-12-05`;
 * without a zone, local time). Undefined when it is none of them.
 */
export function sinceTimestamp(input: string, nowMs: number): string | undefined {
  const s = input.trim();
  if (/^\d+(\.\d{1,9})?$/.test(s)) return s.includes(".") ? s : `${s}.000000000`;
  const m = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d)?)(?:\.(\d{1,9}))?)?(Z|[+-]\d\d:?\d\d)?$/i.exec(s);
  if (m) {
    const ms = Date.parse(`${m[1]}T${m[2] ?? "00:00:00"}${m[4] ? m[4].toUpperCase() : ""}`);
    return Number.isFinite(ms) ? `${Math.floor(ms / 1000)}.${(m[3] ?? "").padEnd(9, "0")}` : undefined;
  }
  const ns = /[a-zµμ]$/i.test(s) ? parseDuration(s) : undefined;
  if (ns === undefined) return undefined;
  const at = nowMs * 1e6 - ns;
  const sec = Math.floor(at / 1e9);
  return `${sec}.${String(Math.round(at - sec * 1e9)).padStart(9, "0")}`;
}
