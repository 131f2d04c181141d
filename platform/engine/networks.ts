/** Network calls: create, inspect, list (by label), remove, connect, disconnect. */
import type { Transport } from "./transport.ts";
import { encodeFilters, type FilterInput } from "./filters.ts";
import type { EndpointSettings, NetworkCreateBody, NetworkInspect } from "./types.ts";

const subject = (name: string) => ({ kind: "network" as const, name });

/** Podman's network definition (libpod API, Podman 4+), the fields Fizz sets. */
export interface LibpodNetworkCreate {
  readonly name: string;
  readonly driver: "bridge";
  readonly network_interface?: string;
  readonly subnets: readonly { readonly subnet: string; readonly gateway?: string; readonly lease_range?: { readonly start_ip: string; readonly end_ip: string } }[];
  readonly internal?: boolean;
  readonly dns_enabled: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  readonly options?: Readonly<Record<string, string>>;
}

export class Networks {
  constructor(private readonly t: Transport) {}

  create(body: NetworkCreateBody): Promise<{ Id: string; Warning?: string }> {
    return this.t.json({ method: "POST", path: "/networks/create", body, ctx: { action: "create network", subject: subject(body.Name) } });
  }

  /**
   * Podman only: its own API, for what the compat one cannot say (compat
   * networks always run Podman's DNS, aardvark-dns or dnsname's dnsmasq, on
   * the gateway's port 53).
   */
  createLibpod(body: LibpodNetworkCreate): Promise<{ name?: string; id?: string }> {
    return this.t.json({ method: "POST", path: "/v4.0.0/libpod/networks/create", unversioned: true, body, ctx: { action: "create network", subject: subject(body.name) } });
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
