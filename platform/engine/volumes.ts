/** Volume calls: create, inspect, list (by label), remove. */
import type { Transport } from "./transport.ts";
import { encodeFilters, type FilterInput } from "./filters.ts";
import type { VolumeCreateBody, VolumeInspect } from "./types.ts";

const subject = (name: string) => ({ kind: "volume" as const, name });

export class Volumes {
  constructor(private readonly t: Transport) {}

  create(body: VolumeCreateBody): Promise<VolumeInspect> {
    return this.t.json({ method: "POST", path: "/volumes/create", body, ctx: { action: "create volume", ...(body.Name ? { subject: subject(body.Name) } : {}) } });
  }

  inspect(name: string): Promise<VolumeInspect> {
    return this.t.json({ method: "GET", path: `/volumes/${encodeURIComponent(name)}`, ctx: { action: "inspect volume", subject: subject(name) } });
  }

  async list(opts: FilterInput = {}): Promise<VolumeInspect[]> {
    const res = await this.t.json<{ Volumes: VolumeInspect[] | null }>({
      method: "GET",
      path: "/volumes",
      query: { filters: encodeFilters(opts) },
      ctx: { action: "list volumes" },
    });
    return res.Volumes ?? [];
  }

  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.t.empty({ method: "DELETE", path: `/volumes/${encodeURIComponent(name)}`, query: { force: opts.force }, ctx: { action: "remove volume", subject: subject(name) } });
  }
}
