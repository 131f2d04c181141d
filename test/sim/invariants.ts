/**
 * Invariants checked while a simulation runs, and the convergence check used
 * after faults stop. A violation throws a SimViolation whose message carries
 * the seed and the command that replays the run.
 */
import type { MemberEvent } from "../../core/swim/index.ts";
import type { Simulation } from "./sim.ts";

export class SimViolation extends Error {
  constructor(message: string, seed: number, replay: string) {
    super(`${message}\n  seed: ${seed}\n  replay: ${replay.replace("{seed}", String(seed))}`);
    this.name = "SimViolation";
  }
}

export class Invariants {
  /** False declarations observed while faults were active (allowed, but counted). */
  falseDeathsUnderFault = 0;
  private readonly lastIncarnation = new Map<string, number>();

  constructor(private readonly sim: Simulation) {}

  /** Called for every membership event of every node. */
  onEvent(observer: number, ev: MemberEvent, nowMs: number): void {
    const target = this.sim.indexOf(ev.member.id);
    if (ev.type === "dead" && ev.local && target !== undefined) {
      const t = this.sim.nodes[target];
      if (t !== undefined && !t.crashed && !t.leaving) {
        if (this.sim.faultyAt(nowMs)) this.falseDeathsUnderFault++;
        else this.sim.fail(`alive node ${ev.member.id} declared dead by n${observer} at ${nowMs.toFixed(1)} ms with no fault active`);
      }
    }
    // A node's own incarnation, as seen by itself, never goes backwards.
    if (target === observer) {
      const prev = this.lastIncarnation.get(ev.member.id) ?? 0;
      if (ev.member.incarnation < prev) this.sim.fail(`n${observer} incarnation went back from ${prev} to ${ev.member.incarnation}`);
      this.lastIncarnation.set(ev.member.id, ev.member.incarnation);
    }
  }

  /** Every running node sees every running node alive and every crashed/left node gone. */
  disagreements(limit = 5): string[] {
    const out: string[] = [];
    const nodes = this.sim.nodes;
    for (const a of nodes) {
      if (a.crashed || a.leaving) continue;
      for (const b of nodes) {
        if (a === b) continue;
        const v = a.swim.member(b.id);
        const st = v?.state;
        const ok = b.crashed ? st === undefined || st === "dead" || st === "left" : b.leaving ? st === undefined || st === "left" : st === "alive";
        if (!ok) {
          out.push(`n${a.index} sees ${b.id} as ${st ?? "unknown"} (it is ${b.crashed ? "crashed" : b.leaving ? "left" : "running"})`);
          if (out.length >= limit) return out;
        }
      }
    }
    return out;
  }

  /** Throw with the seed if the cluster has not converged. */
  assertConverged(): void {
    const d = this.disagreements();
    if (d.length > 0) this.sim.fail(`membership did not converge by ${this.sim.now} ms after faults stopped:\n    ${d.join("\n    ")}`);
  }
}
