/**
 * platform/runtime.ts startMemoryGuard: once the process's RSS grows past what
 * the last collection left, the guard collects (and gives the memory back);
 * below its floor or growth it does nothing. Under Bun only (a no-op elsewhere).
 */
import { expect, test } from "bun:test";
import { startMemoryGuard } from "../../platform/runtime.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("collects once garbage that owns native memory piles up, and not before", async () => {
  const idle = startMemoryGuard({ intervalMs: 20, growthBytes: 512 * 1024 * 1024 });
  const guard = startMemoryGuard({ intervalMs: 20, growthBytes: 8 * 1024 * 1024, floorBytes: 0 });
  try {
    await sleep(100);
    const before = guard.collections();
    // 64 MB of buffers, touched so they are resident, then dropped: JSC's heap
    // sees only their small wrappers, so nothing else would collect them soon.
    let junk: Buffer[] | undefined = Array.from({ length: 64 }, () => Buffer.alloc(1024 * 1024, 1));
    expect(junk.length).toBe(64);
    junk = undefined;
    await sleep(200);
    expect(guard.collections()).toBeGreaterThan(before);
    expect(idle.collections()).toBe(0);
  } finally {
    guard.stop();
    idle.stop();
  }
});
