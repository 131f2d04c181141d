import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import { ProjectFiles, utf8Length } from "../../../core/compose/reads.ts";
import { MAX_FILE_BYTES } from "../../../core/limits.ts";

describe("ProjectFiles: one gate for a load's reads", () => {
  test("each path is read once", () => {
    let calls = 0;
    const f = new ProjectFiles({ read: () => (calls++, "x") });
    expect(f.exists("/a")).toBe(true);
    expect(f.read("/a")).toEqual({ kind: "text", text: "x" });
    expect(calls).toBe(1);
  });

  test("a file over the size limit, the project budget and the file count are refused with the limit", () => {
    const f = new ProjectFiles({ read: (p) => (p === "/big" ? "é".repeat(6) : "abcd") }, { fileBytes: 10, projectBytes: 6, projectFiles: 3 });
    expect(f.read("/big", "env file")).toEqual({ kind: "error", code: "compose.file_too_large", message: "env file /big is 12 bytes, over the file size limit (10 bytes)", hint: "split it into smaller files" });
    expect(f.read("/a").kind).toBe("text");
    const r = f.read("/b");
    expect(r.kind === "error" && r.message).toBe("the project's total size, with file /b, is 8 bytes, over the project size limit (6 bytes)");
    const c = f.read("/c");
    expect(c.kind === "error" && c.message).toBe("the project's file count, with file /c, is more than 3 files, over the files per project limit (3 files)");
  });

  test("a NUL byte in a path never reaches the reader", () => {
    const f = new ProjectFiles({ read: () => { throw new Error("reached"); } });
    const r = f.read("/x\u0000y", "compose file");
    expect(r.kind === "error" && r.message).toBe("compose file path '/x\\u0000y' contains a NUL byte");
  });

  test("utf8Length counts like Buffer.byteLength", () => {
    for (const s of ["", "abc", "é", "€", "😀", "a\ud800b", "\udc00", "x😀é€"]) expect(utf8Length(s)).toBe(Buffer.byteLength(s));
  });
});

describe("the loader reports read failures where the path was written", () => {
  test("include with a NUL byte and an oversized include are located diagnostics", () => {
    const files: Record<string, string> = {
      "/p/compose.yaml": 'include:\n  - "a\\0b.yaml"\n  - big.yaml\nservices:\n  web:\n    image: busybox\n',
      "/p/big.yaml": "#".repeat(MAX_FILE_BYTES + 1),
    };
    const r = loadProject({ cwd: "/p", env: {}, reader: { read: (p) => files[p] } });
    const msgs = r.diagnostics.map((d) => d.message);
    expect(msgs).toContain("compose file path '/p/a\\u0000b.yaml' contains a NUL byte");
    expect(msgs).toContain(`compose file /p/big.yaml is ${MAX_FILE_BYTES + 1} bytes, over the file size limit (8 MiB)`);
  });
});
