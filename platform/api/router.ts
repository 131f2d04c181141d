/**
 * A tiny router: method + pattern (`/v1/deployments/:name/services/:service`)
 * → handler. Matching is on decoded segments (see path.ts), so `:name` can
 * never contain a slash. Unknown paths are 404, known paths with another
 * method are 405 with `Allow`.
 */
import type { Handler } from "./reply.ts";

export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RouteInfo {
  readonly method: Method;
  readonly pattern: string;
}

interface Route extends RouteInfo {
  readonly parts: readonly ({ readonly literal: string } | { readonly param: string })[];
  readonly handler: Handler;
}

/** Adds one resource's routes to a router (each routes-<resource>.ts exports a function returning one). */
export type RouteModule = (r: Router) => void;

export type Match =
  | { readonly kind: "found"; readonly route: RouteInfo; readonly handler: Handler; readonly params: Record<string, string> }
  | { readonly kind: "method_not_allowed"; readonly pattern: string; readonly allow: readonly Method[] }
  | { readonly kind: "not_found" };

export class Router {
  private readonly table: Route[] = [];

  add(method: Method, pattern: string, handler: Handler): this {
    const parts = pattern
      .split("/")
      .filter((p) => p !== "")
      .map((p) => (p.startsWith(":") ? { param: p.slice(1) } : { literal: p }));
    if (this.table.some((r) => r.method === method && r.pattern === pattern)) throw new Error(`duplicate route ${method} ${pattern}`);
    this.table.push({ method, pattern, parts, handler });
    return this;
  }

  get(p: string, h: Handler): this {
    return this.add("GET", p, h);
  }
  post(p: string, h: Handler): this {
    return this.add("POST", p, h);
  }
  put(p: string, h: Handler): this {
    return this.add("PUT", p, h);
  }
  delete(p: string, h: Handler): this {
    return this.add("DELETE", p, h);
  }

  routes(): RouteInfo[] {
    return this.table.map(({ method, pattern }) => ({ method, pattern }));
  }

  match(method: string, segments: readonly string[]): Match {
    const allow: Method[] = [];
    let pattern: string | undefined;
    // Literal segments beat parameters at the same position, so `/v1/containers/x`
    // can coexist with a future `/v1/containers/:id` regardless of order.
    let best: { route: Route; params: Record<string, string>; score: number } | undefined;
    for (const r of this.table) {
      const params = matchParts(r.parts, segments);
      if (!params) continue;
      const score = r.parts.reduce((n, p) => n * 2 + ("literal" in p ? 1 : 0), 0);
      if (r.method === method || (method === "HEAD" && r.method === "GET")) {
        if (!best || score > best.score) best = { route: r, params, score };
      } else {
        allow.push(r.method);
        pattern ??= r.pattern;
      }
    }
    if (best) return { kind: "found", route: { method: best.route.method, pattern: best.route.pattern }, handler: best.route.handler, params: best.params };
    if (allow.length && pattern) return { kind: "method_not_allowed", pattern, allow: [...new Set(allow)] };
    return { kind: "not_found" };
  }
}

function matchParts(parts: Route["parts"], segments: readonly string[]): Record<string, string> | undefined {
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const s = segments[i]!;
    if ("literal" in p) {
      if (p.literal !== s) return undefined;
    } else params[p.param] = s;
  }
  return params;
}
