/**
 * `fizz secret …`: secrets and configs kept encrypted in the cluster (see
 * README "Secrets"). Values are read from a file or stdin (`-`), never from
 * the command line, and no command prints a stored value: `export` gives it
 * encrypted to a recipient you name.
 */
import { usageError } from "../core/errors.ts";
import { optList, optString, type Options, type RegisterVerb } from "./command.ts";
import { agentClient, ago, table } from "./agent-client.ts";
import type { Context } from "./context.ts";

const USAGE = `fizz secret create NAME FILE|- | ls | inspect NAME | rm NAME | rotate NAME FILE|- | rollback NAME VERSION
           | grant NAME PROJECT[/SERVICE] | revoke NAME PROJECT[/SERVICE] | recipient | encrypt [-r age1…] [-a] FILE|-
           | export NAME -r age1… [-a] | identity import NAME FILE|- | identity ls | identity rm NAME
           | status | unseal [SHARE] | recovery [--threshold N] [--shares N]`;

const EXAMPLES = [
  "printf %s 'hunter2' | fizz secret create db_pw -",
  "fizz secret rotate db_pw ./new-password.txt",
  "fizz secret inspect db_pw",
  "age -r $(fizz secret recipient) -o db.age password.txt   # GitOps: commit db.age, use `secrets: {db: {file: db.age}}`",
  "fizz secret identity import team ~/.config/age/team.key",
  "fizz secret export db_pw -r age1… | age -d -i my.key",
  "fizz secret encrypt -a -o db.age ./password.txt          # to the cluster's recipient",
  "fizz secret unseal fizzrecovery1…",
];

async function readValue(path: string | undefined, what: string, max?: number): Promise<Uint8Array> {
  if (path === undefined) throw usageError(`${what} needs FILE or - (stdin)`, USAGE);
  const { MAX_SECRET_BYTES } = await import("../core/limits.ts");
  const cap = max ?? MAX_SECRET_BYTES;
  const limit = cap + 1;
  const chunks: Buffer[] = [];
  let n = 0;
  if (path === "-") {
    for await (const c of process.stdin) {
      chunks.push(c as Buffer);
      n += (c as Buffer).length;
      if (n > limit) break;
    }
  } else {
    // A regular file: its size says whether it fits before anything is read.
    const { statSync, readFileSync } = await import("node:fs");
    try {
      const st = statSync(path);
      if (!st.isFile()) throw usageError(`${path} is not a regular file`);
      n = st.size;
      if (n <= cap) chunks.push(readFileSync(path));
    } catch (e) {
      if ((e as { code?: string }).code === "cli.usage") throw e;
      throw usageError(`cannot read ${path}: ${(e as Error).message}`);
    }
  }
  const { FizzError } = await import("../core/errors.ts");
  if (n > cap) throw new FizzError({ code: "secrets.too_large", message: `${path === "-" ? "stdin" : path} is over ${max === undefined ? "the secret size limit (1 MiB)" : `${cap} bytes`}` });
  // No copies beyond the read (a 100 MB file for `encrypt` was copied twice more here).
  const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  return new Uint8Array(whole.buffer, whole.byteOffset, whole.length);
}

/** cac drops a lone "-" from the arguments; it means stdin, as in `docker secret create NAME -`. */
const dash = (v: string | undefined): string | undefined => v ?? (process.argv.slice(2).includes("-") ? "-" : undefined);

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const urlPath = (name: string) => name.split("/").map(encodeURIComponent).join("/");

function format(options: Options): "table" | "json" {
  const f = optString(options, "format") ?? "table";
  if (f !== "table" && f !== "json") throw usageError(`unknown format '${f}'`, "use --format table or --format json");
  return f;
}

