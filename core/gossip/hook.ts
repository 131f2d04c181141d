/**
 * How the CRDT layer (core/state/digest.ts) rides on push-pull anti-entropy.
 * All values are opaque bytes to the membership layer:
 *  - the initiator sends `digest()`;
 *  - the responder answers `diff(initiatorDigest)` (what the initiator lacks)
 *    plus its own `digest()`;
 *  - the initiator `apply`s that diff and sends back `diff(responderDigest)`,
 *    which the responder `apply`s.
 * So each side ships only what the other lacks. `apply` must be idempotent
 * and tolerate garbage (it gets bytes from the network): it returns false to
 * reject, and must never throw.
 */
export interface UserStateHook {
  digest(): Uint8Array;
  diff(remoteDigest: Uint8Array): Uint8Array;
  apply(diff: Uint8Array): boolean;
}

const EMPTY = new Uint8Array(0);
/** A hook with no user state, for nodes or tests that carry membership only. */
export const noUserState: UserStateHook = {
  digest: () => EMPTY,
  diff: () => EMPTY,
  apply: () => true,
};
