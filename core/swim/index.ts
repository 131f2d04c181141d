/**
 * SWIM membership with the Lifeguard extensions (local health multiplier,
 * dynamic suspicion, buddy system), as a pure state machine. The agent feeds it
 * UDP packets, TCP streams and clock ticks and sends what it drains; the
 * simulator in test/sim drives the very same code in virtual time.
 *
 * Driving a node (what platform/ + cmd/ do with real sockets):
 *   const node = createSwimNode(swimConfig(), {id, addr: "10.0.0.5:7946", meta}, createRng(seed), {userState});
 *   node.join(["10.0.0.1:7946"], now)                 // any reachable member will do
 *   UDP datagram in  → decodeMessage(bytes) → ok ? node.receive(fromAddr, msg, now) : drop+count
 *   TCP stream in    → decodeStream(frame)  → reply = node.receiveStream(fromAddr, msg, now)
 *                      → if reply: write encodeStream(reply) on the same connection
 *   timer            → node.tick(now); re-arm at node.nextWakeupMs()
 *   after every call → for (const o of node.drain()):
 *       "packet"  → udp.send(encodeMessage(o.message), o.to)           (≤ maxPacketBytes)
 *       "stream"  → connect o.to, write encodeStream(o.message), read the reply, pass it to
 *                   node.receiveStream(o.to, reply, now) and write *its* reply back, until undefined
 *                   (join/reconnect push-pull: request → response → final; periodic push-pull, digests
 *                   first: sync → scoped request → response → final; tcp-ping → tcp-ack)
 *       "event"   → membership change (join|suspect|alive|dead|left|update) for the CRDT/scheduler layers
 *       "deliver" → a user payload broadcast by another node (node.broadcast(bytes) sends one)
 *   node.leave(now), keep ticking ~1 s so the leave message spreads, then stop.
 */
import type { Rng } from "../random.ts";
import type { SwimConfig } from "./config.ts";
import { type SwimIdentity, SwimNode, type SwimOptions } from "./state.ts";

export function createSwimNode(config: SwimConfig, identity: SwimIdentity, rng: Rng, options: SwimOptions = {}): SwimNode {
  return new SwimNode(config, identity, rng, options);
}

export { SwimNode } from "./state.ts";
export type { BroadcastResult, MemberEvent, MemberEventType, MemberView, Output, SwimIdentity, SwimOptions } from "./state.ts";
export { createRng, type Rng } from "../random.ts";
export { type UserStateHook, noUserState } from "../gossip/hook.ts";
export { type SwimConfig, defaultSwimConfig, pushPullInterval, retransmitLimit, suspicionBounds, swimConfig } from "./config.ts";
export * from "./messages.ts";
export { type DecodeError, type DecodeErrorCode, type DecodeResult, decodeMessage, decodeStream, encodeMessage, encodeStream, encodedSize } from "./codec.ts";
export { Suspicion } from "./suspicion.ts";
export { Awareness } from "./awareness.ts";
