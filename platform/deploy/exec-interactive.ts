/**
 * Interactive `fizz exec` with a TTY: the engine hijacks the HTTP connection
 * (Upgrade: tcp), after which the socket carries raw terminal bytes both ways.
 * undici cannot hand over an upgraded socket on a unix path, so this one call
 * uses node:http directly.
 */
import { request } from "node:http";
import type { Socket } from "node:net";
import { FizzError } from "../../core/errors.ts";
import type { Engine } from "../engine/index.ts";

export async function interactiveExec(engine: Engine, containerId: string, body: Record<string, unknown>): Promise<number> {
  const execId = await engine.exec.create(containerId, { ...body, AttachStdin: true, Tty: true } as Parameters<Engine["exec"]["create"]>[1]);
  const ep = engine.endpoint;
  const prefix = engine.apiVersion ? `/v${engine.apiVersion}` : "";
  const payload = JSON.stringify({ Detach: false, Tty: true });
  const target =
    ep.transport === "unix" ? { socketPath: ep.socketPath } : (() => {
      const u = new URL(ep.origin);
      return { host: u.hostname, port: Number(u.port) };
    })();

  const socket = await new Promise<Socket>((resolve, reject) => {
    const req = request({
      ...target,
      method: "POST",
      path: `${prefix}/exec/${encodeURIComponent(execId)}/start`,
      headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload), Connection: "Upgrade", Upgrade: "tcp" },
    });
    req.on("upgrade", (_res, sock, head) => {
      if (head.length) process.stdout.write(head);
      resolve(sock);
    });
    req.on("response", (res) => {
      // Engines that answer 200 instead of 101 still hijack the connection.
      if (res.statusCode === 200) resolve(res.socket);
      else {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => reject(new FizzError({ code: "engine.exec_failed", message: `exec start answered HTTP ${res.statusCode}: ${text.trim()}` })));
      }
    });
    req.on("error", (e) => reject(new FizzError({ code: "engine.exec_failed", message: `exec start failed: ${e.message}`, cause: e })));
    req.end(payload);
  });

  const resize = () => {
    const { columns, rows } = process.stdout;
    if (!columns || !rows) return;
    void engine.transport
      .empty({ method: "POST", path: `/exec/${encodeURIComponent(execId)}/resize`, query: { h: rows, w: columns }, ctx: { action: "resize exec" } })
      .catch(() => {});
  };
  resize();
  process.stdout.on("resize", resize);
  const stdin = process.stdin;
  const wasRaw = stdin.isRaw;
  stdin.setRawMode?.(true);
  stdin.resume();
  stdin.pipe(socket);
  socket.pipe(process.stdout);
  await new Promise<void>((resolve) => {
    socket.on("end", resolve);
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
  });
  stdin.unpipe(socket);
  stdin.setRawMode?.(wasRaw ?? false);
  stdin.pause();
  process.stdout.removeListener("resize", resize);
  let info = await engine.exec.inspect(execId);
  for (let i = 0; i < 50 && (info.Running || info.ExitCode === null); i++) {
    await new Promise((r) => setTimeout(r, 20));
    info = await engine.exec.inspect(execId);
  }
  return info.ExitCode ?? 1;
}
