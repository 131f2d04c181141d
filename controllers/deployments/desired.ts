/**
 * This node's copy of the desired state: deployments (spec, generation,
 * source) and `fizz scale` overrides in the store's tables, and beside each
 * deployment in the meta table its latest intent, the intent this node last
 * applied, and the spec before the last change (what a failed `up` and
 * `fizz rollback` return to). In a cluster the placement controller mirrors
 * the cluster state into it on every pass.
 */
import type { Project } from "../../core/compose/model.ts";
import { intentFromJson, intentToJson, type DeployIntent } from "../../core/deploy/intent.ts";
import { versionOf, type AgentStore, type StoredDeployment } from "../../platform/store/index.ts";

export interface Desired {
  readonly name: string;
  readonly spec: Project;
  readonly generation: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly source: unknown;
  /** The latest change's intent. */
  readonly intent: DeployIntent | undefined;
}

const key = {
  intent: (n: string) => `intent:${n}`,
  applied: (n: string) => `applied:${n}`,
  previous: (n: string) => `previous_spec:${n}`,
  stopped: (n: string) => `user_stopped:${n}`,
};

/** Where the services the user stopped by hand are kept (user-stops.ts). */
export const userStoppedKey = key.stopped;

export class DesiredStore {
  constructor(readonly store: AgentStore) {}

  /** Parsed specs by name and generation: a spec is read from the store again only when it changed. */
  private readonly parsed = new Map<string, Desired>();

  get(name: string): Desired | undefined {
    const hit = this.parsed.get(name);
    if (hit) {
      const version = this.store.deploymentVersion(name);
      if (version === versionOf(hit.generation, hit.createdAt, hit.updatedAt)) return { ...hit, intent: this.intent(name) };
      if (version === undefined) {
        this.parsed.delete(name);
        return undefined;
      }
    }
    const r = this.store.getDeployment(name);
    return r ? this.of(r) : undefined;
  }

  list(): Desired[] {
    const out: Desired[] = [];
    const seen = new Set<string>();
    for (const [name, generation] of this.store.deploymentGenerations()) {
      seen.add(name);
      const hit = this.parsed.get(name);
      // A deployment deleted and made again starts over at generation 1: the row's times tell it apart.
      if (hit && hit.generation === generation && this.store.deploymentVersion(name) === versionOf(hit.generation, hit.createdAt, hit.updatedAt)) out.push({ ...hit, intent: this.intent(name) });
      else {
        const r = this.store.getDeployment(name);
        if (r) out.push(this.of(r));
      }
    }
    for (const k of this.parsed.keys()) if (!seen.has(k)) this.parsed.delete(k);
    return out;
  }

  /** Every deployment's name and version, with its overrides: equal keys, equal desired state. */
  fingerprint(): string {
    return this.store
      .deploymentVersions()
      .map(([n, v]) => `${n}@${v}:${[...this.store.replicas(n)].join()}`)
      .join(";");
  }

  /** The stored spec's version (generation and row times: `versionOf`); changes with every put, and tells a deployment made again from the one removed. */
  version(name: string): string | undefined {
    return this.store.deploymentVersion(name);
  }

  has(name: string): boolean {
    return this.store.deploymentGenerations().some(([n]) => n === name);
  }

  names(): string[] {
    return this.store.deploymentGenerations().map(([n]) => n);
  }

  private of(r: StoredDeployment): Desired {
    const d: Desired = { name: r.name, spec: r.spec as Project, generation: r.generation, createdAt: r.createdAt, updatedAt: r.updatedAt, source: r.source, intent: this.intent(r.name) };
    this.parsed.set(r.name, d);
    return d;
  }

  /**
   * Stores a deployment's spec with the intent to apply it. A changed spec
   * keeps the one it replaces as `previous` (an unchanged put keeps the older one).
   */
  put(name: string, spec: Project, source: unknown, intent: DeployIntent | undefined, now: number): Desired {
    // One transaction: a crash never leaves the new spec without its intent or the spec it replaced.
    const rec = this.store.transaction(() => {
      const before = this.store.getDeployment(name);
      if (before && JSON.stringify(before.spec) !== JSON.stringify(spec)) this.store.setMeta(key.previous(name), JSON.stringify(before.spec));
      const r = this.store.putDeployment(name, spec, source, now);
      this.store.setMeta(key.intent(name), intent ? JSON.stringify(intentToJson(intent)) : "");
      return r;
    });
    return this.of(rec);
  }

  /** Sets the intent alone (the spec did not change: a scale). */
  setIntent(name: string, intent: DeployIntent): void {
    this.store.setMeta(key.intent(name), JSON.stringify(intentToJson(intent)));
  }

  intent(name: string): DeployIntent | undefined {
    const raw = this.store.getMeta(key.intent(name));
    if (!raw) return undefined;
    // Every pass reads it; it is parsed again only when its stored text changed.
    const hit = this.intents.get(name);
    if (hit?.raw === raw) return hit.intent;
    let intent: DeployIntent | undefined;
    try {
      intent = intentFromJson(JSON.parse(raw));
    } catch {
      intent = undefined;
    }
    this.intents.set(name, { raw, intent });
    return intent;
  }

  private readonly intents = new Map<string, { readonly raw: string; readonly intent: DeployIntent | undefined }>();

  /** The intent this node applied last (or tried to: a failed one is not retried). */
  applied(name: string): string | undefined {
    return this.store.getMeta(key.applied(name)) || undefined;
  }

  markApplied(name: string, intent: string): void {
    this.store.setMeta(key.applied(name), intent);
  }

  /** The latest intent, when this node has not applied it yet. */
  pending(name: string): DeployIntent | undefined {
    const i = this.intent(name);
    return i && i.id !== this.applied(name) ? i : undefined;
  }

  previous(name: string): Project | undefined {
    const raw = this.store.getMeta(key.previous(name));
    return raw ? (JSON.parse(raw) as Project) : undefined;
  }

  setPrevious(name: string, spec: Project | undefined): void {
    this.store.setMeta(key.previous(name), spec ? JSON.stringify(spec) : "");
  }

  /** Forgets a deployment: spec, overrides, intent and history. */
  delete(name: string): boolean {
    return this.store.transaction(() => {
      const existed = this.store.deleteDeployment(name);
      for (const k of Object.values(key)) this.store.setMeta(k(name), "");
      return existed;
    });
  }

  replicas(name: string): Map<string, number> {
    return this.store.replicas(name);
  }

  setReplicas(name: string, service: string, n: number): void {
    this.store.setReplicas(name, service, n);
  }

  clearReplicas(name: string, service: string): boolean {
    return this.store.clearReplicas(name, service);
  }
}
