import { describe, expect, test } from "bun:test";
import { HlcClock } from "../../../core/crdt/index.ts";
import {
  applyDelta,
  decodeDelta,
  deleteRegistryTag,
  dropHolder,
  emptyState,
  encodeDelta,
  encodeState,
  decodeState,
  heldBy,
  parseRegistryKey,
  putHolder,
  putRegistryPeer,
  putRegistryTag,
  registryHolders,
  registryPeerAddress,
  registryTags,
} from "../../../core/state/index.ts";

const D1 = "sha256:" + "1".repeat(64);
const D2 = "sha256:" + "2".repeat(64);

describe("the registry collection", () => {
  test("holders, peers and pushed tags, merged from two nodes", () => {
    const a = new HlcClock("nodea", 60_000);
    const b = new HlcClock("nodeb", 60_000);
    let s = emptyState();
    s = putHolder(s, a.now(1), "nodea", D1, 10).state;
    s = putHolder(s, b.now(2), "nodeb", D1, 10).state;
    s = putHolder(s, b.now(3), "nodeb", D2, 20).state;
    s = putRegistryPeer(s, a.now(4), "nodea", "10.0.0.1:7947").state;
    s = putRegistryTag(s, a.now(5), "team/app", "1", D1).state;
    s = putRegistryTag(s, b.now(6), "team/app", "1", D2).state;
    expect(registryHolders(s).get(D1)!.sort()).toEqual(["nodea", "nodeb"]);
    expect([...heldBy(s, "nodeb")].sort()).toEqual([D1, D2]);
    expect(registryPeerAddress(s, "nodea")).toBe("10.0.0.1:7947");
    expect(registryTags(s).map((t) => [t.repo, t.tag, t.digest])).toEqual([["team/app", "1", D2]]);
    s = dropHolder(s, a.now(7), "nodea", D1).state;
    s = deleteRegistryTag(s, a.now(8), "team/app", "1").state;
    expect(registryHolders(s).get(D1)).toEqual(["nodeb"]);
    expect(registryTags(s)).toEqual([]);
    // survives the wire and the store
    const back = decodeState(encodeState(s));
    expect(back.ok && registryHolders(back.value).get(D2)).toEqual(["nodeb"]);
  });

  test("keys are validated: traversal or garbage in a delta is a decode error", () => {
    const clock = new HlcClock("nodea", 60_000);
    const good = putHolder(emptyState(), clock.now(1), "nodea", D1, 1).delta;
    expect(decodeDelta(encodeDelta(good)).ok).toBe(true);
    for (const bad of [`h/sha256:../../x/nodea`, `t/../etc:1`, `p/`, `x/y`, `t/app:..bad`, `h/${D1}/nodea/extra`]) {
      const text = new TextDecoder().decode(encodeDelta(good)).replace(`h/${D1}/nodea`, bad);
      expect(decodeDelta(text).ok).toBe(false);
      expect(parseRegistryKey(bad)).toBeUndefined();
    }
    const wrongValue = new TextDecoder().decode(encodeDelta(putRegistryTag(emptyState(), clock.now(2), "app", "1", D1).delta)).replace(D1, "sha256:nope");
    expect(decodeDelta(wrongValue).ok).toBe(false);
  });

  test("a delta joins like the rest of the state (idempotent)", () => {
    const clock = new HlcClock("nodea", 60_000);
    const c = putHolder(emptyState(), clock.now(1), "nodea", D1, 5);
    const once = applyDelta(emptyState(), c.delta);
    expect(encodeState(applyDelta(once, c.delta))).toEqual(encodeState(once));
  });
});
