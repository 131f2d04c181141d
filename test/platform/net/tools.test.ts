/**
 * Tool detection: which WireGuard a node runs, and the exact packages a node
 * without the tools must install (with a runner that pretends tools are
 * missing, and with the real machine's tools).
 */
import { describe, expect, test } from "bun:test";
import { detectMeshTools, toolRunner, type ToolRunner } from "../../../platform/net/index.ts";

function fake(missing: readonly string[], kernel: boolean): ToolRunner {
  return async (argv) => {
    if (missing.includes(argv[0]!)) return { code: 127, stdout: "", stderr: `${argv[0]}: not found` };
    if (argv[0] === "ip" && argv[1] === "link" && argv[2] === "add") return kernel ? { code: 0, stdout: "", stderr: "" } : { code: 2, stdout: "", stderr: "Error: Unknown device type." };
    return { code: 0, stdout: "", stderr: "" };
  };
}

describe("mesh tool detection", () => {
  test("kernel module when `ip link add type wireguard` works, else wireguard-go", async () => {
    expect(await detectMeshTools(fake([], true))).toEqual({ ok: true, impl: "kernel" });
    expect(await detectMeshTools(fake([], false))).toEqual({ ok: true, impl: "wireguard-go" });
  });

  test("missing tools: one error naming each missing tool and the packages to install", async () => {
    const r = await detectMeshTools(fake(["wg", "wireguard-go"], false));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("net.tools_missing");
    expect(r.error.message).toContain("wg (wireguard-tools)");
    expect(r.error.message).toContain("wireguard-go (this kernel has no WireGuard module)");
    expect(r.error.message).toContain("single-node workloads only");
    expect(r.error.hint).toContain("apt-get install wireguard-tools wireguard-go");
  });

  test.skipIf(process.getuid?.() !== 0)("this machine: a working WireGuard is found and the probe interface is removed", async () => {
    const run = toolRunner();
    const r = await detectMeshTools(run, "fzprobetest0");
    expect(r.ok).toBe(true);
    expect((await run(["ip", "link", "show", "fzprobetest0"])).code).not.toBe(0);
  });
});