export const register: RegisterVerb = (cli, action) => {
  const cmd = cli
    .command("secret [...args]", "Secrets and configs, encrypted in the cluster: create | ls | inspect | rm | rotate | rollback | grant | revoke | recipient | encrypt | export | identity | status | unseal | recovery")
    .option("--format <format>", "ls, status: table (default) or json; inspect: json (default, like docker inspect) or table")
    .option("-r, --recipient <age1…>", "encrypt/export: encrypt to this age recipient (repeatable; encrypt defaults to the cluster's)")
    .option("-a, --armor", "encrypt/export: ASCII armor instead of binary")
    .option("-o, --output <file>", "encrypt/export: write the age file here instead of stdout")
    .option("--project <name>", "create: the project that owns the secret (only its services may read it, and those granted)")
    .option("--label <key=value>", "create: a label (repeatable)")
    .option("--config", "create: a config rather than a secret")
    .option("--threshold <n>", "recovery: shares needed to unseal (default 3)")
    .option("--shares <n>", "recovery: shares to make (default 5)");
  for (const e of EXAMPLES) cmd.example(e);
  cmd.action(
    action(async (ctx, args, options) => {
      const [sub, a1, a2, ...rest] = args;
      const none = (n: number) => {
        if ([a1, a2][n] !== undefined || rest.length) throw usageError(`fizz secret ${sub} takes ${n === 0 ? "no arguments" : `${n} argument${n === 1 ? "" : "s"}`}`, USAGE);
      };
      const need = (v: string | undefined, what: string) => {
        if (v === undefined) throw usageError(`fizz secret ${sub} needs ${what}`, USAGE);
        return v;
      };
      if (sub === "encrypt") return encrypt(ctx, options, a1, a2);
      const client = await agentClient(ctx);
      switch (sub) {
        case "create": {
          const name = need(a1, "NAME and FILE|-");
          if (rest.length) throw usageError("fizz secret create takes NAME and FILE|-", USAGE);
          const value = await readValue(dash(a2), "fizz secret create NAME");
          const labels: Record<string, string> = {};
          for (const l of optList(options, "label")) {
            const i = l.indexOf("=");
            if (i <= 0) throw usageError(`--label expects key=value, got '${l}'`);
            labels[l.slice(0, i)] = l.slice(i + 1);
          }
          const project = optString(options, "project");
          const r = await client.json<{ name: string; kind?: string; version: number; size: number }>("POST", "/v1/secrets", { name, value: b64(value), ...(options.config ? { kind: "config" } : {}), ...(project ? { project } : {}), labels });
          value.fill(0);
          ctx.err(`Created ${r.kind ?? (options.config ? "config" : "secret")} ${r.name} (version ${r.version}, ${r.size} bytes).\n`);
          ctx.out(`${r.name}\n`);
          return 0;
        }
        case "rotate": {
          const name = need(a1, "NAME and FILE|-");
          if (rest.length) throw usageError("fizz secret rotate takes NAME and FILE|-", USAGE);
          const value = await readValue(dash(a2), "fizz secret rotate NAME");
          const r = await client.json<{ name: string; version: number; size: number }>("PUT", `/v1/secrets/${urlPath(name)}`, { value: b64(value) });
          value.fill(0);
          ctx.err(`Rotated ${r.name} to version ${r.version} (${r.size} bytes); running containers get it in place.\n`);
          return 0;
        }
        case "rollback": {
          const name = need(a1, "NAME and VERSION");
          const v = Number(need(a2, "NAME and VERSION"));
          none(2);
          if (!Number.isInteger(v) || v < 1) throw usageError(`VERSION must be a version number, got '${a2}'`);
          const r = await client.json<{ name: string; version: number }>("POST", `/v1/secrets/${urlPath(name)}/rollback`, { version: v });
          ctx.err(`${r.name} now has version ${v}'s value as version ${r.version}.\n`);
          return 0;
        }
        case "ls":
        case "list": {
          none(0);
          const r = await client.json<{ secrets: { name: string; kind: string; version: number; size: number; project: string | null; updated: number }[] }>("GET", "/v1/secrets");
          if (format(options) === "json") ctx.out(`${JSON.stringify(r.secrets, null, 2)}\n`);
          else ctx.out(table([["NAME", "KIND", "VERSION", "SIZE", "PROJECT", "UPDATED"], ...r.secrets.map((s) => [s.name, s.kind, String(s.version), String(s.size), s.project ?? "-", ago(s.updated)])]));
          return 0;
        }
        case "inspect": {
          const name = need(a1, "NAME");
          none(1);
          const fmt = optString(options, "format") ?? "json";
          if (fmt !== "table" && fmt !== "json") throw usageError(`unknown format '${fmt}'`, "use --format json (the default for inspect) or --format table");
          const r = await client.json<SecretDetail>("GET", `/v1/secrets/${urlPath(name)}`);
          ctx.out(fmt === "json" ? `${JSON.stringify(r, null, 2)}\n` : inspectTable(r));
          return 0;
        }
        case "rm":
        case "remove": {
          const name = need(a1, "NAME");
          none(1);
          await client.json("DELETE", `/v1/secrets/${urlPath(name)}`);
          ctx.err(`Removed ${name}.\n`);
          return 0;
        }
        case "grant":
        case "revoke": {
          const name = need(a1, "NAME and PROJECT[/SERVICE]");
          const target = need(a2, "NAME and PROJECT[/SERVICE]");
          none(2);
          await client.json("POST", `/v1/secrets/${urlPath(name)}/grants`, { target, revoke: sub === "revoke" });
          ctx.err(`${sub === "grant" ? "Granted" : "Revoked"} ${name} ${sub === "grant" ? "to" : "from"} ${target}.\n`);
          return 0;
        }
        case "recipient": {
          none(0);
          ctx.out(`${(await client.json<{ recipient: string }>("GET", "/v1/recipient")).recipient}\n`);
          return 0;
        }
        case "export": {
          const name = need(a1, "NAME");
          none(1);
          const recipients = optList(options, "recipient");
          if (!recipients.length) throw usageError("fizz secret export needs -r age1… (the value is only ever given out encrypted)", USAGE);
          const r = await client.json<{ ciphertext: string }>("POST", `/v1/secrets/${urlPath(name)}/export`, { recipients, armor: Boolean(options.armor) });
          await writeOutput(options, Buffer.from(r.ciphertext, "base64"));
          return 0;
        }
        case "identity": {
          if (a1 === "import") {
            const name = need(a2, "NAME and FILE|-");
            if (rest.length > 1) throw usageError("fizz secret identity import takes NAME and FILE|-", USAGE);
            const text = new TextDecoder().decode(await readValue(dash(rest[0]), "fizz secret identity import NAME"));
            const identity = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l.startsWith("AGE-SECRET-KEY-"));
            if (!identity) throw usageError("no AGE-SECRET-KEY-1… line in that input (an age-keygen key file)");
            const r = await client.json<{ name: string; recipient: string }>("POST", "/v1/identities", { name, identity });
            ctx.err(`Imported ${r.name}: files encrypted to ${r.recipient} now deploy as they are.\n`);
            return 0;
          }
          if (a1 === "ls" || a1 === "list") {
            const r = await client.json<{ identities: { name: string; recipient: string; created: number }[] }>("GET", "/v1/identities");
            ctx.out(table([["NAME", "RECIPIENT", "IMPORTED"], ...r.identities.map((i) => [i.name, i.recipient, ago(i.created)])]));
            return 0;
          }
          if (a1 === "rm") {
            await client.json("DELETE", `/v1/identities/${encodeURIComponent(need(a2, "NAME"))}`);
            ctx.err(`Removed identity ${a2}.\n`);
            return 0;
          }
          throw usageError("fizz secret identity import NAME FILE|- | ls | rm NAME", USAGE);
        }
        case "status": {
          none(0);
          const r = await client.json<{ self: { node: string; state: string; reason: string; threshold: number | null; holders: number; recovery: { have: number; need: number } | null }; nodes: { node: string; state: string; reason: string; since: number }[] }>("GET", "/v1/seal");
          if (format(options) === "json") ctx.out(`${JSON.stringify(r, null, 2)}\n`);
          else {
            ctx.out(`This node (${r.self.node.slice(0, 12)}): ${r.self.state} — ${r.self.reason}; threshold ${r.self.threshold ?? "-"} of ${r.self.holders} share holders${r.self.recovery && r.self.state === "sealed" ? `; recovery shares given ${r.self.recovery.have}/${r.self.recovery.need}` : ""}\n`);
            ctx.out(table([["NODE", "SECRETS", "SINCE", "WHY"], ...r.nodes.map((n) => [n.node.slice(0, 12), n.state, ago(n.since), n.reason])]));
          }
          return 0;
        }
        case "unseal": {
          none(a1 === undefined ? 0 : 1);
          let share = a1;
          if (share === undefined) share = new TextDecoder().decode(await readValue("-", "fizz secret unseal")).trim();
          const r = await client.json<{ state: string; recovery: { have: number; need: number } | null; reason: string; checked?: { share: number; valid: boolean } }>("POST", "/v1/seal/unseal", { share });
          if (r.checked) ctx.err(`This node is unsealed already (${r.reason}); nothing to do. Recovery share ${r.checked.share} is valid for this cluster.\n`);
          else if (r.state === "sealed") ctx.err(`Recovery share accepted: ${r.recovery?.have ?? "?"} of ${r.recovery?.need ?? "?"}. Give the next one.\n`);
          else ctx.err(`Unsealed (${r.reason}). Live nodes follow within a few seconds.\n`);
          return 0;
        }
        case "recovery": {
          none(0);
          const threshold = Number(optString(options, "threshold") ?? 3);
          const shares = Number(optString(options, "shares") ?? 5);
          const r = await client.json<{ threshold: number; shares: string[] }>("POST", "/v1/seal/recovery", { threshold, shares });
          printRecovery(ctx, r.threshold, r.shares);
          return 0;
        }
        default:
          throw usageError(sub === undefined ? "fizz secret needs a subcommand" : `unknown secret subcommand '${sub}'`, USAGE);
      }
    }),
  );
};

