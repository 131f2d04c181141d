/**
 * Shamir shares of the master key, verifiable, and mintable by any node that
 * holds the key.
 *
 * A share is `y bytes || x` (33 bytes), the layout of the audited
 * shamir-secret-sharing package, whose `combine` rebuilds the key. Its `split`
 * draws random coefficients and x coordinates, which cannot serve a cluster
 * that grows: a node that joins after `fizz init` needs a share of the *same*
 * polynomial, made by whichever node is unsealed then. So the coefficients
 * here are derived from the master key (HKDF, label `shamir\0<poly>\0<t>`), and
 * `share(master, poly, t, x)` is the same bytes on every node: concurrent
 * minting agrees, and nothing but the key has to be kept. Evaluating a
 * polynomial over GF(2^8) (the field of the package and of AES, x^8 + x^4 +
 * x^3 + x + 1) is the only arithmetic written here; the tests check that the
 * package's `combine` inverts it.
 *
 * Each share is published with a commitment, SHA-256 over a domain label, the
 * polynomial, t, x and the share. The shares hold 256 bits of key-derived
 * entropy, so a commitment gives nothing away, and a share that does not
 * match its commitment is named as wrong before anything is combined; the
 * rebuilt key is checked against the published key check value (keys.ts).
 */
import { combine as combineShares } from "shamir-secret-sharing";
import { MASTER_KEY_BYTES, MasterKey, keyCheckValue, sha256Hex } from "./keys.ts";

export const SHARE_BYTES = MASTER_KEY_BYTES + 1;
/** x is one byte and x = 0 is the secret itself. */
export const MAX_SHARES = 255;

/** Multiplication in GF(2^8) mod x^8 + x^4 + x^3 + x + 1, without tables or branches on secrets. */
export function gfMul(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    p ^= -(b & 1) & a;
    const hi = -((a >> 7) & 1);
    a = ((a << 1) ^ (hi & 0x1b)) & 0xff;
    b >>= 1;
  }
  return p & 0xff;
}

/**
 * The share at `x` of the degree-(t-1) polynomial named `poly` whose constant
 * term is the master key. `poly` separates independent splits (node shares,
 * each recovery rekey).
 */
export function share(master: MasterKey, poly: string, t: number, x: number): Uint8Array {
  if (!Number.isInteger(t) || t < 1 || t > MAX_SHARES) throw new RangeError(`threshold must be 1..${MAX_SHARES}, got ${t}`);
  if (!Number.isInteger(x) || x < 1 || x > MAX_SHARES) throw new RangeError(`share index must be 1..${MAX_SHARES}, got ${x}`);
  const secret = master.bytes();
  const coeffs = t > 1 ? master.derive(`shamir\0${poly}\0${t}`, (t - 1) * MASTER_KEY_BYTES) : new Uint8Array(0);
  const out = new Uint8Array(SHARE_BYTES);
  for (let i = 0; i < MASTER_KEY_BYTES; i++) {
    // Horner, highest coefficient first: a_{t-1} … a_1, then the key byte.
    let y = 0;
    for (let j = t - 1; j >= 1; j--) y = gfMul(y, x) ^ coeffs[(j - 1) * MASTER_KEY_BYTES + i]!;
    out[i] = gfMul(y, x) ^ secret[i]!;
  }
  out[MASTER_KEY_BYTES] = x;
  secret.fill(0);
  return out;
}

export function shareIndex(s: Uint8Array): number {
  return s[s.length - 1]!;
}

/** What a published share commitment binds: the polynomial, the threshold, the index, the bytes. */
export function commitment(poly: string, t: number, s: Uint8Array): string {
  return sha256Hex("fizz-share-v1\0", poly, "\0", String(t), "\0", String(shareIndex(s)), "\0", s);
}

export function verifyShare(poly: string, t: number, s: Uint8Array, expected: string): boolean {
  return s.length === SHARE_BYTES && shareIndex(s) >= 1 && commitment(poly, t, s) === expected;
}

export type CombineResult = { readonly ok: true; readonly master: MasterKey } | { readonly ok: false; readonly message: string };

/**
 * Rebuilds the key from exactly `t` verified shares of one polynomial and
 * checks it against the published check value (so a set of shares that each
 * verify but belong to different polynomials still cannot unseal garbage).
 */
export async function combine(shares: readonly Uint8Array[], t: number, check: string): Promise<CombineResult> {
  const byX = new Map<number, Uint8Array>();
  for (const s of shares) byX.set(shareIndex(s), s);
  const distinct = [...byX.values()];
  if (distinct.length < t) return { ok: false, message: `${distinct.length} distinct share${distinct.length === 1 ? "" : "s"}, ${t} needed` };
  const use = distinct.slice(0, t);
  const bytes = t === 1 ? use[0]!.subarray(0, MASTER_KEY_BYTES) : await combineShares(use.map((s) => Uint8Array.from(s)));
  const master = new MasterKey(bytes);
  if (keyCheckValue(master) !== check) return { ok: false, message: "the shares rebuild a key that does not match the cluster's key check value" };
  return { ok: true, master };
}

/**
 * Node shares needed to unseal a cluster of `holders` share-holding nodes: a
 * majority, so a partition's minority side never holds the key and the
 * majority side always can. 1 node → 1, 2 → 2, 3 → 2, 4 → 3, 5 → 3 (the
 * default 3-of-5), 7 → 4.
 */
export function nodeThreshold(holders: number): number {
  if (holders <= 1) return 1;
  return Math.floor(Math.min(holders, MAX_SHARES) / 2) + 1;
}
