/**
 * Secrets, the adapters: the native ChaCha20-Poly1305 for age payloads
 * (aead.ts: node:crypto, or libcrypto through bun:ffi on Bun), writing age
 * files (age-encrypt.ts), and delivered files on memory-backed storage with
 * atomic replacement (files.ts).
 */
export * from "./aead.ts";
export * from "./age-encrypt.ts";
export * from "./files.ts";
