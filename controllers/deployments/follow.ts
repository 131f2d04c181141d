/**
 * Following one change to its end. The API stores a change with its intent
 * and returns; this follows it: this node's pass that applies the intent,
 * in a cluster every live member's (their `applied` records), then with
 * `--wait` until everything runs and is healthy. The end is one event,
 * `deployment.converged`, `deployment.ready` or `deployment.failed`, with the
 * intent id in its data: what `fizz up` waits for, and what the API answers
 * `scale`, `rollback` and `down` with.
 */
import type { DeployIntent } from "../../core/deploy/intent.ts";
import { sleep, type Clock } from "../../core/clock.ts";
import { FizzError } from "../../core/errors.ts";
import type { AgentEvent } from "../event-log.ts";
import type { Applied } from "./reconciler.ts";
import type { ChangeEnd } from "./outcome.ts";

/** A change still waiting after this long says what for, and again as often. */
const WAITING_NOTE_MS = 5000;

/** How a followed change ended (the intent by its id). */
export type Outcome = ChangeEnd<string>;

/** What following needs from the cluster, when this node is in one. */
export interface ClusterFollow {
  active(): boolean;
  /** Members that have not applied `intent` yet (by name), and the first failure reported, if any. */
  pending(deployment: string, intent: string): { waiting: string[]; failed?: { node: string; message: string; superseded?: boolean } };
  /**
   * Placed replicas not created from the current spec yet (a rolling update still under way), by name; and
   * replicas that fit no node, each with why ("web #1 (ConstraintMismatch: …: 3 nodes)").
   */
  outdated(deployment: string): { readonly updating: readonly string[]; readonly unplaceable: readonly string[] };
  /** Resolves when every placed replica runs the current spec (healthy where it has a check). */
  waitRunning(deployment: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
}

export interface FollowDeps {
  readonly emit: (e: AgentEvent) => void;
  /** Single node: resolves when the deployment's containers are running and healthy. */
  readonly waitReady: (deployment: string, timeoutMs: number, signal: AbortSignal) => Promise<void>;
  readonly cluster?: ClusterFollow;
  readonly now: () => number;
  readonly clock: Clock;
  /** How often a cluster-wide wait looks again (ms). */
  readonly pollMs: number;
}

interface Waiter {
  readonly intent: string;
  readonly resolve: (a: Applied) => void;
  readonly reject: (e: FizzError) => void;
}

export class Follower {
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(private readonly d: FollowDeps) {}

  /** A pass applied (or failed) an intent here: its waiters go on, and those of older intents learn they were superseded. */
  applied(a: Applied): void {
    const list = this.waiters.get(a.deployment) ?? [];
    this.waiters.delete(a.deployment);
    for (const w of list) {
      if (w.intent === a.intent.id) w.resolve(a);
      else w.reject(superseded(a.deployment));
    }
  }

  /** The deployment left this node before its intent was applied. */
  removed(deployment: string): void {
    for (const w of this.waiters.get(deployment) ?? []) w.reject(new FizzError({ code: "deploy.removed", message: `deployment ${deployment} was removed before the change was applied`, status: 409 }));
    this.waiters.delete(deployment);
  }

