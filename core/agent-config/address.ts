/**
 * API addresses as users type them (`--api`, `-H`, FIZZ_HOST, config file):
 * `unix:<path>` / `unix://<path>` for a unix socket, `<ip>:<port>` /
 * `[<ipv6>]:<port>` / `http(s)://host:port` for TCP. Pure parsing, no I/O.
 */
import { FizzError } from "../errors.ts";

export type ApiAddress =
  | { readonly kind: "unix"; readonly path: string }
  | { readonly kind: "tcp"; readonly host: string; readonly port: number; readonly tls: boolean | undefined };

export function parseApiAddress(raw: string, what = "API address"): ApiAddress {
  const s = raw.trim();
  const bad = (why: string) =>
    new FizzError({
      code: "config.bad_address",
      message: `bad ${what} '${raw}': ${why}`,
      hint: "use unix:/run/fizz/fizz.sock, 127.0.0.1:7070, [::1]:7070 or https://host:7070",
      exitCode: 2,
    });
  if (s === "") throw bad("it is empty");
  if (s.startsWith("unix:")) {
    const path = s.startsWith("unix://") ? s.slice("unix://".length) : s.slice("unix:".length);
    if (!path.startsWith("/") && !path.startsWith(".")) throw bad("a unix socket path must be absolute or start with ./");
    if (path.includes("\0")) throw bad("the path contains a NUL byte");
    return { kind: "unix", path };
  }
  if (s.startsWith("/")) return { kind: "unix", path: s };
  let rest = s;
  let tls: boolean | undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s);
  if (scheme) {
    const sch = scheme[1]!.toLowerCase();
    if (sch === "http" || sch === "tcp") tls = sch === "http" ? false : undefined;
    else if (sch === "https") tls = true;
    else throw bad(`unknown scheme '${sch}'`);
    rest = s.slice(scheme[0].length).replace(/\/+$/, "");
  }
  let host: string;
  let portText: string;
  const v6 = /^\[([0-9a-fA-F:.%a-zA-Z]+)\]:(\d+)$/.exec(rest);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else {
    const i = rest.lastIndexOf(":");
    if (i <= 0) throw bad("expected <host>:<port>");
    host = rest.slice(0, i);
    portText = rest.slice(i + 1);
    if (host.includes(":")) throw bad("write IPv6 addresses in brackets, e.g. [::1]:7070");
    if (!/^[a-zA-Z0-9.-]+$/.test(host)) throw bad(`'${host}' is not a host name or IP address`);
  }
  if (!/^\d{1,5}$/.test(portText)) throw bad(`'${portText}' is not a port number`);
  const port = Number(portText);
  if (port > 65535) throw bad(`port ${port} is out of range (0-65535)`);
  return { kind: "tcp", host, port, tls };
}

export function formatApiAddress(a: ApiAddress): string {
  if (a.kind === "unix") return `unix:${a.path}`;
  const host = a.host.includes(":") ? `[${a.host}]` : a.host;
  return a.tls ? `https://${host}:${a.port}` : `${host}:${a.port}`;
}
