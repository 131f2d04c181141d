/**
 * fizz cp's tar handling without an engine: a packed tree unpacks to the same
 * bytes, modes and links; entries that would land outside the target (by
 * `..`, or through a symlink unpacked earlier) are refused.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { extractTo, packPath } from "../../../platform/engine/archive.ts";
import { mapEntryName } from "../../../core/engine/copy-plan.ts";

const root = mkdtempSync(join(tmpdir(), "fizz-archive-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("fizz cp archives", () => {
  test("pack then extract under a new name keeps bytes, modes, symlinks", async () => {
    const src = join(root, "src");
    mkdirSync(join(src, "d"), { recursive: true });
    writeFileSync(join(src, "f"), Buffer.from([0, 1, 2, 254, 255]));
    chmodSync(join(src, "f"), 0o604);
    chmodSync(join(src, "d"), 0o711);
    symlinkSync("../f", join(src, "d", "up"));
    const dest = join(root, "out");
    mkdirSync(dest);
    const plan = { into: dest, rename: { from: "src", to: "copy" } };
    const r = await extractTo(packPath(src, "src"), dest, { map: (n) => mapEntryName(n, plan, "src") });
    expect(r.entries).toBe(4);
    expect(readFileSync(join(dest, "copy", "f"))).toEqual(Buffer.from([0, 1, 2, 254, 255]));
    expect(lstatSync(join(dest, "copy", "f")).mode & 0o777).toBe(0o604);
    expect(lstatSync(join(dest, "copy", "d")).mode & 0o777).toBe(0o711);
    expect(readlinkSync(join(dest, "copy", "d", "up"))).toBe("../f");
  });

  test("an entry through an unpacked symlink is refused, and nothing is written outside", async () => {
    const outside = join(root, "outside");
    mkdirSync(outside);
    const dest = join(root, "evil");
    mkdirSync(dest);
    const tar = pack();
    tar.entry({ name: "x", type: "directory", mode: 0o755 });
    tar.entry({ name: "x/link", type: "symlink", linkname: outside });
    tar.entry({ name: "x/link/pwned", type: "file", mode: 0o644 }, "owned");
    tar.finalize();
    await expect(extractTo(tar, dest, { map: (n) => mapEntryName(n, { into: dest }, "x") })).rejects.toThrow(/outside/);
    expect(existsSync(join(outside, "pwned"))).toBe(false);
  });

  test("a '..' entry is refused by the name mapping", async () => {
    const dest = join(root, "dots");
    mkdirSync(dest);
    const tar = pack();
    tar.entry({ name: "x/../../escape", type: "file", mode: 0o644 }, "x");
    tar.finalize();
    await expect(extractTo(tar, dest, { map: (n) => mapEntryName(n, { into: dest }, "x") })).rejects.toThrow(/outside/);
    expect(existsSync(join(root, "escape"))).toBe(false);
  });
});
