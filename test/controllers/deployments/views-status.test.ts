/**
 * `fizz ls` on a project with a one-shot job (the quick start's migrate): a job
 * that exited 0 is done, not a missing replica, so the deployment does not read
 * as degraded (`running(2), exited(1)`, as `docker compose ls` says); a job that
 * failed, or a restart:always service that exited, still counts as missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { deploymentStatus } from "../../../cmd/deployment-status.ts";
import { MemoryEngine } from "../../support/memory-engine.ts";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";

const dir = mkdtempSync(`${tmpdir()}/fizz-views-status-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const compose = [
  "services:",
  "  migrate:",
  "    image: fizz-test/busybox:1",
  '    command: ["true"]',
  '    restart: "no"',
  "  web:",
  "    image: fizz-test/busybox:1",
  '    command: ["sleep", "3600"]',
  "    restart: always",
  "    deploy: { replicas: 2 }",
  "",
].join("\n");

describe("deployment status with one-shot jobs", () => {
  let a: TestAgent;
  const engine = new MemoryEngine({ now: Date.now, images: ["fizz-test/busybox:1"] });
  beforeAll(async () => {
    a = await startTestAgent({ name: "views", dir, engine });
    await a.client.up("shop", { files: [{ name: "compose.yaml", content: compose }], workingDir: "/srv/shop" });
  });
  afterAll(() => a.stop());

  const exit = (service: string, code: number) => {
    for (const c of engine.containersById.values()) {
      if (c.labels["com.docker.compose.service"] === service) {
        c.state = "exited";
        c.exitCode = code;
      }
    }
  };

  test("a job that exited 0 is completed: running(2), exited(1)", async () => {
    exit("migrate", 0);
    const [d] = await a.client.listDeployments();
    expect(d).toMatchObject({ name: "shop", running: 2, desired: 3, completed: 1 });
    expect(deploymentStatus(d!)).toBe("running(2), exited(1)");
  });

  test("a job that failed is missing, not completed", async () => {
    exit("migrate", 1);
    const [d] = await a.client.listDeployments();
    expect(d).toMatchObject({ running: 2, desired: 3, completed: 0 });
    expect(deploymentStatus(d!)).toBe("running(2/3)");
  });

  test("a restart:always service that exited 0 is missing too", async () => {
    exit("migrate", 0);
    exit("web", 0);
    const [d] = await a.client.listDeployments();
    expect(d).toMatchObject({ running: 0, desired: 3, completed: 1 });
    expect(deploymentStatus(d!)).toBe("running(0/2), exited(1)");
  });
});

describe("deploymentStatus", () => {
  test("all running, some missing, none wanted, no completed field (older agents, cluster summaries)", () => {
    expect(deploymentStatus({ running: 3, desired: 3 })).toBe("running(3)");
    expect(deploymentStatus({ running: 1, desired: 3 })).toBe("running(1/3)");
    expect(deploymentStatus({ running: 0, desired: 0 })).toBe("running(0)");
    expect(deploymentStatus({ running: 0, desired: 1, completed: 1 })).toBe("running(0), exited(1)");
  });
});
