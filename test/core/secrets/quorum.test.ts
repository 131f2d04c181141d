/**
 * The share-holder rules of core/secrets/quorum.ts that decide a re-split:
 * who is revoked when a node leaves (its node key, or a share of the current
 * generation held by a node that is no holder), and that minting a new
 * generation replaces every share, while the seal count still sees holders
 * of any generation.
 */
import { describe, expect, test } from "bun:test";
import { holderView, liveHolders, mintPlan, nodePoly, revocations, type Records } from "../../../core/secrets/quorum.ts";

const R = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
const share = (x: number, t: number, epoch?: number) => ({ type: "share" as const, x, t, ciphertext: "AAAA", commitment: "00", by: "n1", ...(epoch ? { epoch } : {}) });
const nodekey = { type: "nodekey" as const, recipient: R };

describe("share generations", () => {
  test("a node that left is revoked while it has a node key or a current-generation share; a share without a node key alone is not (a join in progress)", () => {
    const records: Records = [
      ["nodekey/n1", nodekey],
      ["nodekey/n2", nodekey],
      ["nodekey/n3", nodekey],
      ["share/n1", share(1, 2, 1)],
      ["share/n2", share(2, 2, 1)],
      ["share/n3", share(3, 2)],
      // minted for n4 at generation 1 by a node that had not heard n4 left (its node key is already gone)
      ["share/n4", share(4, 2, 1)],
      // an older generation's share of a node that left: useless, left alone
      ["share/n8", share(8, 2)],
      // minted for n9, which is joining: its node key has not arrived here yet
      ["share/n9", share(9, 2, 1)],
    ];
    const v = holderView(records);
    expect(revocations(v, new Set(["n3", "n4", "n8"]), 1)).toEqual(["n3", "n4"]);
    expect(revocations(v, new Set(["n4"]), 1)).toEqual(["n4"]);
    expect(revocations(v, new Set(), 1)).toEqual([]);
  });

  test("a new generation re-mints every holder's share; the seal count still counts holders whatever their generation", () => {
    const v = holderView([
      ["nodekey/n1", nodekey],
      ["nodekey/n2", nodekey],
      ["nodekey/n3", nodekey],
      ["share/n1", share(1, 2)],
      ["share/n2", share(2, 2)],
      ["share/n3", share(3, 2)],
    ]);
    expect(mintPlan(v, 2, 0)).toEqual([]);
    expect(mintPlan(v, 2, 1).map((m) => [m.node, m.x])).toEqual([["n1", 1], ["n2", 2], ["n3", 3]]);
    expect(liveHolders(v, new Set(["n1", "n2", "n3"]), 2)).toEqual(["n1", "n2", "n3"]);
    expect(nodePoly(0)).toBe("nodes");
    expect(nodePoly(2)).toBe("nodes\u00002");
  });
});
