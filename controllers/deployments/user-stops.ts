/**
 * Services the user stopped by hand (`fizz stop`, `kill`, `rm`, `pause`) in a
 * deployment the agent keeps. As a Docker Compose user expects, what they
 * stopped stays stopped: the reconcile loop neither starts, recreates nor
 * unpauses those services, and the health monitor does not restart them,
 * until `fizz up` (any change of the deployment), `fizz start`, `restart`,
 * `unpause` or `fizz scale` of the service. Kept in this node's store, in the
 * meta table beside the deployment (forgotten with it); the CLI verbs act on
 * the engine of this node, so the record is this node's too.
 */
import { FizzError } from "../../core/errors.ts";
import type { AgentStore } from "../../platform/store/index.ts";
import { STOP_VERBS, type StopVerb, type UserStopped, type UserStopsBackend } from "../../platform/api/routes-user-stops.ts";
import { userStoppedKey, type DesiredStore } from "./desired.ts";

export function readUserStopped(store: Pick<AgentStore, "getMeta">, deployment: string): UserStopped {
  const raw = store.getMeta(userStoppedKey(deployment));
  if (!raw) return {};
  try {
    const o = JSON.parse(raw) as Record<string, unknown>;
    const out: Record<string, StopVerb> = {};
    for (const [k, v] of Object.entries(o)) if ((STOP_VERBS as readonly unknown[]).includes(v)) out[k] = v as StopVerb;
    return out;
  } catch {
    return {};
  }
}

function write(store: Pick<AgentStore, "setMeta">, deployment: string, v: UserStopped): void {
  store.setMeta(userStoppedKey(deployment), Object.keys(v).length ? JSON.stringify(v) : "");
}

export class UserStops implements UserStopsBackend {
  constructor(
    private readonly desired: DesiredStore,
    /** Resolves once a pass of the deployment under way has finished (none starts a held service after this). */
    private readonly settle: (deployment: string) => Promise<void>,
  ) {}

  has(deployment: string): boolean {
    return this.desired.has(deployment);
  }

  private services(deployment: string, named: readonly string[]): string[] | undefined {
    const rec = this.desired.get(deployment);
    if (!rec) return undefined;
    for (const s of named) {
      if (!Object.hasOwn(rec.spec.services, s)) throw new FizzError({ code: "api.not_found", message: `no service '${s.slice(0, 80)}' in deployment '${deployment}'`, status: 404 });
    }
    return named.length ? [...named] : Object.keys(rec.spec.services);
  }

  async stop(deployment: string, named: readonly string[], verb: StopVerb): Promise<UserStopped | undefined> {
    const services = this.services(deployment, named);
    if (!services) return undefined;
    const next = { ...readUserStopped(this.desired.store, deployment) };
    for (const s of services) next[s] = verb;
    write(this.desired.store, deployment, next);
    await this.settle(deployment);
    return next;
  }

  async resume(deployment: string, named: readonly string[]): Promise<UserStopped | undefined> {
    const services = this.services(deployment, named);
    if (!services) return undefined;
    const next = { ...readUserStopped(this.desired.store, deployment) };
    for (const s of services) delete next[s];
    write(this.desired.store, deployment, next);
    return next;
  }
}

/** `fizz up` of the deployment (every service), or `fizz scale` of one service: what they ask for runs again. */
export function clearUserStopped(store: Pick<AgentStore, "getMeta" | "setMeta">, deployment: string, service?: string): void {
  const before = readUserStopped(store, deployment);
  if (Object.keys(before).length === 0) return;
  if (service === undefined) return write(store, deployment, {});
  if (!(service in before)) return;
  const next = { ...before };
  delete next[service];
  write(store, deployment, next);
}
