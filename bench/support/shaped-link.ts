/**
 * A network namespace behind a veth whose both ends are rate-limited with
 * htb (this kernel has no netem or tbf), for benches that need a remote
 * peer rather than loopback: a registry there is reached at the link's
 * speed, as a real upstream would be, instead of at memory speed.
 *
 *   const link = await shapedLink({ mbit: 1000 });
 *   spawn(...link.spawnVia, "docker-registry", ...)   // runs inside the namespace
 *   link.destroy()
 *
 * Needs root, `ip` and `tc`. Addresses are a /30 of 10.98.250.0/24, away
 * from the cluster harness's 10.99.0.0/24.
 */
import { execFileSync, spawnSync } from "node:child_process";

export interface ShapedLink {
  /** The namespace's address (where a server inside listens). */
  readonly remoteIp: string;
  /** Prefix for spawn() to run a command inside the namespace. */
  readonly spawnVia: string[];
  destroy(): void;
}

function run(args: string[]): void {
  execFileSync(args[0]!, args.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
}

/** Whether this process can build a shaped link (root, ip, tc with htb). */
export function canShape(): boolean {
  return process.getuid?.() === 0 && spawnSync("sh", ["-c", "command -v ip && command -v tc"], { stdio: "ignore" }).status === 0;
}

export function shapedLink(o: { mbit: number }): ShapedLink {
  const tag = (process.pid % 10_000).toString();
  const ns = `fizzbench-${tag}`;
  const host = `fzb${tag}h`;
  const peer = `fzb${tag}n`;
  const hostIp = "10.98.250.1";
  const remoteIp = "10.98.250.2";
  const shape = (prefix: string[], dev: string) => {
    run([...prefix, "tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "1"]);
    run([...prefix, "tc", "class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "htb", "rate", `${o.mbit}mbit`, "ceil", `${o.mbit}mbit`]);
  };
  const destroy = () => {
    spawnSync("ip", ["link", "del", host], { stdio: "ignore" });
    spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  };
  destroy();
  try {
    run(["ip", "netns", "add", ns]);
    run(["ip", "link", "add", host, "type", "veth", "peer", "name", peer]);
    run(["ip", "link", "set", peer, "netns", ns]);
    run(["ip", "addr", "add", `${hostIp}/30`, "dev", host]);
    run(["ip", "link", "set", host, "up"]);
    const inNs = ["ip", "netns", "exec", ns];
    run([...inNs, "ip", "addr", "add", `${remoteIp}/30`, "dev", peer]);
    run([...inNs, "ip", "link", "set", peer, "up"]);
    run([...inNs, "ip", "link", "set", "lo", "up"]);
    shape([], host);
    shape(inNs, peer);
  } catch (e) {
    destroy();
    throw e;
  }
  return { remoteIp, spawnVia: ["nsenter", `--net=/var/run/netns/${ns}`], destroy };
}
