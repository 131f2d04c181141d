/**
 * ChaCha20-Poly1305 in JavaScript (@noble/ciphers): the AEAD every runtime
 * has. The agent prefers a native one (platform/secrets/aead.ts); tests and
 * the fallback use this.
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import type { Aead } from "./age-stream.ts";

export const jsAead: Aead = {
  name: "javascript",
  seal(key, nonce, plaintext, out) {
    chacha20poly1305(key, nonce).encrypt(plaintext, out);
  },
  open(key, nonce, sealed, out) {
    try {
      chacha20poly1305(key, nonce).decrypt(sealed, out);
      return true;
    } catch {
      return false;
    }
  },
};
