/**
 * Time as a dependency: the wall clock (HLC stamps, deadlines people read),
 * a monotonic clock (protocol timers) and one-shot timers. The agent passes
 * the system's (platform/clock.ts); the cluster simulator passes virtual
 * time, which is what lets whole agents run thousands of schedules
 * deterministically.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Milliseconds on a clock that never goes back. */
  monotonic(): number;
  /** Runs `fn` once after `ms`; a pending timer never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): Timer;
}

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((r) => clock.setTimeout(r, ms));
}
