/**
 * One UDP ingress port: datagrams from each client address form a flow that
 * sticks to one replica (its own upstream socket, so replies find their way
 * back) until it is idle for `idleMs`. The backend sees the node's address:
 * UDP has no in-band way to carry the client's (noted in `fizz why`).
 */
import dgram from "node:dgram";
import type { Backend } from "../../core/ingress/balancer.ts";
import type { BackendSet } from "./backends.ts";
import type { Upstream } from "./upstream-pool.ts";

export interface UdpIngressOptions {
  readonly host: string;
  readonly port: number;
  backends(): BackendSet | undefined;
  readonly idleMs: number;
  now(): number;
}

interface Flow {
  readonly sock: dgram.Socket;
  readonly backend: Backend<Upstream>;
  readonly set: BackendSet;
  last: number;
}

export class UdpIngress {
  private flows = new Map<string, Flow>();
  private timer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    private readonly o: UdpIngressOptions,
    private readonly sock: dgram.Socket,
  ) {}

  static async open(o: UdpIngressOptions): Promise<UdpIngress> {
    const sock = dgram.createSocket({ type: o.host.includes(":") ? "udp6" : "udp4" });
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(o.port, o.host, () => {
        sock.off("error", reject);
        resolve();
      });
    });
    const u = new UdpIngress(o, sock);
    sock.on("message", (msg, rinfo) => u.onMessage(msg, rinfo));
    sock.on("error", () => {});
    u.timer = setInterval(() => u.sweep(), 1000);
    u.timer.unref?.();
    return u;
  }

  get port(): number {
    return this.sock.address().port;
  }

  flowCount(): number {
    return this.flows.size;
  }

  private onMessage(msg: Buffer, from: dgram.RemoteInfo): void {
    const key = `${from.address}|${from.port}`;
    let f = this.flows.get(key);
    if (f && f.backend.state !== "ready") {
      this.end(key, f);
      f = undefined;
    }
    if (!f) {
      const set = this.o.backends();
      // The relay carries TCP only: UDP goes to replicas on this node (open: over the mesh, to any).
      const remote = set ? set.balancer.backends().filter((x) => x.target.relay !== undefined).map((x) => x.key) : [];
      const b = set?.balancer.pick(this.o.now(), remote);
      if (!set || !b) return; // No replica: dropped, as a lost datagram would be.
      const up = dgram.createSocket({ type: b.target.host.includes(":") ? "udp6" : "udp4" });
      up.on("error", () => {});
      up.on("message", (reply) => {
        const fl = this.flows.get(key);
        if (fl) fl.last = this.o.now();
        this.sock.send(reply, from.port, from.address);
      });
      set.balancer.start(b);
      f = { sock: up, backend: b, set, last: this.o.now() };
      this.flows.set(key, f);
    }
    f.last = this.o.now();
    f.sock.send(msg, f.backend.target.port, f.backend.target.host);
  }

  private end(key: string, f: Flow): void {
    this.flows.delete(key);
    f.set.balancer.finish(f.backend, "ok", this.o.now());
    f.sock.close();
  }

  private sweep(): void {
    const now = this.o.now();
    for (const [k, f] of this.flows) if (now - f.last > this.o.idleMs) this.end(k, f);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const [k, f] of this.flows) this.end(k, f);
    this.sock.close();
  }
}
