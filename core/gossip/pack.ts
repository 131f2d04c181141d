/**
 * Packing a primary message plus piggybacked updates into one packet that
 * stays within the UDP budget (1,400 bytes by default, below common MTUs after
 * the encryption overhead added by platform/transport).
 */
import { COMPOUND_HEADER, encodedSize } from "../swim/codec.ts";
import type { Broadcast, Message } from "../swim/messages.ts";
import type { TransmitLimitedQueue } from "./queue.ts";

/**
 * Build the packet for `primary` (may be empty when only gossip is sent),
 * filling the rest of `maxBytes` from the queue. Returns undefined when there
 * is nothing to send.
 */
export function packCompound(
  primary: readonly Message[],
  queue: TransmitLimitedQueue<Broadcast>,
  maxBytes: number,
  limit: number,
): Message | undefined {
  let used = COMPOUND_HEADER;
  for (const m of primary) used += 2 + encodedSize(m);
  const extra = queue.take(maxBytes - used, limit);
  if (primary.length === 1 && extra.length === 0) return primary[0];
  if (primary.length === 0 && extra.length === 0) return undefined;
  return { type: "compound", parts: [...primary, ...extra] };
}
