/**
 * Keeps a plan and the health monitor off the same container at once.
 *
 * A recreate stops the old container, moves it aside and removes it once its
 * replacement runs. In between, the old one is an exited container of the
 * service, and the health monitor restarted it: on a cluster network, where a
 * replica's address belongs to the replica, the replacement then failed with
 * "Address already in use" and the update was rolled back.
 *
 * So a plan's executor holds each container it stops, renames or removes until
 * its run has settled (rollback included), and the monitor leaves a held
 * container alone; a plan's stop, rename or removal of a container first waits
 * for a monitor restart of it that is under way. Neither side waits on anything
 * else, so neither can deadlock (a per-deployment lock around the monitor's
 * restarts would, against a plan waiting for `service_healthy`).
 */
import type { ExecutorEngine } from "./executor.ts";

export class ContainersInHand {
  /** Container id → how many runs hold it. */
  private readonly held = new Map<string, number>();
  /** Container id → the monitor's restart of it under way. */
  private readonly restarting = new Map<string, Promise<void>>();

  /** True while a plan's run holds the container. */
  isHeld(id: string): boolean {
    return this.held.has(id);
  }

  /** Runs the monitor's restart of a container so that plans wait for it. */
  restart(id: string, run: () => Promise<void>): Promise<void> {
    const p = run().finally(() => {
      if (this.restarting.get(id) === p) this.restarting.delete(id);
    });
    this.restarting.set(id, p);
    return p;
  }

  /**
   * `inner` for one run (or several, one after another): containers it stops,
   * renames or removes are held until `settled`.
   */
  guard(inner: ExecutorEngine): ExecutorEngine {
    const mine: string[] = [];
    const take = async (id: string) => {
      this.held.set(id, (this.held.get(id) ?? 0) + 1);
      mine.push(id);
      // The monitor's restart, if one is under way, ends before the plan touches the container.
      await this.restarting.get(id)?.catch(() => undefined);
    };
    // Everything else is the inner executor's, with `this` bound to it.
    const guarded: ExecutorEngine = Object.create(inner);
    guarded.stopContainer = async (id, timeoutSeconds) => {
      await take(id);
      return inner.stopContainer(id, timeoutSeconds);
    };
    guarded.renameContainer = async (id, name) => {
      await take(id);
      return inner.renameContainer(id, name);
    };
    guarded.removeContainer = async (id, opts) => {
      await take(id);
      return inner.removeContainer(id, opts);
    };
    guarded.settled = () => {
      for (const id of mine.splice(0)) {
        const n = (this.held.get(id) ?? 1) - 1;
        if (n > 0) this.held.set(id, n);
        else this.held.delete(id);
      }
      inner.settled?.();
    };
    return guarded;
  }
}
