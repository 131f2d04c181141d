/** Network calls: create, inspect, list (by label), remove, connect, disconnect. */
import type { Transport } from "./transport.ts";
import { encodeFilters, type FilterInput } from "./filters.ts";
import type { EndpointSettings, NetworkCreateBody, NetworkInspect } from "./types.ts";

const subject = (name: string) => ({ kind: "network" as const, name });

export class Networks {
  constructor(private readonly t: Transport) {}

  create(body: NetworkCreateBody): Promise<{ Id: string; Warning?: string }> {
    return this.t.json({ method: "POST", path: "/networks/create", body, ctx: { action: "create network", subject: subject(body.Name) } });
  }

  inspect(nameOrId: string): Promise<NetworkInspect> {
    return this.t.json({ method: "GET", path: `/networks/${encodeURIComponent(nameOrId)}`, ctx: { action: "inspect network", subject: subject(nameOrId) } });
  }

  list(opts: FilterInput = {}): Promise<NetworkInspect[]> {
    return this.t.json({ method: "GET", path: "/networks", query: { filters: encodeFilters(opts) }, ctx: { action: "list networks" } });
  }

  async remove(nameOrId: string): Promise<void> {
    await this.t.empty({ method: "DELETE", path: `/networks/${encodeURIComponent(nameOrId)}`, ctx: { action: "remove network", subject: subject(nameOrId) } });
  }

  async connect(network: string, container: string, endpoint: EndpointSettings = {}): Promise<void> {
    await this.t.empty({
      method: "POST",
      path: `/networks/${encodeURIComponent(network)}/connect`,
      body: { Container: container, EndpointConfig: endpoint },
      ctx: { action: `connect container ${container} to network`, subject: subject(network) },
    });
  }

  async disconnect(network: string, container: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.t.empty({
      method: "POST",
      path: `/networks/${encodeURIComponent(network)}/disconnect`,
      body: { Container: container, Force: opts.force ?? false },
      ctx: { action: `disconnect container ${container} from network`, subject: subject(network) },
    });
  }
}
