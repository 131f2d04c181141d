/**
 * Gossip dissemination for the SWIM layer: a transmit-limited queue of
 * updates piggybacked on probe traffic and gossip rounds, packed into
 * compound packets of at most `maxPacketBytes`, plus the tiny hook through
 * which the CRDT layer takes part in push-pull anti-entropy.
 */
export { TransmitLimitedQueue, type QueueItem } from "./queue.ts";
export { packCompound } from "./pack.ts";
export { type UserStateHook, noUserState } from "./hook.ts";
