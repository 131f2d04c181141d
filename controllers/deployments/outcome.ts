/** How a change to a deployment ended: on this node's pass (Applied) or everywhere it was followed (Outcome in follow.ts). */
import type { FizzError } from "../../core/errors.ts";

export interface ChangeEnd<Intent> {
  readonly deployment: string;
  readonly intent: Intent;
  readonly generation: number;
  readonly ok: boolean;
  /** Steps done, by kind (`createContainer: 2`). */
  readonly actions: Readonly<Record<string, number>>;
  readonly warnings: readonly string[];
  readonly error?: FizzError;
}
