/**
 * "host:port" strings (what SWIM keeps in its member list) to and from
 * {host, port}, through core/address.ts. IPv6 hosts are bracketed: "[fd00::1]:7946".
 */
import { formatHostPort, parseHostPort, type HostPort } from "../../core/address.ts";
import { FizzError } from "../../core/errors.ts";

export type { HostPort };

export function parseAddr(s: string): HostPort {
  const r = parseHostPort(s);
  if (!r.ok) {
    throw new FizzError({
      code: "transport.bad_address",
      message: `${JSON.stringify(s)} is not a host:port address: ${r.why}`,
      hint: "write it as 10.0.0.1:7946 or [fd00::1]:7946",
    });
  }
  return r.value;
}

export function addrString(a: HostPort): string {
  return formatHostPort(a.host, a.port);
}
