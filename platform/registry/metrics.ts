/**
 * The registry's Prometheus metrics, registered in the agent's registry:
 * hits and misses (by where a miss was served from), bytes fetched from
 * peers and upstreams, bytes served, blobs and bytes stored, GC results,
 * blobs fetched ahead of clients.
 */
import { Counter, Gauge, type Registry as PromRegistry } from "prom-client";

export interface RegistryMetrics {
  hit(kind: "blob" | "manifest"): void;
  miss(kind: "blob" | "manifest", from: "peer" | "upstream" | "none"): void;
  fetched(from: "peer" | "upstream", bytes: number): void;
  served(bytes: number): void;
  stored(blobs: number, bytes: number): void;
  gc(freedBytes: number, blobs: number): void;
  /** A blob fetched ahead of its client (prefetch.ts) arrived, or not. */
  prefetched(ok: boolean): void;
}

export function registryMetrics(registry: PromRegistry): RegistryMetrics {
  const hits = new Counter({ name: "fizz_registry_hits_total", help: "Registry reads served from this node's store", labelNames: ["kind"] as const, registers: [registry] });
  const misses = new Counter({ name: "fizz_registry_misses_total", help: "Registry reads of content this node lacked, by where it came from (none: not found)", labelNames: ["kind", "source"] as const, registers: [registry] });
  const fetched = new Counter({ name: "fizz_registry_fetched_bytes_total", help: "Bytes fetched into this node's registry, from peers or upstreams", labelNames: ["source"] as const, registers: [registry] });
  const served = new Counter({ name: "fizz_registry_served_bytes_total", help: "Blob bytes served by this node's registry (clients, engine and peers)", registers: [registry] });
  const blobs = new Gauge({ name: "fizz_registry_blobs", help: "Blobs and manifests stored on this node", registers: [registry] });
  const bytes = new Gauge({ name: "fizz_registry_stored_bytes", help: "Bytes stored by this node's registry", registers: [registry] });
  const gcFreed = new Counter({ name: "fizz_registry_gc_freed_bytes_total", help: "Bytes removed by registry garbage collection", registers: [registry] });
  const gcBlobs = new Counter({ name: "fizz_registry_gc_removed_blobs_total", help: "Blobs removed by registry garbage collection", registers: [registry] });
  const prefetched = new Counter({ name: "fizz_registry_prefetched_total", help: "Blobs fetched ahead of the client that read their manifest, by result (failed: the client's own request fetches it)", labelNames: ["result"] as const, registers: [registry] });
  for (const k of ["blob", "manifest"]) hits.inc({ kind: k }, 0);
  for (const r of ["fetched", "failed"]) prefetched.inc({ result: r }, 0);
  for (const s of ["peer", "upstream"]) fetched.inc({ source: s }, 0);
  return {
    hit: (kind) => hits.inc({ kind }),
    miss: (kind, source) => misses.inc({ kind, source }),
    fetched: (source, n) => fetched.inc({ source }, n),
    served: (n) => served.inc(n),
    stored: (n, b) => {
      blobs.set(n);
      bytes.set(b);
    },
    gc: (freed, n) => {
      gcFreed.inc(freed);
      gcBlobs.inc(n);
    },
    prefetched: (ok) => prefetched.inc({ result: ok ? "fetched" : "failed" }),
  };
}
