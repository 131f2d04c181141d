/**
 * Recursive file watching for `fizz watch` (node:fs watch, which Bun and
 * Deno provide): every changed path under the roots is collected, and once
 * the roots have been quiet for `debounceMs` the batch is handed over with
 * whether each path still exists. Batches never overlap: changes that arrive
 * while one is being handled wait for the next.
 */
import { existsSync, statSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import type { Change } from "../../core/watch/index.ts";

export interface Watcher {
  close(): void;
}

export function watchTrees(roots: readonly string[], onBatch: (changes: Change[]) => Promise<void>, opts: { debounceMs?: number; onError?: (e: unknown) => void } = {}): Watcher {
  const debounceMs = opts.debounceMs ?? 500;
  const pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let closed = false;
  const flush = async () => {
    timer = undefined;
    if (running || closed || !pending.size) return;
    running = true;
    const batch = [...pending].sort().map((path) => ({ path, exists: existsSync(path) }));
    pending.clear();
    try {
      await onBatch(batch);
    } catch (e) {
      opts.onError?.(e);
    } finally {
      running = false;
      if (pending.size && !closed) schedule();
    }
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void flush(), debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    const isDir = statSync(root).isDirectory();
    const w = watch(root, { recursive: isDir }, (_event, name) => {
      const file = name ? (isDir ? join(root, String(name)) : root) : root;
      pending.add(file);
      schedule();
    });
    w.on("error", (e) => opts.onError?.(e));
    watchers.push(w);
  }
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
