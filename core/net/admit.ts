/**
 * A deployment's networks checked against the cluster's claims before the
 * deployment is accepted (`fizz up` on any node), so a subnet another
 * deployment holds, one inside the node addresses, or a full range is
 * refused before anything is stored or changed. Replica addresses are
 * decided where the replicas land (core/net/assign.ts); a taken
 * ipv4_address is refused there, with nothing written.
 */
import type { Dict, HlcString } from "../crdt/index.ts";
import type { Project } from "../compose/model.ts";
import type { FizzError } from "../errors.ts";
import type { IpClaim } from "../state/schema.ts";
import { parseCidr } from "./cidr.ts";
import { resolveClaims } from "./claims.ts";
import type { IpamConfig } from "./ipam-config.ts";
import { pickSubnet } from "./ipam.ts";

const SPANNING = new Set(["bridge", "overlay"]);

/** The problems with the networks of `project` (deployed as `deploymentId`) given the claims now: one error per network. */
export function networkAdmission(table: Dict<IpClaim>, cfg: IpamConfig, deploymentId: string, project: Pick<Project, "networks" | "services">): { network: string; error: FizzError }[] {
  const used = new Set(Object.values(project.services).flatMap((s) => Object.keys(s.networks ?? {}).length ? Object.keys(s.networks) : s.network_mode ? [] : ["default"]));
  const work: Record<string, IpClaim> = Object.assign(Object.create(null) as Record<string, IpClaim>, table);
  const out: { network: string; error: FizzError }[] = [];
  let n = 0;
  for (const key of Object.keys(project.networks).sort()) {
    const net = project.networks[key]!;
    if (!used.has(key) || net.external || (net.driver && !SPANNING.has(net.driver))) continue;
    const s = net.ipam?.config?.[0]?.subnet;
    const requested = s && !s.includes(":") ? parseCidr(s) : undefined;
    if (requested && !requested.ok) continue; // fizz validate's error, at its line
    const p = pickSubnet(resolveClaims(work, cfg), cfg, deploymentId, key, requested?.value);
    if (!p.ok) {
      out.push({ network: key, error: p.error });
      continue;
    }
    // Later networks of the same file see this one's block as taken.
    if ("key" in p.value) work[p.value.key] = { epoch: 0, owner: p.value.owner, ts: `~admit${String(n++).padStart(6, "0")}` as HlcString, released: false };
  }
  return out;
}
