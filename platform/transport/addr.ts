/**
 * "host:port" strings (what SWIM keeps in its member list) to and from
 * {host, port}. IPv6 hosts are bracketed: "[fd00::1]:7946".
 */
import { FizzError } from "../../core/errors.ts";
import { formatAddr } from "./errors.ts";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export function parseAddr(s: string): HostPort {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(s) ?? /^([^\s:[\]]+):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new FizzError({
      code: "transport.bad_address",
      message: `${JSON.stringify(s)} is not a host:port address`,
      hint: "write it as 10.0.0.1:7946 or [fd00::1]:7946",
    });
  }
  return { host: m[1]!, port };
}

export function addrString(a: HostPort): string {
  return formatAddr(a.host, a.port);
}
