/**
 * start_interval on a Docker engine older than API 1.44 (Debian 12's docker.io
 * speaks 1.41): the engine ignores it, so `up --wait` of a service_healthy
 * dependency took the whole interval (30 s) with no word why. Fizz says so.
 */
import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import { unhonouredByEngine } from "../../../core/engine/unhonoured.ts";

const project = loadProject({
  cwd: "/p",
  env: {},
  reader: {
    read: (p) =>
      p === "/p/compose.yaml"
        ? "services:\n  db:\n    image: x\n    healthcheck:\n      test: [CMD, 'true']\n      start_period: 20s\n      start_interval: 1s\n  web:\n    image: x\n    healthcheck:\n      test: [CMD, 'true']\n      interval: 5s\n      start_interval: 1s\n  plain:\n    image: x\n"
        : undefined,
  },
}).project!;

describe("unhonouredByEngine", () => {
  test("Docker before API 1.44: one warning per service with start_interval, naming the interval it probes at instead", () => {
    const w = unhonouredByEngine(project, { name: "docker", apiVersion: "1.41" });
    expect(w).toHaveLength(2);
    expect(w[0]).toStartWith("services.db.healthcheck.start_interval: this Docker engine (API 1.41) ignores it");
    expect(w[0]).toContain("every 30s");
    expect(w[1]).toContain("every 5s");
  });
  test("Docker 1.44 and later, and Podman, run it: nothing to say", () => {
    expect(unhonouredByEngine(project, { name: "docker", apiVersion: "1.44" })).toEqual([]);
    expect(unhonouredByEngine(project, { name: "docker", apiVersion: "1.45" })).toEqual([]);
    expect(unhonouredByEngine(project, { name: "podman", apiVersion: "1.41" })).toEqual([]);
  });
});
