import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extract } from "tar-stream";
import { contextEntries, packContext } from "../../../platform/engine/build-context.ts";

const dir = mkdtempSync(join(tmpdir(), "fizz-ctx-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(rel: string, text: string) {
  mkdirSync(join(dir, rel, ".."), { recursive: true });
  writeFileSync(join(dir, rel), text);
}

write("Dockerfile", "FROM fizz-test/busybox:1\nCOPY . /app\n");
write(".dockerignore", "node_modules\n*.log\n!keep.log\nDockerfile\n");
write("app/main.sh", "echo hi\n");
write("node_modules/x/index.js", "x");
write("debug.log", "noise");
write("keep.log", "signal");

describe("build context", () => {
  test(".dockerignore is honoured, but the Dockerfile and .dockerignore always go", () => {
    const paths = contextEntries(dir).map((e) => e.path);
    expect(paths).toEqual([".dockerignore", "Dockerfile", "app", "app/main.sh", "keep.log"]);
  });

  test("the tar stream holds exactly those entries with their content", async () => {
    const got = new Map<string, string>();
    const ex = extract();
    const done = new Promise<void>((resolve, reject) => {
      ex.on("entry", (header, stream, next) => {
        let text = "";
        stream.on("data", (c: unknown) => void (text += String(c)));
        stream.on("end", () => {
          got.set(header.name, header.type === "directory" ? "<dir>" : text);
          next();
        });
      });
      ex.on("finish", resolve);
      ex.on("error", reject);
    });
    packContext(dir).pipe(ex);
    await done;
    expect([...got.keys()]).toEqual([".dockerignore", "Dockerfile", "app", "app/main.sh", "keep.log"]);
    expect(got.get("app/main.sh")).toBe("echo hi\n");
  });
});

describe("a hostile .dockerignore (issue 18: bounded reads)", () => {
  test("a .dockerignore that is a fifo is an error naming it, not a hang", () => {
    const other = mkdtempSync(join(tmpdir(), "fizz-ctx-fifo-"));
    try {
      writeFileSync(join(other, "Dockerfile"), "FROM x\n");
      execFileSync("mkfifo", [join(other, ".dockerignore")]);
      expect(() => contextEntries(other)).toThrow(`.dockerignore ${join(other, ".dockerignore")} is not a regular file (it is a fifo)`);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
