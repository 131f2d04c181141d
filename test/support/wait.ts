/** Waiting helpers shared by the tests. */
import { FizzError } from "../../core/errors.ts";

/**
 * Polls `probe` until it yields a value (not undefined or false) and returns
 * it; a probe that throws counts as not yet. Fails naming `what` after `ms`.
 */
export async function until<T>(what: string, ms: number, probe: () => T | undefined | false | Promise<T | undefined | false>, everyMs = 20): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The FizzError `p` rejects with (anything else, or no failure, fails the test). */
export async function failure(p: Promise<unknown>): Promise<FizzError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FizzError) return e;
    throw e;
  }
  throw new Error("expected a failure");
}
