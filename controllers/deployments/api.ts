/**
 * The deployments API (AgentBackend) of a node: reads from views.ts (and,
 * in a cluster, cluster-views.ts), changes through changes.ts.
 */
import type { AgentBackend, ContainerFilter, DeploymentInput, InspectTarget, LogsQuery } from "../../platform/api/backend.ts";
import type { DeploymentChanges } from "./changes.ts";
import type { ClusterViews } from "./cluster-views.ts";
import type { DeploymentViews } from "./views.ts";

export class DeploymentsApi implements AgentBackend {
  constructor(
    private readonly views: DeploymentViews,
    private readonly changes: DeploymentChanges,
    private readonly cluster: ClusterViews | undefined,
  ) {}

  async listDeployments() {
    const local = await this.views.listDeployments();
    return this.cluster ? this.cluster.deployments(local) : local;
  }

  async getDeployment(name: string) {
    const local = await this.views.getDeployment(name);
    if (!local) return this.cluster?.deployment(name);
    // Counted as `fizz ls` counts it: cluster-wide (this engine holds only this node's share).
    return this.cluster ? { ...local, ...this.cluster.deployments([local])[0] } : local;
  }

  putDeployment(name: string, input: DeploymentInput, signal: AbortSignal, from: { local: boolean; follow?: boolean } = { local: true }) {
    return this.changes.put(name, input, { local: from.local, follow: from.follow === true, signal });
  }

  deleteDeployment(name: string, opts: { readonly volumes: boolean }, signal: AbortSignal) {
    return this.changes.remove(name, opts, signal);
  }

  listServices(deployment: string | undefined) {
    return this.views.listServices(deployment);
  }

  async listContainers(f: ContainerFilter) {
    const local = await this.views.listContainers(f);
    return this.cluster ? this.cluster.containers(local, f) : local;
  }

  inspect(t: InspectTarget) {
    return this.views.inspect(t);
  }

  logs(q: LogsQuery, signal: AbortSignal) {
    return this.views.logs(q, signal);
  }

  scale(deployment: string, service: string, replicas: number, signal: AbortSignal) {
    return this.changes.scale(deployment, service, replicas, signal);
  }

  why(service: string, deployment: string | undefined) {
    return this.views.why(service, deployment);
  }

  rollback(deployment: string, service: string, signal: AbortSignal) {
    return this.changes.rollback(deployment, service, signal);
  }
}
