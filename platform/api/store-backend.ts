/**
 * A read-only AgentBackend over the store alone, used by `fizz agent` until
 * the engine-backed backend is wired in (see `makeBackend` in cmd/agent.ts,
 * the integration point). It serves what the store knows (deployments,
 * their services as declared) and reports no containers, because it observes
 * none; it never invents engine state. Changes answer 501.
 */
import { FizzError } from "../../core/errors.ts";
import type { AgentStore, DeploymentRecord } from "../store/index.ts";
import type { AgentBackend, DeploymentDetail, DeploymentSummary, ServiceView } from "./backend.ts";

const notWired = (what: string) =>
  new FizzError({
    status: 501,
    code: "agent.no_engine_backend",
    message: `${what} needs the engine backend, which this agent build does not wire in yet`,
  });

function servicesOf(spec: unknown): Record<string, Record<string, unknown>> {
  if (typeof spec !== "object" || spec === null) return {};
  const s = (spec as { services?: unknown }).services;
  return typeof s === "object" && s !== null && !Array.isArray(s) ? (s as Record<string, Record<string, unknown>>) : {};
}

function declaredReplicas(svc: Record<string, unknown>): number {
  const d = svc.deploy as { replicas?: unknown } | undefined;
  const r = d?.replicas ?? svc.scale;
  return typeof r === "number" && Number.isInteger(r) && r >= 0 ? r : 1;
}

export class StoreBackend implements AgentBackend {
  constructor(private readonly store: AgentStore) {}

  private services(rec: DeploymentRecord): ServiceView[] {
    const overrides = this.store.replicas(rec.name);
    return Object.entries(servicesOf(rec.spec)).map(([name, svc]) => ({
      deployment: rec.name,
      name,
      image: typeof svc.image === "string" ? svc.image : "",
      desired: overrides.get(name) ?? declaredReplicas(svc),
      running: 0,
      healthy: 0,
    }));
  }

  private summary(rec: DeploymentRecord): DeploymentSummary {
    const svcs = this.services(rec);
    return {
      name: rec.name,
      generation: rec.generation,
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
      services: svcs.length,
      running: 0,
      desired: svcs.reduce((n, s) => n + s.desired, 0),
    };
  }

  async listDeployments(): Promise<DeploymentSummary[]> {
    return this.store.listDeployments().map((r) => this.summary(r));
  }

  async getDeployment(name: string): Promise<DeploymentDetail | undefined> {
    const rec = this.store.getDeployment(name);
    return rec ? { ...this.summary(rec), spec: rec.spec, source: rec.source } : undefined;
  }

  async putDeployment(): Promise<never> {
    throw notWired("deploying");
  }

  async deleteDeployment(): Promise<never> {
    throw notWired("removing a deployment");
  }

  async listServices(deployment: string | undefined): Promise<ServiceView[] | undefined> {
    if (deployment === undefined) return this.store.listDeployments().flatMap((r) => this.services(r));
    const rec = this.store.getDeployment(deployment);
    return rec ? this.services(rec) : undefined;
  }

  async listContainers(): Promise<[]> {
    return [];
  }

  async inspect(t: Parameters<AgentBackend["inspect"]>[0]): Promise<unknown> {
    if (t.kind === "container") return undefined;
    const rec = this.store.getDeployment(t.deployment);
    const svc = rec ? this.services(rec).find((s) => s.name === t.service) : undefined;
    return svc ? { ...svc, spec: servicesOf(rec!.spec)[t.service], containers: [] } : undefined;
  }

  async logs(): Promise<never> {
    throw notWired("reading logs");
  }

  async scale(): Promise<never> {
    throw notWired("scaling");
  }
}