  private appliedHere(deployment: string, intent: string): Promise<Applied> {
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(deployment) ?? [];
      list.push({ intent, resolve, reject });
      this.waiters.set(deployment, list);
    });
  }

  /**
   * Follows `intent` on `deployment` to its end and records that end as an
   * event. Call it before waking the reconciler, so the pass cannot be missed.
   */
  follow(deployment: string, intent: DeployIntent, o: { generation: number; wait: boolean; timeoutMs: number; warnings: readonly string[]; signal?: AbortSignal; onAppliedHere?: () => void }): Promise<Outcome> {
    const here = this.appliedHere(deployment, intent.id);
    if (o.onAppliedHere) here.then(o.onAppliedHere, o.onAppliedHere);
    return this.run(deployment, intent, here, o).then(
      (out) => {
        this.d.emit({
          type: o.wait ? "deployment.ready" : "deployment.converged",
          deployment,
          message: `${deployment}: ${o.wait ? "running and healthy" : "converged"} (generation ${o.generation})`,
          data: { intent: intent.id, kind: intent.kind, generation: o.generation, actions: out.actions, warnings: out.warnings },
        });
        return out;
      },
      (e: unknown) => {
        const err = e instanceof FizzError ? e : new FizzError({ code: "deploy.failed", message: e instanceof Error ? e.message : String(e) });
        this.d.emit({
          type: "deployment.failed",
          deployment,
          message: `${deployment}: ${err.message}`,
          data: { intent: intent.id, kind: intent.kind, generation: o.generation, error: err.toJSON() },
        });
        return { deployment, intent: intent.id, generation: o.generation, ok: false, actions: {}, warnings: o.warnings, error: err };
      },
    );
  }

  private async run(deployment: string, intent: DeployIntent, here: Promise<Applied>, o: { generation: number; wait: boolean; timeoutMs: number; warnings: readonly string[]; signal?: AbortSignal }): Promise<Outcome> {
    const a = await here;
    if (!a.ok) throw a.error ?? new FizzError({ code: "deploy.failed", message: `applying the change to ${deployment} failed` });
    const deadline = this.d.now() + o.timeoutMs;
    const signal = o.signal ?? new AbortController().signal;
    const cluster = this.d.cluster?.active() ? this.d.cluster : undefined;
    const unplaceable: string[] = [];
    if (cluster) {
      let nextNote = this.d.now() + WAITING_NOTE_MS;
      for (;;) {
        const p = cluster.pending(deployment, intent.id);
        // Someone else's later change won (two `fizz up` at once): nothing of this one was reverted, the other runs.
        if (p.failed?.superseded) throw new FizzError({ code: "deploy.superseded", message: `a later change to ${deployment} replaced this one; that change is what the cluster runs`, hint: "`fizz events` shows which; run fizz up again to make this one the latest", status: 409 });
        if (p.failed) {
          throw new FizzError({
            code: "deploy.failed_on_node",
            message: `${p.failed.node}: ${p.failed.message}`,
            hint: "the change was reverted on every node; `fizz events` on that node shows each step",
          });
        }
        // Every member applied it, and a rolling update it started has reached every replica (or rolled back: failed above).
        const o2 = p.waiting.length ? undefined : cluster.outdated(deployment);
        const left = o2 ? [...o2.updating] : p.waiting.map((n) => `${n} (not applied yet)`);
        if (!left.length) {
          // Replicas that fit no node: waiting changes nothing until one fits (a node joins, labels or room change).
          // Said, not waited for: `up -d` ends with a warning and the replicas start when a node fits, as after
          // `docker stack deploy`; `up --wait`, which asks for every replica running, fails now rather than time out.
          if (o2?.unplaceable.length) {
            const n = o2.unplaceable.length;
            const what = `${n} ${n === 1 ? "replica fits" : "replicas fit"} no node`;
            const services = [...new Set(o2.unplaceable.map((u) => u.slice(0, u.indexOf(" #"))))];
            const why = services.map((svc) => `\`fizz why ${svc}\``).join(", ");
            const list = `${o2.unplaceable.slice(0, 10).join(", ")}${n > 10 ? ` and ${n - 10} more` : ""}`;
            if (o.wait) throw new FizzError({ code: "deploy.unplaceable", message: `not every replica of ${deployment} can run: ${what}: ${list}`, hint: `${why} explains it; change deploy.placement (constraints, max_replicas_per_node, reservations) or the nodes (cluster.labels, more nodes)`, status: 409 });
            unplaceable.push(`${what} and ${n === 1 ? "stays" : "stay"} pending until one fits: ${list}; ${why} ${services.length === 1 ? "explains it" : "explain them"}`);
          }
          break;
        }
        // Said every few seconds, so a long wait says what it waits for (`fizz events`, the agent's log).
        if (this.d.now() >= nextNote) {
          nextNote = this.d.now() + WAITING_NOTE_MS;
          this.d.emit({ type: "deployment.waiting", deployment, message: `${deployment}: the change waits for ${left.slice(0, 10).join(", ")}${left.length > 10 ? ` and ${left.length - 10} more` : ""}`, data: { intent: intent.id, waiting: left.slice(0, 50) } });
        }
        if (this.d.now() > deadline) {
          throw new FizzError({ code: "deploy.wait_timeout", message: `the change to ${deployment} is not done after ${Math.round(o.timeoutMs / 1000)}s: ${left.slice(0, 10).join(", ")}`, hint: "see `fizz why <service>`, `fizz nodes` and `fizz events`", status: 504 });
        }
        await sleep(this.d.clock, this.d.pollMs);
      }
    }
    if (o.wait) {
      const left = Math.max(1000, deadline - this.d.now());
      if (cluster) {
        await cluster.waitRunning(deployment, left, signal);
        // Every replica runs the current spec: if the update failed meanwhile (its last batch failed its healthcheck
        // after every replica had it), the current spec is the one its rollback brought back, and `up --wait` said
        // it had deployed, running and healthy.
        const p = cluster.pending(deployment, intent.id);
        if (p.failed && !p.failed.superseded) throw new FizzError({ code: "deploy.failed_on_node", message: `${p.failed.node}: ${p.failed.message}`, hint: "the change was reverted on every node; `fizz events` on that node shows each step" });
      } else await this.d.waitReady(deployment, left, signal);
    }
    return { deployment, intent: intent.id, generation: o.generation, ok: true, actions: a.actions, warnings: [...o.warnings, ...a.warnings, ...unplaceable] };
  }
}

function superseded(deployment: string): FizzError {
  return new FizzError({ code: "deploy.superseded", message: `a later change to ${deployment} replaced this one before it was applied`, hint: "`fizz events` shows which", status: 409 });
}