interface SecretDetail {
  name: string;
  kind: string;
  version: number;
  versions: number;
  size: number;
  project: string | null;
  grants: string[];
  labels: Record<string, string>;
  usedBy: string[];
  created: number;
  updated: number;
  history: { v: number; created: number; size: number; by: string }[];
}

/** `secret inspect --format table`: the fields as key/value lines, then the kept versions. */
export function inspectTable(r: SecretDetail): string {
  const list = (xs: readonly string[] | undefined) => (xs?.length ? xs.join(", ") : "-");
  const kv = table([
    ["Name:", r.name],
    ["Kind:", r.kind],
    ["Version:", `${r.version} (${r.versions} kept)`],
    ["Size:", `${r.size} bytes`],
    ["Project:", r.project ?? "-"],
    ["Grants:", list(r.grants)],
    ["Labels:", list(Object.entries(r.labels ?? {}).map(([k, v]) => `${k}=${v}`))],
    ["Used by:", list(r.usedBy)],
    ["Created:", ago(r.created)],
    ["Updated:", ago(r.updated)],
  ]);
  const history = table([["VERSION", "SIZE", "BY", "CREATED"], ...(r.history ?? []).map((h) => [String(h.v), String(h.size), h.by, ago(h.created)])]);
  return `${kv}\n${history}`;
}

