/**
 * SWIM membership with the Lifeguard extensions (local health multiplier,
 * dynamic suspicion, buddy system), as a pure state machine. The agent feeds it
 * UDP packets, push-pull streams and clock ticks and sends what it drains; the
 * simulator in test/sim drives the very same code in virtual time.
 *
 *   const node = createSwimNode(config, {id, addr, meta}, rng);
 *   node.join(["10.0.0.1:7946"], now); node.tick(now); node.receive(from, msg, now);
 *   for (const out of node.drain()) …   // packets, streams, events, deliveries
 *   setTimeout(…, node.nextWakeupMs() - now);
 */
import type { Rng } from "../random.ts";
import type { SwimConfig } from "./config.ts";
import { type SwimIdentity, SwimNode, type SwimOptions } from "./state.ts";

export function createSwimNode(config: SwimConfig, identity: SwimIdentity, rng: Rng, options: SwimOptions = {}): SwimNode {
  return new SwimNode(config, identity, rng, options);
}

export { SwimNode } from "./state.ts";
export type { BroadcastResult, MemberEvent, MemberEventType, MemberView, Output, SwimIdentity, SwimOptions } from "./state.ts";
export { type SwimConfig, defaultSwimConfig, pushPullInterval, retransmitLimit, suspicionBounds, swimConfig } from "./config.ts";
export * from "./messages.ts";
export { type DecodeError, type DecodeErrorCode, type DecodeResult, decodeMessage, decodeStream, encodeMessage, encodeStream, encodedSize } from "./codec.ts";
export { Suspicion } from "./suspicion.ts";
export { Awareness } from "./awareness.ts";
