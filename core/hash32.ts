/**
 * A stable, fast 32-bit string hash: FNV-1a over UTF-16 code units followed
 * by murmur3's fmix32 finaliser (which fixes FNV's weak avalanche on short,
 * similar keys like `web#1`/`web#2`). Plain arithmetic, so every node on any
 * runtime computes the same value: placement (core/scheduler) and
 * anti-entropy buckets (core/state/digest) both depend on that.
 * Non-cryptographic on purpose.
 */

export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

export function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Mixes a second integer into a hash; cheaper than hashing a longer string. */
export function combine32(h: number, n: number): number {
  return fmix32(Math.imul(h ^ n, 0x9e3779b1) + n);
}
