import { describe, expect, test } from "bun:test";
import { engineMismatchError, shellQuote, withoutFlags, type MismatchInput } from "../../cmd/engine-mismatch.ts";

const docker = { name: "docker", id: "docker:RHTF", address: "unix:///var/run/docker.sock" } as const;
const podman = { name: "podman", id: "podman:vm:/var/lib/containers/storage", address: "unix:///run/podman/podman.sock" } as const;
const base: MismatchInput = {
  verb: "up",
  args: ["up", "-d", "--wait", "-f", "examples/wordpress-compose.yml"],
  env: { DOCKER_HOST: "unix:///run/podman/podman.sock" },
  source: "DOCKER_HOST",
  requested: podman,
  agent: docker,
  agentAddress: "unix:/run/fizz/fizz.sock",
  secondAgent: { dataDir: "/var/lib/fizz-podman", api: "unix:/run/fizz/fizz-podman.sock" },
};

describe("engine mismatch refusal", () => {
  test("names the agent's engine, the requested one and where the request came from", () => {
    const e = engineMismatchError(base);
    expect(e.code).toBe("client.engine_mismatch");
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe(
      "the fizz agent at unix:/run/fizz/fizz.sock deploys on docker (unix:///var/run/docker.sock), but DOCKER_HOST asks for podman (unix:///run/podman/podman.sock); nothing was changed",
    );
  });

  test("up: the three ways on, as command lines made from the user's own", () => {
    const hint = engineMismatchError(base).hint!;
    expect(hint).toContain("    fizz up -d --wait -f examples/wordpress-compose.yml --no-agent\n      on podman, as docker compose does");
    expect(hint).toContain("    env -u DOCKER_HOST fizz up -d --wait -f examples/wordpress-compose.yml\n      on docker, kept by this agent");
    expect(hint).toContain(
      "    fizz agent --engine unix:///run/podman/podman.sock --data-dir /var/lib/fizz-podman --api unix:/run/fizz/fizz-podman.sock &\n    FIZZ_HOST=unix:/run/fizz/fizz-podman.sock fizz up -d --wait -f examples/wordpress-compose.yml\n      on podman, kept by a second agent",
    );
  });

  test("--engine is dropped (not unset) for the agent's engine; every set engine variable is unset", () => {
    const hint = engineMismatchError({ ...base, args: ["up", "-d", "--engine", "podman", "-p", "shop"], source: "--engine", env: { FIZZ_ENGINE: "podman", DOCKER_HOST: "" } }).hint!;
    expect(hint).toContain("    env -u FIZZ_ENGINE fizz up -d -p shop\n");
    const both = engineMismatchError({ ...base, args: ["up", "--engine=podman", "-d"], source: "--engine", env: { FIZZ_ENGINE: "x", DOCKER_HOST: "y" } }).hint!;
    expect(both).toContain("    env -u FIZZ_ENGINE -u DOCKER_HOST fizz up -d\n");
  });

  test("two engines of one kind are told apart by their IDs", () => {
    const other = { name: "docker", id: "docker:OTHER", address: "tcp://127.0.0.1:2375" } as const;
    const e = engineMismatchError({ ...base, requested: other, source: "--engine", args: ["up", "-d", "--engine", "tcp://127.0.0.1:2375"] });
    expect(e.message).toContain("deploys on docker (unix:///var/run/docker.sock, engine docker:RHTF), but --engine asks for docker (tcp://127.0.0.1:2375, engine docker:OTHER)");
  });

  test("down: remove from the named engine directly, or the agent's deployment", () => {
    const e = engineMismatchError({ ...base, verb: "down", args: ["down", "-v"] });
    expect(e.message).toEndWith("; nothing was changed");
    expect(e.hint).toContain("    fizz down -v --no-agent\n      removes the project's containers on podman");
    expect(e.hint).toContain("    env -u DOCKER_HOST fizz down -v\n      removes the agent's deployment on docker");
  });

  test("ps/logs through -H: read the engine directly, or the agent's view", () => {
    const e = engineMismatchError({ ...base, verb: "ps", args: ["-H", "unix:/tmp/a.sock", "ps"] });
    expect(e.message).toContain("runs on docker");
    expect(e.message).not.toContain("nothing was changed");
    expect(e.hint).toContain("    env -u FIZZ_HOST fizz ps\n");
  });

  test("an agent that does not report its engine is refused too", () => {
    expect(engineMismatchError({ ...base, agent: undefined }).message).toContain("deploys on an engine it does not report");
  });

  test("flags after -- belong to the command, not to fizz", () => {
    expect(withoutFlags(["exec", "web", "--", "x", "--engine", "y"], ["--engine"])).toEqual(["exec", "web", "--", "x", "--engine", "y"]);
    const hint = engineMismatchError({ ...base, verb: "up", args: ["up", "-d", "--", "ignored"] }).hint!;
    expect(hint).toContain("fizz up -d --no-agent -- ignored");
  });

  test("shell quoting", () => {
    expect(shellQuote("examples/x.yml")).toBe("examples/x.yml");
    expect(shellQuote("my file.yml")).toBe("'my file.yml'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    const hint = engineMismatchError({ ...base, args: ["up", "-d", "-f", "my stack.yml"] }).hint!;
    expect(hint).toContain("fizz up -d -f 'my stack.yml' --no-agent");
  });
});
