/**
 * The loop of a controller that converges something on this node (DNS
 * listeners, the WireGuard interface) on the cluster state: one pass at a
 * time; a call during a pass makes one more pass right after it (and the
 * caller waits for that one); `schedule(ms)` asks for a pass after a delay,
 * and requests while a timer is set coalesce into it. Its timers never keep
 * the process alive. The pass handles its own errors (it must not throw).
 */
export class ConvergeLoop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private busy = false;
  private again = false;
  private halted = false;

  constructor(private readonly pass: () => Promise<void>) {}

  /** Set once `stop` was called: no more passes start. */
  get stopped(): boolean {
    return this.halted;
  }

  /** A pass after `delayMs`, unless one is already waiting for its timer. */
  schedule(delayMs: number): void {
    if (this.halted || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delayMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** A pass now, or, during one, one more right after it; resolves when the passes are done. */
  run(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return this.running ?? Promise.resolve();
    }
    this.busy = true;
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.halted);
    })().finally(() => {
      this.busy = false;
      this.running = undefined;
    });
    return this.running;
  }

  /** No more passes; resolves when the one under way (if any) has finished. */
  stop(): Promise<void> {
    this.halted = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.running?.catch(() => undefined) ?? Promise.resolve();
  }
}
