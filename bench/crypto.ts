/**
 * Seal+open throughput for 1,400-byte SWIM packets with our framing
 * (XChaCha20-Poly1305 from @noble/ciphers, pure JS) against native AEADs from
 * node:crypto measured in the same run: chacha20-poly1305 where the runtime
 * has it (Deno, Node), aes-256-gcm otherwise (Bun), and a plain copy as a floor.
 * Prints packets/s and the ratio native / ours.
 */
import { createCipheriv, createDecipheriv, getCiphers, randomBytes } from "node:crypto";
import { createKeyring } from "../core/cluster-crypto/keyring.ts";
import { open, seal } from "../core/cluster-crypto/seal.ts";

const PACKET = 1400;
const key = new Uint8Array(randomBytes(32));
const kr = createKeyring(key);
if (!kr.ok) throw new Error(kr.error.message);
const ring = kr.keyring;
const pt = new Uint8Array(randomBytes(PACKET));
// Pre-generate nonce material so both sides pay the same (near zero) RNG cost.
const pool = new Uint8Array(randomBytes(1 << 16));
let poolAt = 0;
const rng = (n: number) => {
  if (poolAt + n > pool.length) poolAt = 0;
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
};

function measure(name: string, fn: () => void): number {
  for (let i = 0; i < 500; i++) fn(); // warm up
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 1000) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
    elapsed = performance.now() - start;
  }
  const rate = (n / elapsed) * 1000;
  console.log(`${name.padEnd(40)} ${Math.round(rate).toString().padStart(10)} packets/s  ${((rate * PACKET) / 1e6).toFixed(1).padStart(7)} MB/s`);
  return rate;
}

const ours = measure("fizz seal+open (xchacha20-poly1305, JS)", () => {
  const r = open(ring, "udp", seal(ring, "udp", pt, rng));
  if (!r.ok) throw new Error("open failed");
});

const ciphers = getCiphers();
const nativeName = ciphers.includes("chacha20-poly1305") ? "chacha20-poly1305" : ciphers.includes("aes-256-gcm") ? "aes-256-gcm" : undefined;
let native: number | undefined;
if (nativeName) {
  const alg = nativeName as "chacha20-poly1305";
  native = measure(`node:crypto ${nativeName} seal+open`, () => {
    const iv = rng(12);
    const c = createCipheriv(alg, key, iv, { authTagLength: 16 });
    c.setAAD(Uint8Array.of(1));
    const ct = Buffer.concat([c.update(pt), c.final()]);
    const tag = c.getAuthTag();
    const d = createDecipheriv(alg, key, iv, { authTagLength: 16 });
    d.setAAD(Uint8Array.of(1));
    d.setAuthTag(tag);
    Buffer.concat([d.update(ct), d.final()]);
  });
}
const copy = measure("plain copy (2 × 1,400 bytes)", () => {
  const a = Uint8Array.from(pt);
  Uint8Array.from(a);
});

if (native !== undefined) console.log(`ratio native ${nativeName} / fizz: ${(native / ours).toFixed(2)}x`);
console.log(`ratio copy / fizz: ${(copy / ours).toFixed(1)}x`);
// A SWIM node sends a few packets per second per peer it probes; report the headroom.
console.log(`one core seals+opens ${Math.round(ours)} packets/s ≈ ${Math.round(ours / 50)} nodes' worth at 50 packets/s each`);