export function printRecovery(ctx: Context, threshold: number, shares: string[]): void {
  ctx.err(`Recovery shares (any ${threshold} of these ${shares.length} unseal the cluster when too few nodes are up: fizz secret unseal SHARE).\nKeep them apart and offline; they are shown only now. Earlier recovery shares no longer work.\n`);
  for (const s of shares) ctx.out(`${s}\n`);
}

async function encrypt(ctx: Context, options: Options, file: string | undefined, extra: string | undefined): Promise<number> {
  if (extra !== undefined) throw usageError("fizz secret encrypt takes one FILE|-", USAGE);
  let recipients = optList(options, "recipient");
  // Checked before stdin is read: a recipient that is not one is named, as export names it.
  if (recipients.length) (await import("../platform/secrets/age-encrypt.ts")).checkRecipients(recipients);
  if (!recipients.length) recipients = [(await (await agentClient(ctx)).json<{ recipient: string }>("GET", "/v1/recipient")).recipient];
  // Encrypting a file for GitOps is not storing it: any size that fits in memory.
  const value = await readValue(file ?? "-", "fizz secret encrypt", 1 << 30);
  const [{ encryptAge }, { loadNativeAead }] = await Promise.all([import("../platform/secrets/age-encrypt.ts"), import("../platform/secrets/aead.ts")]);
  const out = await encryptAge(value, recipients, { armor: Boolean(options.armor), aead: await loadNativeAead() });
  await writeOutput(options, out);
  return 0;
}

/** -o FILE (mode 0644, written whole, like age -o), else stdout. */
async function writeOutput(options: Options, bytes: Uint8Array): Promise<void> {
  const file = optString(options, "output");
  if (file === undefined) {
    process.stdout.write(bytes);
    return;
  }
  const { writeFileSync } = await import("node:fs");
  try {
    writeFileSync(file, bytes);
  } catch (e) {
    throw usageError(`cannot write ${file}: ${(e as Error).message}`);
  }
}
