/**
 * `fizz cert add NAME --cert FILE --key FILE | ls | rm NAME`: certificates you
 * already have, served by every node's ingress for the names they cover (the
 * key sealed with the cluster key), and the ones ACME issued (issue 13).
 */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient, table } from "./agent-client.ts";

const USAGE = "fizz cert add <name> --cert <file> --key <file> | ls | rm <name>";
const NAME = /^[A-Za-z0-9._-]{1,63}$/;
/** A PEM chain and key are a few kB; anything this large is not one. */
const MAX_PEM_BYTES = 64 * 1024;

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("cert [...args]", "TLS certificates the ingress serves: add one you have (every node serves it for its names), list them with the ACME-issued ones, remove one")
    .option("--cert <file>", "add: PEM certificate chain, leaf first")
    .option("--key <file>", "add: PEM private key of the certificate")
    .option("--format <format>", "ls: table (default) or json")
    .example("fizz cert add shop --cert shop.example.com.pem --key shop.example.com.key")
    .example("fizz cert ls")
    .example("fizz cert ls --format json")
    .example("fizz cert rm shop")
    .action(
      action(async (ctx, args, options) => {
        const [sub, ...rest] = args;
        switch (sub) {
          case "add": {
            const [name, ...extra] = rest;
            if (!name || extra.length) throw usageError("fizz cert add takes one name", USAGE);
            if (!NAME.test(name)) throw usageError(`'${name}' is not a certificate name`, "use letters, digits, '.', '_' and '-' (at most 63)");
            const certFile = optString(options, "cert");
            const keyFile = optString(options, "key");
            if (!certFile || !keyFile) throw usageError("fizz cert add needs --cert and --key", USAGE);
            const { readUserText } = await import("../platform/user-file.ts");
            const read = (f: string, what: string) => {
              const t = readUserText(f, { what, maxBytes: MAX_PEM_BYTES });
              if (t === undefined) throw usageError(`${what} ${f} does not exist`, USAGE);
              return t;
            };
            const cert = read(certFile, "certificate file");
            const key = read(keyFile, "key file");
            const c = await (await agentClient(ctx)).addCertificate(name, cert, key);
            ctx.out(`certificate ${name} added: ${c.names.join(", ")}, valid until ${c.not_after}; every node serves it\n`);
            return 0;
          }
          case "ls":
          case "list": {
            if (rest.length) throw usageError("fizz cert ls takes no arguments", USAGE);
            const format = optString(options, "format") ?? "table";
            if (format !== "table" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format table or --format json");
            const client = await agentClient(ctx);
            const [certs, st] = await Promise.all([client.certificates(), client.ingress()]);
            if (format === "json") {
              ctx.out(`${JSON.stringify({ certificates: certs, domains: st.tls?.domains ?? [] }, null, 2)}\n`);
              return 0;
            }
            const rows = certs.map((c) => [c.id, c.source === "acme" ? `ACME (${c.by.slice(0, 8)})` : "user", c.names.join(","), c.not_after.slice(0, 10), c.loaded ? "yes" : `no: ${c.problem ?? "not loaded yet"}`]);
            ctx.out(rows.length ? table([["CERTIFICATE", "SOURCE", "NAMES", "EXPIRES", "SERVED HERE"], ...rows]) : "no certificates\n");
            const domains = st.tls?.domains ?? [];
            if (domains.length) {
              ctx.out("\n");
              ctx.out(table([["TLS HOST", "STATE", "WHY"], ...domains.map((d) => [d.domain, d.state, d.why])]));
            }
            return 0;
          }
          case "rm":
          case "remove": {
            const [name, ...extra] = rest;
            if (!name || extra.length) throw usageError("fizz cert rm takes one name", USAGE);
            await (await agentClient(ctx)).removeCertificate(name);
            ctx.out(`certificate ${name} removed\n`);
            return 0;
          }
          default:
            throw usageError(sub ? `unknown fizz cert command '${sub}'` : "fizz cert needs a command", USAGE);
        }
      }),
    );
};
