/**
 * The tree's shape, checked: dependencies point one way (cmd → controllers →
 * platform → core, each layer may skip down), and no module imports itself
 * back through others (no import circles, type-only imports included).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { REPO_ROOT, tsFiles } from "../support/source-tree.ts";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = REPO_ROOT;
const LAYERS = ["core", "platform", "controllers", "cmd"] as const;
const IMPORT = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^;]*?\sfrom\s+)?["'](\.[^"']+)["']/gm;


const graph = new Map<string, string[]>();
for (const layer of LAYERS) {
  for (const f of tsFiles(join(ROOT, layer))) {
    const deps: string[] = [];
    for (const m of readFileSync(f, "utf8").matchAll(IMPORT)) {
      const p = normalize(join(dirname(f), m[1]!));
      if (existsSync(p)) deps.push(p);
    }
    graph.set(f, deps);
  }
}
const rel = (p: string) => relative(ROOT, p);
const layerOf = (p: string) => LAYERS.indexOf(rel(p).split("/")[0] as (typeof LAYERS)[number]);

describe("imports", () => {
  test("point down the layers only", () => {
    const up: string[] = [];
    for (const [f, deps] of graph) for (const d of deps) if (layerOf(d) > layerOf(f)) up.push(`${rel(f)} → ${rel(d)}`);
    expect(up).toEqual([]);
  });

  test("form no circle", () => {
    // Tarjan's strongly connected components: any with two or more modules is a circle.
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const on = new Set<string>();
    const circles: string[][] = [];
    let i = 0;
    const visit = (v: string): void => {
      index.set(v, i);
      low.set(v, i++);
      stack.push(v);
      on.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
      if (low.get(v) === index.get(v)) {
        const c: string[] = [];
        for (;;) {
          const w = stack.pop()!;
          on.delete(w);
          c.push(rel(w));
          if (w === v) break;
        }
        if (c.length > 1) circles.push(c.sort());
      }
    };
    for (const v of graph.keys()) if (!index.has(v)) visit(v);
    expect(circles).toEqual([]);
  });
});
