/**
 * Compose's units: Go-style durations ("1m30s", "250ms") in nanoseconds and
 * Docker-style byte sizes ("512M", "1gb", binary multiples) in bytes, both
 * parsed and printed back the way `docker compose config` prints them.
 */

/** Durations live in core/duration.ts; compose reads and prints them in Go's syntax. */
export { parseDuration, formatDuration } from "../duration.ts";

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
