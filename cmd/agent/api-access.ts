/**
 * The API's access material, read at agent start: the bearer token for TCP
 * (generated 0600 in the data directory on first start unless a file is
 * configured) and the TLS certificate and key.
 */
import type { AgentConfig } from "../../core/agent-config/index.ts";
import { usageError } from "../../core/errors.ts";
import type { Logger } from "../../platform/log.ts";

export interface ApiAccess {
  readonly token?: string;
  readonly tokenFile?: string;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

export async function readApiAccess(config: AgentConfig, logger: Logger): Promise<ApiAccess> {
  const { writeFileSync, existsSync, chmodSync } = await import("node:fs");
  const { readUserFile, readUserText } = await import("../../platform/user-file.ts");
  const { octal, privateKeyFile } = await import("../../platform/data-dir.ts");
  /** Key files others can read are made 0600, with a warning (or only the warning, when we may not). */
  const keepPrivate = (path: string) => {
    const f = privateKeyFile(path);
    if (!f) return;
    if (f.now === f.was) logger.warn({ path, mode: octal(f.was) }, `${path} is readable by other users (mode ${octal(f.was)}) and fizz cannot change that; chmod 600 it`);
    else logger.warn({ path, was: octal(f.was), now: octal(f.now) }, `${path} was readable by other users (mode ${octal(f.was)}); made it ${octal(f.now)}`);
  };
  const { join } = await import("node:path");
  const { randomBytes } = await import("node:crypto");
  let token: string | undefined;
  let tokenFile: string | undefined;
  if (config.api.tcp.listen) {
    tokenFile = config.api.tcp.token_file || join(config.data_dir, "api-token");
    if (!config.api.tcp.token_file && !existsSync(tokenFile)) {
      writeFileSync(tokenFile, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
      chmodSync(tokenFile, 0o600);
      logger.info({ tokenFile }, "generated an API token for the TCP listener");
    }
    keepPrivate(tokenFile);
    try {
      token = readUserText(tokenFile, { what: "API token file", maxBytes: 4096 })?.trim();
    } catch (e) {
      throw usageError((e as Error).message);
    }
    if (token === undefined) throw usageError(`the API token file ${tokenFile} does not exist`);
    if (token.length < 16) throw usageError(`the API token in ${tokenFile} is shorter than 16 characters`);
  }
  let tls: ApiAccess["tls"];
  if (config.api.tcp.tls.cert) {
    keepPrivate(config.api.tcp.tls.key);
    const read = (path: string, what: string): Buffer => {
      let b: Buffer | undefined;
      try {
        b = readUserFile(path, { what, maxBytes: 1024 * 1024 });
      } catch (e) {
        throw usageError((e as Error).message);
      }
      if (b === undefined) throw usageError(`the ${what} ${path} does not exist`);
      return b;
    };
    tls = { cert: read(config.api.tcp.tls.cert, "TLS certificate"), key: read(config.api.tcp.tls.key, "TLS key") };
  }
  return { ...(token !== undefined ? { token } : {}), ...(tokenFile !== undefined ? { tokenFile } : {}), ...(tls ? { tls } : {}) };
}
