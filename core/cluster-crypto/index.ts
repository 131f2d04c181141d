/**
 * Cluster crypto (pure): the keyring (install/use/remove for rotation without
 * restart), sealing of UDP packets, TCP frames and handshake messages with
 * XChaCha20-Poly1305 under a versioned header, the TCP frame codec, the
 * stream handshake messages, and join tokens (`fizz1…`). No I/O: randomness
 * is injected; platform/transport puts these on real sockets.
 */
export * from "./keyring.ts";
export * from "./seal.ts";
export * from "./stream.ts";
export * from "./handshake.ts";
export * from "./join-token.ts";
