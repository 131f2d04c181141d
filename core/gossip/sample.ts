/** `k` distinct items chosen uniformly with a seeded random source (partial Fisher–Yates; the input is not changed). */
import type { Rng } from "../random.ts";

export function sampleWithout<T>(items: readonly T[], k: number, rng: Rng): T[] {
  const a = [...items];
  const n = Math.min(k, a.length);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(a.length - i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}
