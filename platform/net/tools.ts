/**
 * Which networking tools this node has, and which WireGuard it can run: the
 * kernel's (an `ip link add … type wireguard` that works) or wireguard-go.
 * What is missing comes back as one FizzError that names the packages to
 * install; the agent then runs without the mesh (single-node workloads only)
 * and says so in `fizz nodes` and its log.
 */
import { FizzError } from "../../core/errors.ts";
import type { WgImpl } from "../../core/net/mesh-meta.ts";
import type { ToolRunner } from "./exec.ts";

export type MeshTools = { readonly ok: true; readonly impl: WgImpl } | { readonly ok: false; readonly error: FizzError };

const INSTALL_HINT =
  "install them and restart the agent: Debian/Ubuntu `apt-get install wireguard-tools wireguard-go iproute2 iptables`, Fedora/RHEL `dnf install wireguard-tools iproute iptables` (plus wireguard-go where the kernel has no WireGuard module); install.sh does this for you";

async function has(run: ToolRunner, bin: string, probe: readonly string[]): Promise<boolean> {
  const r = await run([bin, ...probe], { timeoutMs: 5000 });
  return r.code !== 127 && !/not found|No such file/i.test(r.stderr.slice(0, 200)) ? true : false;
}

/** `probeIf` is a throwaway interface name for the kernel check (removed at once). */
export async function detectMeshTools(run: ToolRunner, probeIf = "fizzprobe0"): Promise<MeshTools> {
  const missing: string[] = [];
  if (!(await has(run, "ip", ["-V"]))) missing.push("ip (iproute2)");
  if (!(await has(run, "wg", ["--version"]))) missing.push("wg (wireguard-tools)");
  if (!(await has(run, "iptables", ["--version"]))) missing.push("iptables");
  if (!(await has(run, "iptables-restore", ["--version"]))) missing.push("iptables-restore (iptables)");
  if (!(await has(run, "iptables-save", ["--version"]))) missing.push("iptables-save (iptables)");
  let impl: WgImpl | undefined;
  if (!missing.includes("ip (iproute2)")) {
    const k = await run(["ip", "link", "add", probeIf, "type", "wireguard"], { timeoutMs: 5000 });
    if (k.code === 0) {
      impl = "kernel";
      await run(["ip", "link", "del", probeIf], { timeoutMs: 5000 });
    }
  }
  if (!impl) {
    if (await has(run, "wireguard-go", ["--version"])) impl = "wireguard-go";
    else missing.push("wireguard-go (this kernel has no WireGuard module)");
  }
  if (missing.length > 0 || !impl) {
    return {
      ok: false,
      error: new FizzError({
        code: "net.tools_missing",
        message: `the mesh cannot start: missing ${missing.join(", ")}; this node runs single-node workloads only`,
        hint: INSTALL_HINT,
      }),
    };
  }
  return { ok: true, impl };
}
