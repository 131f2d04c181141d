/**
 * The `waitFor` gate, judged purely from the dependency's containers: the
 * executor re-lists them (or reacts to engine events) until the condition is
 * met or has failed, with its own timeout.
 */

import type { ActualContainer, DependsOnCondition } from "./types.ts";

export type ConditionStatus =
  | { readonly status: "met" }
  | { readonly status: "pending"; readonly reason: string }
  | { readonly status: "failed"; readonly reason: string };

function exited(c: ActualContainer): string {
  return `container ${c.name} exited (${c.exitCode ?? "unknown code"})`;
}

export function evaluateCondition(condition: DependsOnCondition, containers: readonly ActualContainer[]): ConditionStatus {
  const live = containers.filter((c) => !c.oneoff && c.state !== "removing");
  if (live.length === 0) return { status: "pending", reason: "no container yet" };
  switch (condition) {
    case "service_started": {
      const notYet = live.find((c) => c.state === "created");
      return notYet ? { status: "pending", reason: `container ${notYet.name} not started` } : { status: "met" };
    }
    case "service_healthy": {
      for (const c of live) {
        if (c.state === "exited" || c.state === "dead") return { status: "failed", reason: exited(c) };
        if (c.health === "unhealthy") return { status: "failed", reason: `container ${c.name} is unhealthy` };
      }
      for (const c of live) {
        if (c.state === "running" && c.health === "none") {
          return { status: "failed", reason: `container ${c.name} has no healthcheck configured` };
        }
      }
      const waiting = live.find((c) => !(c.state === "running" && c.health === "healthy"));
      return waiting ? { status: "pending", reason: `container ${waiting.name} is ${waiting.health === "starting" ? "starting" : waiting.state}` } : { status: "met" };
    }
    case "service_completed_successfully": {
      const failed = live.find((c) => (c.state === "exited" || c.state === "dead") && c.exitCode !== 0);
      if (failed) return { status: "failed", reason: `${exited(failed)}; service_completed_successfully needs exit code 0` };
      const running = live.find((c) => c.state !== "exited");
      return running ? { status: "pending", reason: `container ${running.name} is ${running.state}` } : { status: "met" };
    }
  }
}
