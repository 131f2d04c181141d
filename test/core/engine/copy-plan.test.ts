import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { archivePath, mapEntryName, parseCpArg, planCopy } from "../../../core/engine/copy-plan.ts";

describe("fizz cp path rules (docker cp's)", () => {
  test("which side is the container", () => {
    expect(parseCpArg("web:/etc/hosts")).toEqual({ kind: "container", service: "web", path: "/etc/hosts" });
    expect(parseCpArg("web:")).toEqual({ kind: "container", service: "web", path: "/" });
    expect(parseCpArg("./a:b")).toEqual({ kind: "local", path: "./a:b" });
    expect(parseCpArg("/x:y")).toEqual({ kind: "local", path: "/x:y" });
    expect(parseCpArg("C:\\data")).toEqual({ kind: "local", path: "C:\\data" });
    expect(parseCpArg("-")).toEqual({ kind: "stream" });
    expect(parseCpArg("file.txt")).toEqual({ kind: "local", path: "file.txt" });
  });

  test("into an existing directory, onto a new name, onto a file, contents of dir/.", () => {
    expect(planCopy("/src/tree", true, "tree", "/dst", "dir", "dir")).toEqual({ ok: true, plan: { into: "/dst" } });
    expect(planCopy("/src/tree", true, "tree", "/dst/new", "missing", "dir")).toEqual({ ok: true, plan: { into: "/dst", rename: { from: "tree", to: "new" } } });
    expect(planCopy("/src/a.txt", false, "a.txt", "/dst/b.txt", "other", "dir")).toEqual({ ok: true, plan: { into: "/dst", rename: { from: "a.txt", to: "b.txt" } } });
    expect(planCopy("/src/tree/.", true, "tree", "/dst", "dir", "dir")).toEqual({ ok: true, plan: { into: "/dst", contentsOnly: true } });
    expect(planCopy("/src/tree/.", true, "tree", "/dst/new", "missing", "dir")).toEqual({ ok: true, plan: { into: "/dst", rename: { from: "tree", to: "new" } } });
    expect(planCopy("/src/tree", true, "tree", "/dst/file", "other", "dir").ok).toBe(false);
    expect(planCopy("/src/a", false, "a", "/nope/b", "missing", "missing").ok).toBe(false);
    expect(planCopy("/src/a", false, "a", "/dst/newdir/", "missing", "dir").ok).toBe(false);
    expect(planCopy("/src/a/.", false, "a", "/dst", "dir", "dir").ok).toBe(false);
    expect(archivePath("/src/tree/.")).toBe("/src/tree");
  });

  test("entry names are renamed or stripped, and never leave the target", () => {
    const plan = { into: "/d", rename: { from: "tree", to: "new" } };
    expect(mapEntryName("tree/a/b", plan, "tree")).toBe("new/a/b");
    expect(mapEntryName("./tree/x", plan, "tree")).toBe("new/x");
    expect(mapEntryName("tree/../../etc/passwd", plan, "tree")).toBeUndefined();
    expect(mapEntryName("tree/sub", { into: "/d", contentsOnly: true }, "tree")).toBe("sub");
    expect(mapEntryName("other/sub", { into: "/d", contentsOnly: true }, "tree")).toBeUndefined();
    fc.assert(
      fc.property(fc.array(fc.constantFrom("a", "..", ".", "", "tree", "x/y"), { maxLength: 6 }), (parts) => {
        const m = mapEntryName(parts.join("/"), plan, "tree");
        return m === undefined || !m.split("/").includes("..");
      }),
    );
  });
});
