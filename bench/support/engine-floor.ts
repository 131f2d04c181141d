/**
 * The engine's lower bound for `up -d` / `down` of an N-service stack: the same
 * network and containers created and started, then force-removed, with direct
 * engine API calls over the unix socket and unbounded parallelism (one
 * Promise.all). No labels logic, no plan, no process start: what is left is
 * the engine's own work plus one HTTP round trip per call.
 */
import { Agent, request } from "undici/index.js";

export interface FloorService {
  name: string;
  image: string;
  cmd: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
}

export class EngineApi {
  private readonly agent: Agent;
  constructor(readonly socketPath: string) {
    // No connection cap: every in-flight call gets its own connection.
    this.agent = new Agent({ connect: { socketPath }, keepAliveTimeout: 4_000 });
  }

  async call<T = unknown>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown, okStatus: number[] = []): Promise<T> {
    const r = await request(`http://localhost${path}`, {
      method,
      dispatcher: this.agent,
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    const text = await r.body.text();
    if (r.statusCode >= 300 && !okStatus.includes(r.statusCode)) throw new Error(`${method} ${path}: HTTP ${r.statusCode}: ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Creates the project network, then creates and starts every container at once. Returns the container ids. */
export async function floorUp(api: EngineApi, project: string, services: FloorService[], runLabel: Record<string, string>): Promise<string[]> {
  const network = `${project}_default`;
  await api.call("POST", "/networks/create", { Name: network, Driver: "bridge", CheckDuplicate: true, Labels: runLabel });
  return Promise.all(
    services.map(async (s) => {
      const name = `${project}-${s.name}-1`;
      const { Id } = await api.call<{ Id: string }>("POST", `/containers/create?name=${encodeURIComponent(name)}`, {
        Image: s.image,
        Cmd: s.cmd,
        Env: Object.entries(s.env).map(([k, v]) => `${k}=${v}`),
        Labels: { ...s.labels, ...runLabel },
        HostConfig: { NetworkMode: network },
        NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [s.name] } } },
      });
      await api.call("POST", `/containers/${Id}/start`, undefined, [304]);
      return Id;
    }),
  );
}

/** Force-removes the containers (all at once), then the network. */
export async function floorDown(api: EngineApi, project: string, ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => api.call("DELETE", `/containers/${id}?force=true&v=true`)));
  await api.call("DELETE", `/networks/${encodeURIComponent(`${project}_default`)}`);
}

/**
 * Removes every container carrying the run label and every network whose name starts
 * with `prefix`. A network removal is retried (the engine may still be releasing
 * endpoints); networks it could not remove are returned so the caller can say so.
 */
export async function sweep(api: EngineApi, runLabel: Record<string, string>, prefix: string): Promise<{ removed: number; stuck: string[] }> {
  const [k, v] = Object.entries(runLabel)[0]!;
  const filters = encodeURIComponent(JSON.stringify({ label: [`${k}=${v}`] }));
  const cs = await api.call<{ Id: string }[]>("GET", `/containers/json?all=true&filters=${filters}`);
  await Promise.all(cs.map((c) => api.call("DELETE", `/containers/${c.Id}?force=true&v=true`, undefined, [404]).catch(() => {})));
  const nets = await api.call<{ Name: string }[]>("GET", "/networks");
  const ours = nets.filter((n) => n.Name.startsWith(prefix));
  const stuck: string[] = [];
  for (const n of ours) {
    for (let i = 0; ; i++) {
      try {
        await api.call("DELETE", `/networks/${encodeURIComponent(n.Name)}`, undefined, [404]);
        break;
      } catch {
        if (i >= 2) {
          stuck.push(n.Name);
          break;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
  return { removed: cs.length + ours.length - stuck.length, stuck };
}

/** Number of running containers carrying the run label whose compose project (or name) belongs to `project`. */
export async function countRunning(api: EngineApi, runLabel: Record<string, string>, project: string): Promise<number> {
  const [k, v] = Object.entries(runLabel)[0]!;
  const filters = encodeURIComponent(JSON.stringify({ label: [`${k}=${v}`], status: ["running"] }));
  const cs = await api.call<{ Names?: string[] }[]>("GET", `/containers/json?filters=${filters}`);
  // fizz names containers project-svc-1, docker-compose 1.29 project_svc_1, the floor project-svc-1.
  return cs.filter((c) => (c.Names ?? []).some((n) => n.replace(/^\//, "").startsWith(`${project}-`) || n.replace(/^\//, "").startsWith(`${project}_`))).length;
}
