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
  const { readFileSync, writeFileSync, existsSync, chmodSync } = await import("node:fs");
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
    try {
      token = readFileSync(tokenFile, "utf8").trim();
    } catch (e) {
      throw usageError(`cannot read the API token file ${tokenFile}: ${(e as Error).message}`);
    }
    if (token.length < 16) throw usageError(`the API token in ${tokenFile} is shorter than 16 characters`);
  }
  let tls: ApiAccess["tls"];
  if (config.api.tcp.tls.cert) {
    try {
      tls = { cert: readFileSync(config.api.tcp.tls.cert), key: readFileSync(config.api.tcp.tls.key) };
    } catch (e) {
      throw usageError(`cannot read the TLS certificate or key: ${(e as Error).message}`);
    }
  }
  return { ...(token !== undefined ? { token } : {}), ...(tokenFile !== undefined ? { tokenFile } : {}), ...(tls ? { tls } : {}) };
}
