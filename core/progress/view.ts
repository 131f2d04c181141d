/**
 * The progress of a multi-step operation (up, pull, build, down) as a view
 * model: one row per object (`Container shop-web-1`, `Image api`), its state,
 * the verb Compose prints (`Starting`, `Started`), elapsed time, and for
 * pulls the bytes of each layer (summed into one bar), for builds the last
 * output line. Renderers (plain lines, a redrawn TTY block, JSON lines) read
 * it. Pure: time is passed in.
 */

export type RowState = "working" | "done" | "failed";

export type ProgressInput =
  /** An object's step began (`Creating`, `Pulling`…). */
  | { type: "start"; id: string; text: string; at: number }
  /** It finished (`Created`, `Pulled`…), with an optional dim note (why it was recreated). */
  | { type: "done"; id: string; text: string; at: number; note?: string }
  | { type: "failed"; id: string; text: string; at: number }
  /** Bytes of one layer of an image pull. */
  | { type: "bytes"; id: string; layer: string; status: string; current?: number; total?: number; at: number }
  /** A line of build output, or a status line of a pull. */
  | { type: "line"; id: string; line: string; at: number }
  /** Something that is not a row (a rollback). */
  | { type: "note"; text: string; at: number };

export interface Row {
  /** `Container shop-web-1`: what Compose prints in the first column. */
  readonly id: string;
  state: RowState;
  text: string;
  note?: string;
  startedAt: number;
  endedAt?: number;
  layers: Map<string, { status: string; current: number; total: number }>;
  lastLine?: string;
}

export class ProgressView {
  private readonly order: string[] = [];
  private readonly byId = new Map<string, Row>();
  readonly notes: string[] = [];

  apply(e: ProgressInput): Row | undefined {
    if (e.type === "note") {
      this.notes.push(e.text);
      return undefined;
    }
    let row = this.byId.get(e.id);
    if (!row) {
      row = { id: e.id, state: "working", text: "", startedAt: e.at, layers: new Map() };
      this.byId.set(e.id, row);
      this.order.push(e.id);
    }
    switch (e.type) {
      case "start":
        row.state = "working";
        row.text = e.text;
        row.startedAt = e.at;
        delete row.endedAt;
        break;
      case "done":
        row.state = "done";
        row.text = e.text;
        row.endedAt = e.at;
        if (e.note) row.note = e.note;
        else delete row.note;
        break;
      case "failed":
        row.state = "failed";
        row.text = e.text;
        row.endedAt = e.at;
        break;
      case "bytes": {
        const prev = row.layers.get(e.layer);
        row.layers.set(e.layer, { status: e.status, current: e.current ?? prev?.current ?? 0, total: e.total ?? prev?.total ?? 0 });
        break;
      }
      case "line":
        row.lastLine = e.line;
        break;
    }
    return row;
  }

  rows(): Row[] {
    return this.order.map((id) => this.byId.get(id)!);
  }

  get finished(): boolean {
    return this.rows().every((r) => r.state !== "working");
  }
}

/** Bytes summed over an image's layers that report a size. */
export function pullBytes(row: Row): { current: number; total: number } | undefined {
  let current = 0;
  let total = 0;
  for (const l of row.layers.values()) {
    if (!l.total) continue;
    total += l.total;
    current += /complete|exists/i.test(l.status) ? l.total : Math.min(l.current, l.total);
  }
  return total ? { current, total } : undefined;
}

/** `[=======>      ]` of the given width. */
export function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const inner = Math.max(1, width - 2);
  const full = Math.floor(f * inner);
  return `[${"=".repeat(Math.max(0, full - (f < 1 ? 1 : 0)))}${f < 1 && full > 0 ? ">" : ""}${" ".repeat(inner - full)}]`;
}

/** Docker's human sizes: 3 significant digits, decimal units. */
export function humanBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

const SPIN = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** The block a terminal shows (redrawn in place): one line per row, elapsed seconds at the right. */
export function ttyLines(view: ProgressView, now: number, width: number, paint: (code: string, s: string) => string = (_c, s) => s): string[] {
  const rows = view.rows();
  const idWidth = Math.min(Math.max(0, ...rows.map((r) => r.id.length)), Math.max(20, width - 40));
  return rows.map((r) => {
    const mark = r.state === "done" ? paint("32", "✔") : r.state === "failed" ? paint("31", "✘") : paint("36", SPIN[Math.floor(now / 80) % SPIN.length]!);
    const secs = `${(((r.endedAt ?? now) - r.startedAt) / 1000).toFixed(1)}s`;
    let detail = r.text + (r.note ? paint("2", ` (${r.note})`) : "");
    if (r.state === "working") {
      const b = pullBytes(r);
      if (b) detail += ` ${bar(b.current / b.total, 22)} ${humanBytes(b.current)}/${humanBytes(b.total)}`;
      else if (r.lastLine) detail += paint("2", ` ${r.lastLine}`);
    }
    const head = ` ${mark} ${r.id.padEnd(idWidth)} `;
    const room = Math.max(10, width - head.length - secs.length - 1);
    const visible = detail.replace(/\x1b\[[0-9;]*m/g, "");
    const shown = visible.length > room ? `${visible.slice(0, room - 1)}…` : detail;
    const pad = Math.max(1, width - head.length - shown.replace(/\x1b\[[0-9;]*m/g, "").length - secs.length);
    return `${head}${shown}${" ".repeat(pad)}${paint("2", secs)}`;
  });
}
