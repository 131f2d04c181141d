/**
 * API addresses as users type them (`--api`, `-H`, FIZZ_HOST, config file):
 * `unix:<path>` / `unix://<path>` for a unix socket, `<ip>:<port>` /
 * `[<ipv6>]:<port>` / `http(s)://host:port` for TCP. Pure parsing, no I/O.
 */
import { formatHostPort, parseHostPort } from "../address.ts";
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
  if (!/^\[/.test(rest) && !rest.includes(":")) throw bad("expected <host>:<port>");
  const hp = parseHostPort(rest, { allowZero: true });
  if (!hp.ok) throw bad(hp.why);
  const { host, port } = hp.value;
  if (!host.includes(":") && !/^[a-zA-Z0-9.-]+$/.test(host)) throw bad(`'${host}' is not a host name or IP address`);
  return { kind: "tcp", host, port, tls };
}

export function formatApiAddress(a: ApiAddress): string {
  if (a.kind === "unix") return `unix:${a.path}`;
  const hp = formatHostPort(a.host, a.port);
  return a.tls ? `https://${hp}` : hp;
}
