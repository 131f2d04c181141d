import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseHostPort } from "../../../core/address.ts";
import { memberRegistryAddress, REGISTRY_PORT_NAME, registryMetaFields } from "../../../core/registry/index.ts";

describe("a member's registry peer address", () => {
  test("the replicated record wins; else the gossip host with the gossiped port; else none", () => {
    const ports = registryMetaFields(7947).ports;
    expect(memberRegistryAddress("203.0.113.9:9000", "10.0.0.5:7946", ports)).toBe("203.0.113.9:9000");
    expect(memberRegistryAddress(undefined, "10.0.0.5:7946", ports)).toBe("10.0.0.5:7947");
    expect(memberRegistryAddress(undefined, "[fd00::5]:7946", ports)).toBe("[fd00::5]:7947");
    // A node without a registry (or an older agent before its record arrives) gossips no such port.
    expect(memberRegistryAddress(undefined, "10.0.0.5:7946", { mesh: 51820 })).toBeUndefined();
    expect(memberRegistryAddress(undefined, "10.0.0.5:7946", {})).toBeUndefined();
  });

  test("a gossiped port that is not a port, or a gossip address that does not parse, gives no address", () => {
    for (const p of [0, -1, 65536, 1.5, Number.NaN]) expect(memberRegistryAddress(undefined, "10.0.0.5:7946", { [REGISTRY_PORT_NAME]: p })).toBeUndefined();
    expect(memberRegistryAddress(undefined, "not an address", registryMetaFields(7947).ports)).toBeUndefined();
    // An inherited name is not a gossiped port.
    expect(memberRegistryAddress(undefined, "10.0.0.5:7946", Object.create({ [REGISTRY_PORT_NAME]: 7947 }) as Record<string, number>)).toBeUndefined();
  });

  test("property: without a record, the address is the gossip host and the gossiped port", () => {
    const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain());
    fc.assert(
      fc.property(host, fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }), (h, gossipPort, registryPort) => {
        const gossip = h.includes(":") ? `[${h}]:${gossipPort}` : `${h}:${gossipPort}`;
        const got = memberRegistryAddress(undefined, gossip, registryMetaFields(registryPort).ports);
        const parsed = parseHostPort(got ?? "");
        expect(parsed.ok && parsed.value).toEqual({ host: h, port: registryPort });
      }),
    );
  });
});
