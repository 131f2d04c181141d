/**
 * What `fizz validate` says about a compose file's networks once it may run
 * across nodes: an external network exists on one node only (warned: in a
 * cluster, containers on other nodes are not on it); a subnet Fizz cannot
 * use (malformed, or a /31 or /32 on a network it spans), or one that
 * overlaps another network of the file, is an error; an
 * ipv4_address outside its network's subnet, on the subnet's network,
 * gateway or broadcast address, or on a service with more than one replica,
 * is an error with the fix. Everything else about addresses is decided at
 * deploy time (core/net/assign.ts), where taken addresses get the same kind of
 * error.
 */
import type { Diags } from "../compose/diagnostics.ts";
import type { Project } from "../compose/model.ts";
import { replicaCount } from "../compose/query.ts";
import { formatCidr, overlaps, parseCidr, parseIp, type Cidr } from "./cidr.ts";
import { checkFixedAddress } from "./ipam.ts";

/** Drivers whose networks Fizz spans across nodes (core/net/admit.ts reads them the same way). */
const SPANNING = new Set(["bridge", "overlay"]);

export function networkDiagnostics(project: Project, diags: Diags): void {
  const subnets = new Map<string, Cidr>();
  for (const [key, net] of Object.entries(project.networks)) {
    if (net.external) {
      diags.warn(["networks", key, "external"], "net.external_node_local", `external network ${net.name} exists on one node only: in a cluster, containers placed on other nodes are not on it`, "pin the services that use it to that node (deploy.placement.constraints), or let Fizz create the network (drop external) so it spans every node");
      continue;
    }
    const s = net.ipam?.config?.[0]?.subnet;
    if (s === undefined) continue;
    if (s.includes(":")) continue; // IPv6 subnets are the engine's business
    const r = parseCidr(s, `subnet of network ${key}`);
    if (!r.ok) {
      diags.error(["networks", key, "ipam", "config", 0, "subnet"], "net.invalid_cidr", r.error.message, r.error.hint);
      continue;
    }
    if (r.value.prefix > 30 && (!net.driver || SPANNING.has(net.driver))) {
      // The same refusal the deploy would give (core/net/ipam.ts pickSlice), here with the file's line.
      diags.error(["networks", key, "ipam", "config", 0, "subnet"], "net.subnet_too_small", `subnet ${formatCidr(r.value)} of network ${key} is too small to give containers addresses (it has no room beside its network, gateway and broadcast addresses)`, "use a /29 or larger subnet, or leave ipam.config.subnet out and Fizz picks a /24");
    }
    for (const [other, c] of subnets) {
      if (overlaps(c, r.value)) diags.error(["networks", key, "ipam", "config", 0, "subnet"], "net.subnet_overlap", `subnet ${formatCidr(r.value)} of network ${key} overlaps ${formatCidr(c)} of network ${other}`, "give each network its own subnet, or leave ipam.config.subnet out and Fizz picks free ones");
    }
    subnets.set(key, r.value);
  }
  for (const [name, svc] of Object.entries(project.services)) {
    for (const [key, cfg] of Object.entries(svc.networks)) {
      const a = cfg?.ipv4_address;
      if (!a) continue;
      const path = ["services", name, "networks", key, "ipv4_address"];
      const ip = parseIp(a);
      // A malformed address is already an error of the compose validator.
      if (ip === undefined) continue;
      if (replicaCount(svc) > 1) diags.error(path, "net.address_in_use", `service ${name} has ${replicaCount(svc)} replicas but one ipv4_address: they cannot all have it`, "remove ipv4_address, or run one replica");
      const subnet = subnets.get(key);
      if (!subnet) {
        if (project.networks[key] && !project.networks[key]!.external) diags.error(path, "net.address_without_subnet", `ipv4_address ${a} of service ${name} needs network ${key} to declare its subnet`, `add networks.${key}.ipam.config: [{subnet: …}] holding ${a}`);
        continue;
      }
      const bad = checkFixedAddress(subnet, ip, key, name);
      if (bad) diags.error(path, bad.code, bad.message, bad.hint);
    }
  }
}
