/**
 * Whether containers on a Podman network find each other by name, which
 * compose stacks rely on (`WORDPRESS_DB_HOST: db`). Podman's netavark backend
 * does it with aardvark-dns; its CNI backend only with the dnsname plugin,
 * which Debian's and Ubuntu's podman packages do not pull in. Without it a
 * stack starts and then fails to connect ("Unknown server host 'db'").
 */
import { existsSync } from "node:fs";
import type { Engine } from "./client.ts";

/** Where CNI plugins are installed by the distributions' packages. */
const CNI_PLUGIN_DIRS = ["/usr/lib/cni", "/usr/libexec/cni", "/opt/cni/bin"];

export interface NameResolution {
  readonly ok: boolean;
  readonly detail: string;
}

export async function podmanNameResolution(engine: Engine, exists: (path: string) => boolean = existsSync): Promise<NameResolution> {
  const info = await engine.transport.json<{ host?: { networkBackend?: string } }>({
    method: "GET",
    path: "/v4.0.0/libpod/info",
    unversioned: true,
    ctx: { action: "read Podman's info" },
  });
  const backend = info.host?.networkBackend ?? "unknown";
  if (backend !== "cni") return { ok: true, detail: `${backend} networking` };
  // The plugin lives on the engine's host: only a local socket lets us look.
  if (engine.endpoint.transport !== "unix") return { ok: true, detail: "CNI networking (a remote engine: the dnsname plugin cannot be checked from here)" };
  const plugin = CNI_PLUGIN_DIRS.map((d) => `${d}/dnsname`).find((p) => exists(p));
  if (plugin) return { ok: true, detail: `CNI networking with the dnsname plugin (${plugin})` };
  return {
    ok: false,
    detail:
      "Podman uses CNI networking without the dnsname plugin, so containers cannot reach each other by service name " +
      "(hint: apt-get install golang-github-containernetworking-plugin-dnsname, or dnf install podman-plugins; or switch Podman to netavark)",
  };
}
