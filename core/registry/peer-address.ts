/**
 * Where a member's registry peer listener is. A node gossips the listener's
 * port in its SWIM metadata (the named port `registry`), so its peers learn
 * where to fetch from with the very alive message that announces it; the
 * host is the one of its gossip address. The replicated `p/<node>` record
 * (written once the listener runs; the only source when
 * `registry.peer_advertise` names another host) wins when present.
 *
 * Before the port rode in the metadata, a node could see a peer alive a
 * moment before that peer's record arrived, pick it as a digest's fetcher
 * and find no address: it fell back to the upstream without a word, and the
 * blob left the upstream twice (CI on 7a76421 and f7a235a).
 */
import { formatHostPort, parseHostPort } from "../address.ts";

export const REGISTRY_PORT_NAME = "registry";

/** The named port to merge into this node's gossiped metadata. */
export function registryMetaFields(port: number): { labels: Record<string, string>; ports: Record<string, number> } {
  return { labels: {}, ports: { [REGISTRY_PORT_NAME]: port } };
}

/** A member's peer registry address: its record, else its gossip host and gossiped port; undefined when it has neither. */
export function memberRegistryAddress(recorded: string | undefined, gossipAddress: string, ports: Readonly<Record<string, number>>): string | undefined {
  if (recorded) return recorded;
  const port = Object.prototype.hasOwnProperty.call(ports, REGISTRY_PORT_NAME) ? ports[REGISTRY_PORT_NAME] : undefined;
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const gossip = parseHostPort(gossipAddress);
  return gossip.ok ? formatHostPort(gossip.value.host, port) : undefined;
}
