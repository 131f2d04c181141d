/**
 * Secrets, the pure part: keys derived from the cluster master key (keys.ts),
 * reading age files (age.ts, with the payload STREAM in age-stream.ts and a
 * JavaScript AEAD in aead-js.ts), Shamir shares that any unsealed node can
 * mint and every node can verify (shamir.ts), and SOPS files with age data
 * keys and a verified MAC (sops.ts). Writing age files draws randomness and
 * lives in platform/secrets.
 */
export * from "./keys.ts";
export * from "./age.ts";
export * from "./age-stream.ts";
export * from "./shamir.ts";
export * from "./sops.ts";
