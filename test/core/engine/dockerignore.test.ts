import { describe, expect, test } from "bun:test";
import { canSkipDir, isIgnored, parseDockerignore } from "../../../core/engine/dockerignore.ts";

describe(".dockerignore", () => {
  const rules = parseDockerignore(["# comment", "", "node_modules", "*.log", "!keep.log", "/build/", "docs/**/*.md", "tmp?", "**/secret.txt"].join("\n"));

  test("comments and blank lines are not rules", () => {
    expect(rules.map((r) => r.pattern)).toEqual(["node_modules", "*.log", "keep.log", "build", "docs/**/*.md", "tmp?", "**/secret.txt"]);
  });
  test("a directory rule covers its contents", () => {
    expect(isIgnored(rules, "node_modules")).toBe(true);
    expect(isIgnored(rules, "node_modules/a/b.js")).toBe(true);
    expect(isIgnored(rules, "build/out.bin")).toBe(true);
  });
  test("* stays within a path segment; ** spans directories", () => {
    expect(isIgnored(rules, "app.log")).toBe(true);
    expect(isIgnored(rules, "sub/app.log")).toBe(false);
    expect(isIgnored(rules, "docs/a/b/c.md")).toBe(true);
    expect(isIgnored(rules, "docs/c.md")).toBe(true);
    expect(isIgnored(rules, "a/b/secret.txt")).toBe(true);
    expect(isIgnored(rules, "secret.txt")).toBe(true);
  });
  test("? is one character; exceptions win when later", () => {
    expect(isIgnored(rules, "tmp1")).toBe(true);
    expect(isIgnored(rules, "tmp12")).toBe(false);
    expect(isIgnored(rules, "keep.log")).toBe(false);
  });
  test("unmatched paths are kept", () => {
    expect(isIgnored(rules, "src/index.ts")).toBe(false);
    expect(isIgnored(rules, "Dockerfile")).toBe(false);
  });
  test("a directory with exceptions inside is walked, not skipped", () => {
    const r = parseDockerignore("vendor\n!vendor/keep\n");
    expect(canSkipDir(r, "vendor")).toBe(false);
    expect(isIgnored(r, "vendor/drop")).toBe(true);
    expect(isIgnored(r, "vendor/keep")).toBe(false);
    expect(canSkipDir(parseDockerignore("vendor\n"), "vendor")).toBe(true);
  });
});
