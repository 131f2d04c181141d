/**
 * An agent's data directory remembers the engine its deployments run on. An
 * agent started on another engine (by identity, core/engine/identity.ts)
 * would converge every stored deployment there: a second copy of each stack
 * on an engine nobody chose for it. So it refuses to start, naming both
 * engines, the deployments and the three ways on; `--adopt-engine` is the
 * explicit move. With no deployments stored, the new engine is simply recorded.
 * Pure: the caller reads and writes the record.
 */
import { FizzError } from "../errors.ts";
import { parseEngineIdentity, type EngineIdentity } from "./identity.ts";

export type RecordedEngineCheck =
  /** Start; write `current` as the record when `record` (first start, no deployments, or adopted). */
  | { readonly ok: true; readonly record: boolean; readonly adopted?: readonly string[] }
  | { readonly ok: false; readonly error: FizzError };

export interface RecordedEngineInput {
  /** The stored record (JSON), if any. */
  readonly recorded: string | undefined;
  readonly current: EngineIdentity;
  /** Names of the deployments the data directory holds. */
  readonly deployments: readonly string[];
  /** `fizz agent --adopt-engine`: move the deployments onto `current` on purpose. */
  readonly adopt: boolean;
  readonly dataDir: string;
}

export function readRecordedEngine(raw: string | undefined): EngineIdentity | undefined {
  if (!raw) return undefined;
  try {
    return parseEngineIdentity(JSON.parse(raw));
  } catch {
    return undefined;
  }
}

export function checkRecordedEngine(i: RecordedEngineInput): RecordedEngineCheck {
  const before = readRecordedEngine(i.recorded);
  if (!before) return { ok: true, record: true };
  if (before.id === i.current.id) return { ok: true, record: before.address !== i.current.address };
  if (i.deployments.length === 0) return { ok: true, record: true };
  if (i.adopt) return { ok: true, record: true, adopted: i.deployments };
  const list = i.deployments.slice(0, 5).join(", ") + (i.deployments.length > 5 ? ` and ${i.deployments.length - 5} more` : "");
  const n = i.deployments.length;
  return {
    ok: false,
    error: new FizzError({
      code: "agent.engine_changed",
      message:
        `the data directory ${i.dataDir} holds ${n} deployment${n === 1 ? "" : "s"} (${list}) that run on ${before.name} (${before.address}), ` +
        `but this agent was started on ${i.current.name} (${i.current.address}); it would recreate them there, so it did not start`,
      hint:
        `start it on their engine: fizz agent --engine ${before.address}; ` +
        `or give ${i.current.name} an agent of its own: fizz agent --engine ${i.current.address} --data-dir ${i.dataDir}-${i.current.name} --api unix:<another socket>; ` +
        `or move them onto ${i.current.name} on purpose: add --adopt-engine (their containers on ${before.name} are left as they are)`,
      exitCode: 1,
    }),
  };
}
