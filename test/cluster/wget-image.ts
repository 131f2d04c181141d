/**
 * fizz-test/busybox-wget:1: the busybox fixture plus this host's GNU wget
 * and the libraries it links (ldd). The fixture's busybox is linked
 * statically against glibc, whose getaddrinfo cannot load the DNS module at
 * run time: its `wget http://api/` crashes (exit 139) on any DNS name, on a
 * plain Docker network too, while addresses and /etc/hosts names work. GNU
 * wget comes first on the fixture's PATH (/usr/bin before /bin). Built on
 * the host engine, a few MB, kept between runs like the fixtures.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { run } from "./shell.ts";

export const WGET_IMAGE = "fizz-test/busybox-wget:1";

export async function ensureWgetImage(): Promise<void> {
  if ((await run(["docker", "image", "inspect", WGET_IMAGE], { timeoutMs: 20_000 })).code === 0) return;
  const wget = (await run(["sh", "-c", "command -v wget"])).stdout.trim();
  if (!wget) throw new Error("GNU wget is needed on this host to build the test client image (apt-get install wget)");
  const libs = (await run(["ldd", wget])).stdout
    .split("\n")
    .map((l) => /(\/\S+) \(0x/.exec(l)?.[1] ?? /^\s*(\/\S+)/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined);
  const dir = mkdtempSync(join(tmpdir(), "fizz-wget-"));
  try {
    for (const f of [wget, ...libs]) {
      mkdirSync(join(dir, "root", dirname(f)), { recursive: true });
      copyFileSync(f, join(dir, "root", f));
    }
    writeFileSync(join(dir, "Dockerfile"), "FROM fizz-test/busybox:1\nCOPY root/ /\n");
    const r = await run(["docker", "build", "-q", "-t", WGET_IMAGE, dir], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`building ${WGET_IMAGE}: ${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
