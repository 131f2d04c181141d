/** interfaceExists reads this process's network namespace (/proc/self/net/dev), down interfaces included. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { interfaceExists } from "../../../platform/net/index.ts";

describe("interfaceExists", () => {
  test("every interface /proc/self/net/dev lists, and nothing else", () => {
    const names = readFileSync("/proc/self/net/dev", "utf8")
      .split("\n")
      .slice(2)
      .map((l) => l.split(":")[0]!.trim())
      .filter(Boolean);
    expect(names).toContain("lo");
    for (const n of names) expect(interfaceExists(n)).toBe(true);
    expect(interfaceExists("fzno-such-if0")).toBe(false);
    // A prefix of a real name is not that interface.
    expect(interfaceExists("l")).toBe(false);
  });

  test("names that cannot be interfaces are refused without reading anything", () => {
    for (const n of ["", "a b", "x".repeat(16), "lo:", "../lo", "lo\n"]) expect(interfaceExists(n)).toBe(false);
  });
});
