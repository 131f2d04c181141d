/**
 * Socket errors (errno codes from node:net / node:dgram) turned into FizzErrors
 * that say which address, what it means for fizz, and what to do.
 */
import { formatHostPort } from "../../core/address.ts";
import { FizzError } from "../../core/errors.ts";

export interface SocketOp {
  readonly op: "listen" | "connect" | "send" | "read";
  readonly proto: "UDP" | "TCP";
  readonly host: string;
  readonly port: number;
}


export const formatAddr = formatHostPort;

function errno(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err && typeof (err as { code: unknown }).code === "string") {
    return (err as { code: string }).code;
  }
  return undefined;
}

export function socketError(err: unknown, at: SocketOp): FizzError {
  if (err instanceof FizzError) return err;
  const addr = formatAddr(at.host, at.port);
  const code = errno(err);
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case "EADDRINUSE":
      return new FizzError({
        code: "transport.address_in_use",
        message: `cannot listen on ${addr} (${at.proto}): address already in use`,
        hint: "another fizz agent or program holds this port; stop it or choose another bind address/port",
        cause: err,
      });
    case "EADDRNOTAVAIL":
      return new FizzError({
        code: "transport.address_not_available",
        message: `cannot ${at.op === "listen" ? "listen on" : "use"} ${addr} (${at.proto}): that address is not on this machine`,
        hint: "bind to an address of one of this machine's interfaces, or 0.0.0.0",
        cause: err,
      });
    case "EACCES":
    case "EPERM":
      return new FizzError({
        code: "transport.permission_denied",
        message: `not permitted to ${at.op} ${addr} (${at.proto})`,
        hint: at.port > 0 && at.port < 1024 ? "ports below 1024 need root or CAP_NET_BIND_SERVICE; use a higher port" : undefined,
        cause: err,
      });
    case "ECONNREFUSED":
      return new FizzError({
        code: "transport.connection_refused",
        message: `no fizz agent listening at ${addr}`,
        hint: "check the address and port, and that `fizz` is running there",
        cause: err,
      });
    case "ETIMEDOUT":
      return connectTimeout(at.host, at.port, err);
    case "ECONNRESET":
    case "EPIPE":
      return new FizzError({ code: "transport.connection_reset", message: `the connection to ${addr} was reset by the peer`, cause: err });
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new FizzError({
        code: "transport.unreachable",
        message: `${addr} is unreachable from this machine`,
        hint: "check routing and firewalls between the nodes",
        cause: err,
      });
    default:
      return new FizzError({ code: "transport.io_error", message: `${at.proto} ${at.op} ${addr} failed: ${detail}`, cause: err });
  }
}

export function connectTimeout(host: string, port: number, cause?: unknown): FizzError {
  return new FizzError({
    code: "transport.connect_timeout",
    message: `timed out connecting to ${formatAddr(host, port)}`,
    hint: "the node may be down or a firewall may drop the traffic",
    ...(cause === undefined ? {} : { cause }),
  });
}
