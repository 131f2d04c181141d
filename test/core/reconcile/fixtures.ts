/** Small builders for planner tests. */

import type {
  ActualContainer,
  ActualState,
  DesiredDependency,
  DesiredProject,
  DesiredService,
} from "../../../core/reconcile/types.ts";

export const EMPTY: ActualState = { containers: [], networks: [], volumes: [], images: [] };

export function svc(name: string, over: Partial<DesiredService<unknown>> = {}): DesiredService<unknown> {
  return {
    name,
    replicas: 1,
    configHash: `h-${name}`,
    image: `img/${name}:1`,
    pullPolicy: "missing",
    hasBuild: false,
    dependsOn: [],
    networks: ["default"],
    volumes: [],
    create: { marker: name },
    ...over,
  };
}

export function dep(
  service: string,
  condition: DesiredDependency["condition"] = "service_started",
  more: Partial<DesiredDependency> = {},
): DesiredDependency {
  return { service, condition, required: true, restart: false, ...more };
}

export function project(name: string, services: DesiredService<unknown>[], more: Partial<DesiredProject<unknown>> = {}): DesiredProject<unknown> {
  return {
    name,
    networks: [{ key: "default", name: `${name}_default`, external: false }],
    volumes: [],
    services,
    ...more,
  };
}

/**
 * A 3-tier stack: db (healthcheck, volume) ← migrate (job, waits healthy) ←
 * web ×2 (waits db healthy + migrate completed) ← proxy (started; restart: true on web).
 */
export function threeTier(): DesiredProject<unknown> {
  return project(
    "shop",
    [
      svc("db", { hasHealthcheck: true, volumes: ["data"], configFields: { image: "aaaa", environment: "bbbb" } }),
      svc("migrate", { dependsOn: [dep("db", "service_healthy")] }),
      svc("web", {
        replicas: 2,
        hasHealthcheck: true,
        configFields: { image: "cccc", environment: "dddd" },
        dependsOn: [dep("db", "service_healthy"), dep("migrate", "service_completed_successfully")],
      }),
      svc("proxy", { dependsOn: [dep("web", "service_started", { restart: true })] }),
    ],
    { volumes: [{ key: "data", name: "shop_data", external: false }] },
  );
}

let n = 0;
export function container(
  projectName: string,
  service: string,
  number: number,
  over: Partial<ActualContainer> = {},
): ActualContainer {
  return {
    id: `x${++n}`,
    name: `${projectName}-${service}-${number}`,
    project: projectName,
    service,
    number,
    configHash: `h-${service}`,
    state: "running",
    health: "none",
    oneoff: false,
    ...over,
  };
}
