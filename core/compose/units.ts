/**
 * Compose's units: Go-style durations ("1m30s", "250ms") in nanoseconds and
 * Docker-style byte sizes ("512M", "1gb", binary multiples) in bytes, both
 * parsed and printed back the way `docker compose config` prints them.
 */

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3,
  "μs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration (plus a bare number = seconds). Returns nanoseconds, or undefined if malformed. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === "number") return Number.isFinite(input) && input >= 0 ? Math.round(input * 1e9) : undefined;
  const s = input.trim();
  if (s === "0") return 0;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1e9);
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let pos = 0;
  let total = 0;
  let neg = false;
  let body = s;
  if (body.startsWith("-") || body.startsWith("+")) {
    neg = body[0] === "-";
    body = body.slice(1);
  }
  if (body === "") return undefined;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (neg) return undefined;
  return Math.round(total);
}

/** Go's time.Duration.String(): 90e9 → "1m30s", 0 → "0s", 1.5e6 → "1.5ms". */
export function formatDuration(ns: number): string {
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
  if (h > 0) return `${sign}${h}h${m}m${sec}s`;
  if (m > 0) return `${sign}${m}m${sec}s`;
  return `${sign}${sec}s`;
}

function trimFrac(x: number): string {
  return String(Number(x.toFixed(9)));
}

const BYTE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Docker's units.RAMInBytes: "512M", "1.5g", "100kb", "1024". Returns bytes, or undefined if malformed. */
export function parseBytes(input: string | number): number | undefined {
  if (typeof input === "number") return Number.isInteger(input) && input >= 0 ? input : undefined;
  const m = /^(\d+(?:\.\d+)?) ?([kmgtpb]?)(i?b)?$/i.exec(input.trim());
  if (!m) return undefined;
  let unit = m[2]!.toLowerCase();
  if (unit === "b" && m[3]) return undefined;
  const mult = BYTE_UNITS[unit];
  if (mult === undefined) return undefined;
  return Math.floor(Number(m[1]) * mult);
}
