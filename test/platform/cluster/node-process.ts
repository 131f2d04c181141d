/**
 * A ClusterNode in its own process, for tests with real separate processes
 * (test/e2e/cluster-runtime.test.ts). Runs on Bun and Deno:
 *   bun test/platform/cluster/node-process.ts '<json options>'
 * Options: {id, bind, keyHex, clusterIdHex, swim?, stateFile?}. Prints one JSON
 * line {"ready": address} when bound, then answers one JSON line per command
 * read from stdin: {"cmd":"join","seeds":[…]} | {"cmd":"members"} |
 * {"cmd":"put","id":…,"spec":…} | {"cmd":"deployments"} | {"cmd":"stop"}.
 * With stateFile, the state is persisted there and restored from it.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { createKeyring } from "../../../core/cluster-crypto/keyring.ts";
import { listDeployments, putDeployment } from "../../../core/state/index.ts";
import type { Json } from "../../../core/crdt/index.ts";
import type { SwimConfig } from "../../../core/swim/index.ts";
import { ClusterNode } from "../../../platform/cluster/index.ts";
import { runtimeName } from "../../../platform/runtime.ts";

interface Args {
  readonly id: string;
  readonly bind: string;
  readonly keyHex: string;
  readonly clusterIdHex: string;
  readonly swim?: Partial<SwimConfig>;
  readonly stateFile?: string;
}

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const out = (v: unknown) => process.stdout.write(JSON.stringify(v) + "\n");

const args = JSON.parse(process.argv[2] ?? "{}") as Args;
const ring = createKeyring(hex(args.keyHex));
if (!ring.ok) throw new Error(ring.error.message);
const node = await ClusterNode.start({
  nodeId: args.id,
  bind: args.bind,
  keyring: ring.keyring,
  clusterId: hex(args.clusterIdHex),
  meta: { name: args.id, labels: { proc: "yes" } },
  ...(args.swim ? { swim: args.swim } : {}),
  ...(args.stateFile && existsSync(args.stateFile) ? { initialState: new Uint8Array(readFileSync(args.stateFile)) } : {}),
  ...(args.stateFile ? { persist: (b: Uint8Array) => writeFileSync(args.stateFile!, b), persistDebounceMs: 50 } : {}),
});
out({ ready: node.address, runtime: runtimeName() });

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  void (async () => {
    const c = JSON.parse(line) as { cmd: string; seeds?: string[]; id?: string; spec?: Json };
    try {
      switch (c.cmd) {
        case "join":
          out({ reply: "join", ...(await node.join(c.seeds ?? [], 5000)) });
          break;
        case "members":
          out({ reply: "members", members: node.members().map((m) => ({ id: m.id, state: m.state, address: m.address })) });
          break;
        case "put": {
          const r = node.mutate((s, ts) => putDeployment(s, ts, c.id!, c.id!, c.spec ?? null));
          out({ reply: "put", ok: r.ok });
          break;
        }
        case "deployments":
          out({ reply: "deployments", ids: listDeployments(node.state).map(([id]) => id) });
          break;
        case "stop":
          await node.stop();
          out({ reply: "stop" });
          process.exit(0);
      }
    } catch (e) {
      out({ reply: c.cmd, error: { code: (e as { code?: string }).code, message: (e as Error).message } });
    }
  })();
});
rl.on("close", () => void node.stop().then(() => process.exit(0)));
