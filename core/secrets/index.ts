/**
 * Secrets, the pure part: keys derived from the cluster master key (keys.ts),
 * reading age files (age.ts, with the payload STREAM in age-stream.ts and a
 * JavaScript AEAD in aead-js.ts), Shamir shares that any unsealed node can
 * mint and every node can verify (shamir.ts), who holds shares and when to
 * seal (quorum.ts), SOPS files with age data keys and a verified MAC
 * (sops.ts), compose secrets and configs for the cluster (compose.ts), and
 * what a container gets and how it is rotated (delivery.ts). Writing age files
 * draws randomness and lives in platform/secrets.
 */
export * from "./keys.ts";
export * from "./age.ts";
export * from "./age-stream.ts";
export * from "./shamir.ts";
export * from "./sops.ts";
export * from "./quorum.ts";
export * from "./compose.ts";
export * from "./delivery.ts";
export * from "./identity-use.ts";
