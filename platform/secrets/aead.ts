/**
 * The fastest ChaCha20-Poly1305 this runtime has, for age payloads
 * (core/secrets/age-stream.ts): node:crypto's where it exists (Deno, Node),
 * OpenSSL's libcrypto through bun:ffi on Bun (whose node:crypto lacks this
 * cipher), else the JavaScript one. Measured on this 2-core machine over 100 MB
 * (bench/secrets.ts): libcrypto via FFI ~680 MB/s, Deno's node:crypto ~800
 * MB/s, JavaScript ~86 MB/s under Bun; the `age` CLI ~330 MB/s file to file.
 */
import { createCipheriv, createDecipheriv, getCiphers } from "node:crypto";
import type { Aead } from "../../core/secrets/age-stream.ts";
import { jsAead } from "../../core/secrets/aead-js.ts";
import { bunFfi } from "../runtime.ts";

let chosen: Aead | undefined;

/** The AEAD `loadNativeAead` found (JavaScript until it has run, or when nothing native exists). */
export function nativeAead(): Aead {
  return chosen ?? nodeCryptoAead() ?? jsAead;
}

/** Looks once for a native implementation; cheap to call again. */
export async function loadNativeAead(): Promise<Aead> {
  if (chosen) return chosen;
  chosen = nodeCryptoAead() ?? (await libcryptoAead()) ?? jsAead;
  return chosen;
}

let nodeCrypto: Aead | null | undefined;

function nodeCryptoAead(): Aead | undefined {
  if (nodeCrypto !== undefined) return nodeCrypto ?? undefined;
  nodeCrypto = null;
  try {
    if (!getCiphers().includes("chacha20-poly1305")) return undefined;
  } catch {
    return undefined;
  }
  nodeCrypto = {
    name: "node:crypto",
    seal(key, nonce, plaintext, out) {
      const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
      const body = c.update(plaintext);
      c.final();
      out.set(body, 0);
      out.set(c.getAuthTag(), plaintext.length);
    },
    open(key, nonce, sealed, out) {
      const n = sealed.length - 16;
      const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
      d.setAuthTag(sealed.subarray(n));
      const body = d.update(sealed.subarray(0, n));
      try {
        d.final();
      } catch {
        out.fill(0);
        return false;
      }
      out.set(body, 0);
      return true;
    },
  };
  return nodeCrypto;
}

const EVP_CTRL_AEAD_GET_TAG = 0x10;
const EVP_CTRL_AEAD_SET_TAG = 0x11;
const LIBCRYPTO = ["libcrypto.so.3", "libcrypto.so", "libcrypto.so.1.1", "libcrypto.dylib"];

async function libcryptoAead(): Promise<Aead | undefined> {
  const ffi = await bunFfi();
  if (!ffi) return undefined;
  const { dlopen, FFIType } = ffi;
  const symbols = {
    EVP_CIPHER_CTX_new: { args: [], returns: FFIType.ptr },
    EVP_chacha20_poly1305: { args: [], returns: FFIType.ptr },
    EVP_CipherInit_ex: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    EVP_CipherUpdate: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    EVP_CipherFinal_ex: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    EVP_CIPHER_CTX_ctrl: { args: [FFIType.ptr, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  } as const;
  let lib: ReturnType<typeof dlopen<typeof symbols>> | undefined;
  for (const name of LIBCRYPTO) {
    try {
      lib = dlopen(name, symbols);
      break;
    } catch {
      // try the next name
    }
  }
  if (!lib) return undefined;
  const S = lib.symbols;
  const cipher = S.EVP_chacha20_poly1305();
  // One context per direction, reused: the agent is single-threaded.
  const ctx = S.EVP_CIPHER_CTX_new();
  if (!cipher || !ctx) return undefined;
  const outLen = new Int32Array(1);
  const scratch = new Uint8Array(16);
  const aead: Aead = {
    name: "libcrypto (bun:ffi)",
    seal(key, nonce, plaintext, out) {
      if (S.EVP_CipherInit_ex(ctx, cipher, null, key, nonce, 1) !== 1) throw new Error("EVP_CipherInit_ex failed");
      if (plaintext.length > 0 && S.EVP_CipherUpdate(ctx, out, outLen, plaintext, plaintext.length) !== 1) throw new Error("EVP_CipherUpdate failed");
      if (S.EVP_CipherFinal_ex(ctx, scratch, outLen) !== 1) throw new Error("EVP_CipherFinal_ex failed");
      if (S.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, scratch) !== 1) throw new Error("getting the tag failed");
      out.set(scratch, plaintext.length);
    },
    open(key, nonce, sealed, out) {
      const n = sealed.length - 16;
      scratch.set(sealed.subarray(n));
      if (S.EVP_CipherInit_ex(ctx, cipher, null, key, nonce, 0) !== 1) throw new Error("EVP_CipherInit_ex failed");
      if (S.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, scratch) !== 1) throw new Error("setting the tag failed");
      if (n > 0 && S.EVP_CipherUpdate(ctx, out, outLen, sealed, n) !== 1) throw new Error("EVP_CipherUpdate failed");
      if (S.EVP_CipherFinal_ex(ctx, scratch, outLen) !== 1) {
        out.subarray(0, n).fill(0);
        return false;
      }
      return true;
    },
  };
  // Known-answer check against the JavaScript implementation before trusting the library.
  const key = new Uint8Array(32).fill(1);
  const nonce = new Uint8Array(12).fill(2);
  const pt = new TextEncoder().encode("fizz native aead self-test");
  const a = new Uint8Array(pt.length + 16);
  const b = new Uint8Array(pt.length + 16);
  aead.seal(key, nonce, pt, a);
  jsAead.seal(key, nonce, pt, b);
  const back = new Uint8Array(pt.length);
  if (!a.every((x, i) => x === b[i]) || !aead.open(key, nonce, a, back) || !back.every((x, i) => x === pt[i])) return undefined;
  return aead;
}
