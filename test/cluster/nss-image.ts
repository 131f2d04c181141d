/**
 * fizz-test/busybox-nss:1, the busybox fixture plus glibc's resolver
 * modules. The fixture's busybox is statically linked against glibc, whose
 * getaddrinfo loads NSS modules at run time: without them `wget http://api/`
 * crashes (exit 139) even on a plain Docker network, while nslookup and
 * addresses work. Built on the host engine from the host's own glibc (the
 * same build the static busybox came from), 2 MB, kept between runs.
 */
import { mkdtempSync, mkdirSync, copyFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./shell.ts";

export const NSS_IMAGE = "fizz-test/busybox-nss:1";

const LIBS = ["libnss_dns.so.2", "libnss_files.so.2", "libc.so.6", "libresolv.so.2"];
const LIB_DIRS = ["/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu"];

export async function ensureNssImage(): Promise<void> {
  if ((await run(["docker", "image", "inspect", NSS_IMAGE], { timeoutMs: 20_000 })).code === 0) return;
  const dir = mkdtempSync(join(tmpdir(), "fizz-nss-"));
  try {
    mkdirSync(join(dir, "root/lib/x86_64-linux-gnu"), { recursive: true });
    mkdirSync(join(dir, "root/lib64"), { recursive: true });
    mkdirSync(join(dir, "root/etc"), { recursive: true });
    for (const lib of LIBS) {
      const from = LIB_DIRS.map((d) => join(d, lib)).find((p) => existsSync(p));
      if (!from) throw new Error(`${lib} not found on this host (glibc's NSS modules)`);
      copyFileSync(from, join(dir, "root/lib/x86_64-linux-gnu", lib));
    }
    copyFileSync("/lib64/ld-linux-x86-64.so.2", join(dir, "root/lib64/ld-linux-x86-64.so.2"));
    writeFileSync(join(dir, "root/etc/nsswitch.conf"), "hosts: files dns\n");
    writeFileSync(join(dir, "Dockerfile"), "FROM fizz-test/busybox:1\nCOPY root/ /\n");
    const r = await run(["docker", "build", "-q", "-t", NSS_IMAGE, dir], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`building ${NSS_IMAGE}: ${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
