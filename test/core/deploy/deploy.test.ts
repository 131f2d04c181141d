import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import type { Project } from "../../../core/compose/model.ts";
import { actualState, desiredProject, healthFromStatus, imageAliases, instantiate, resolveEnvironment, withResolvedEnvironment } from "../../../core/deploy/index.ts";
import { plan } from "../../../core/reconcile/plan.ts";
import { LABEL } from "../../../core/labels.ts";

/** `resolveEnvironment: false` keeps env_file in the model, as a project sent to the agent by an older CLI has it. */
function load(files: Record<string, string>, env: Record<string, string> = {}, resolveEnvironment = true): Project {
  const r = loadProject({ cwd: "/p/shop", env, reader: { read: (p) => files[p] }, resolveEnvironment });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => d.message).join("\n"));
  return r.project!;
}

const STACK = `
services:
  web:
    image: fizz-test/busybox:1
    command: ["httpd", "-f", "-p", "80"]
    ports: ["127.0.0.1:8080:80", "9000-9001:9000-9001/udp"]
    environment:
      GREETING: hello
      FROM_HOST:
    volumes:
      - data:/data
      - ./site:/www:ro
      - type: tmpfs
        target: /tmp
        tmpfs: { size: 1m }
    depends_on:
      api: { condition: service_healthy }
    networks: [front, back]
    deploy:
      replicas: 3
      resources: { limits: { cpus: "0.5", memory: 64M } }
    restart: unless-stopped
    stop_grace_period: 3s
  api:
    image: fizz-test/busybox:1
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      retries: 2
    networks: [back]
volumes:
  data: {}
networks:
  front: {}
  back: {}
`;

describe("desiredProject", () => {
  const project = load({ "/p/shop/compose.yaml": STACK });
  const { desired, warnings } = desiredProject(project, { node: "n1" });

  test("resolves names, replicas, dependencies and used resources", () => {
    expect(warnings).toEqual([]);
    const web = desired.services.find((s) => s.name === "web")!;
    expect(web.replicas).toBe(3);
    expect(web.dependsOn).toEqual([{ service: "api", condition: "service_healthy", required: true, restart: false }]);
    expect(desired.networks.map((n) => n.name).sort()).toEqual(["shop_back", "shop_front"]);
    expect(desired.volumes.map((v) => v.name)).toEqual(["shop_data"]);
    expect(desired.networks[0]!.labels![LABEL.node]).toBe("n1");
  });

  test("create body carries ports, mounts, resources, healthcheck and restart policy", () => {
    const web = desired.services.find((s) => s.name === "web")!;
    const inst = instantiate(web.create!, { number: 2, name: "shop-web-2", configHash: web.configHash });
    const b = inst.body;
    expect(inst.name).toBe("shop-web-2");
    expect(b.Cmd).toEqual(["httpd", "-f", "-p", "80"]);
    expect(b.HostConfig.PortBindings!["80/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: "8080" }]);
    expect(b.HostConfig.PortBindings!["9001/udp"]).toEqual([{ HostPort: "9001" }]);
    expect(b.HostConfig.NanoCpus).toBe(500_000_000);
    expect(b.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(b.HostConfig.RestartPolicy).toEqual({ Name: "unless-stopped" });
    expect(b.StopTimeout).toBe(3);
    const mounts = b.HostConfig.Mounts!;
    expect(mounts.find((m) => m.Target === "/data")).toMatchObject({ Type: "volume", Source: "shop_data" });
    expect(mounts.find((m) => m.Target === "/www")).toMatchObject({ Type: "bind", Source: "/p/shop/site", ReadOnly: true });
    expect(mounts.find((m) => m.Target === "/tmp")).toMatchObject({ Type: "tmpfs", TmpfsOptions: { SizeBytes: 1024 * 1024 } });
    expect(b.Labels![LABEL.containerNumber]).toBe("2");
    expect(b.Labels![LABEL.dependsOn]).toBe("api:service_healthy:false");
    // One network in the body (API < 1.44 takes one); the other is connected before start.
    expect(Object.keys(b.NetworkingConfig!.EndpointsConfig)).toHaveLength(1);
    expect(inst.extraNetworks).toHaveLength(1);
    expect(b.NetworkingConfig!.EndpointsConfig[b.HostConfig.NetworkMode!]!.Aliases).toContain("web");
    const api = desired.services.find((s) => s.name === "api")!;
    expect(api.create!.body.Healthcheck).toEqual({ Test: ["CMD", "true"], Interval: 1_000_000_000, Retries: 2 });
  });

  test("a fresh plan creates networks, volume and all replicas, gated on api health", () => {
    const p = plan(desired, { containers: [], networks: [], volumes: [], images: [{ ref: "fizz-test/busybox:1", id: "sha256:x" }] });
    const kinds = p.steps.map((s) => s.kind);
    expect(kinds.filter((k) => k === "createNetwork")).toHaveLength(2);
    expect(kinds.filter((k) => k === "createVolume")).toHaveLength(1);
    expect(kinds.filter((k) => k === "createContainer")).toHaveLength(4);
    const gate = p.steps.find((s) => s.kind === "waitFor")!;
    const webStart = p.steps.find((s) => s.kind === "startContainer" && s.container.service === "web")!;
    expect(webStart.after).toContain(gate.id);
  });
});

describe("SELinux relabelling", () => {
  test("a bind with :z or :Z goes to the engine as a Binds entry (its Mounts API cannot relabel), so the container can read it on an SELinux host", () => {
    const p = load({ "/p/shop/compose.yaml": "services:\n  a:\n    image: x\n    volumes:\n      - ./src:/src:ro,z\n      - ./priv:/priv:Z\n      - type: bind\n        source: ./shared\n        target: /shared\n        bind: {selinux: z, propagation: rshared}\n      - ./plain:/plain\n" });
    const { desired } = desiredProject(p);
    const body = instantiate(desired.services[0]!.create!, { number: 1, name: "shop-a-1", configHash: "h" }).body;
    expect(body.HostConfig.Binds).toEqual(["/p/shop/src:/src:ro,z", "/p/shop/priv:/priv:Z", "/p/shop/shared:/shared:rshared,z"]);
    expect(body.HostConfig.Mounts?.map((m) => m.Target)).toEqual(["/plain"]);
  });
});

describe("secrets without the agent", () => {
  test("uid, gid and mode of a bind-mounted secret or config are said not to be applied (the host file's owner and mode are what the container sees)", () => {
    const p = load({
      "/p/shop/compose.yaml": "services:\n  a:\n    image: x\n    secrets:\n      - source: pw\n        uid: '1000'\n        mode: 0400\n      - plain\n    configs:\n      - source: conf\n        gid: '10'\nsecrets:\n  pw:\n    file: ./pw.txt\n  plain:\n    file: ./plain.txt\nconfigs:\n  conf:\n    file: ./app.conf\n",
    });
    const { warnings } = desiredProject(p);
    expect(warnings.filter((w) => w.includes("not applied without the agent"))).toEqual([
      "service 'a': secrets.pw: uid, mode are not applied without the agent: the file is bind-mounted with its owner and mode on the host; set them on the file, or run fizz up -d with an agent, which delivers it with them",
      "service 'a': configs.conf: gid is not applied without the agent: the file is bind-mounted with its owner and mode on the host; set them on the file, or run fizz up -d with an agent, which delivers it with them",
    ]);
  });
});

describe("profiles", () => {
  test("a running container of a service the active profiles leave out is not an orphan (up after --profile debug up)", () => {
    const p = load({ "/p/shop/compose.yaml": "services:\n  app:\n    image: fizz-test/busybox:1\n  tools:\n    image: fizz-test/busybox:1\n    profiles: [debug]\n" });
    const { desired } = desiredProject(p);
    const labels = (service: string) => ({ [LABEL.project]: "shop", [LABEL.service]: service, [LABEL.containerNumber]: "1", [LABEL.oneoff]: "False" });
    const actual = actualState({
      containers: [{ Id: "t", Names: ["/shop-tools-1"], Labels: labels("tools"), State: "running", Status: "Up" }],
      networks: [],
      volumes: [],
      images: [{ Id: "sha256:1", RepoTags: ["fizz-test/busybox:1"] }],
    });
    const up = plan(desired, actual);
    expect(up.warnings.join("\n")).not.toContain("orphan");
    expect(plan(desired, actual, { removeOrphans: true }).steps.some((s) => s.kind === "removeContainer")).toBe(false);
  });
});

describe("environment", () => {
  test("env_file under environment; valueless vars come from the host or are dropped", () => {
    const files: Record<string, string> = {
      "/p/shop/compose.yaml": `services:\n  a:\n    image: x\n    env_file: [a.env]\n    environment: [B=from-compose, C, D]\n`,
      "/p/shop/a.env": "A=1\nB=from-file\n",
    };
    const project = load(files);
    const env = resolveEnvironment(project.services.a!, (p) => files[p], { C: "host" });
    expect(env).toEqual({ A: "1", B: "from-compose", C: "host" });
    const svc = withResolvedEnvironment(project.services.a!, (p) => files[p], {});
    expect(svc.env_file).toBeUndefined();
  });

  test("a required env_file deleted after validation is a precise error; an optional one is skipped", () => {
    const project = load({
      "/p/shop/compose.yaml": `services:\n  a:\n    image: x\n    env_file:\n      - path: ./opt.env\n        required: false\n      - ./req.env\n`,
      "/p/shop/req.env": "X=1\n",
    }, {}, false);
    expect(() => resolveEnvironment(project.services.a!, () => undefined, {})).toThrow(/env_file \/p\/shop\/req.env does not exist/);
  });

  test("a malformed env_file line is reported with file and line", () => {
    const project = load({ "/p/shop/compose.yaml": `services:\n  a:\n    image: x\n    env_file: [bad.env]\n`, "/p/shop/bad.env": "" }, {}, false);
    try {
      resolveEnvironment(project.services.a!, () => "OK=1\nnot valid line\n", {});
      throw new Error("expected an error");
    } catch (e) {
      expect((e as { location?: unknown }).location).toEqual({ file: "/p/shop/bad.env", line: 2, column: 1 });
    }
  });
});

describe("actualState", () => {
  test("reads our labels, health and exit codes; ignores foreign containers", () => {
    const labels = { [LABEL.project]: "shop", [LABEL.service]: "web", [LABEL.containerNumber]: "1", [LABEL.configHash]: "abc", [LABEL.oneoff]: "False" };
    const a = actualState({
      containers: [
        { Id: "1", Names: ["/shop-web-1"], Labels: labels, State: "running", Status: "Up 2 minutes (healthy)" },
        { Id: "2", Names: ["/other"], Labels: { foo: "bar" }, State: "running", Status: "Up" },
        { Id: "3", Names: ["/shop-web-2"], Labels: { ...labels, [LABEL.containerNumber]: "2" }, State: "exited", Status: "Exited (137) 3 seconds ago" },
      ],
      networks: [],
      volumes: [],
      images: [{ Id: "sha256:1", RepoTags: ["a:1", "<none>:<none>"] }],
    });
    expect(a.containers.map((c) => [c.name, c.state, c.health, c.exitCode])).toEqual([
      ["shop-web-1", "running", "healthy", undefined],
      ["shop-web-2", "exited", "none", 137],
    ]);
    expect(a.images).toEqual([{ ref: "a:1", id: "sha256:1" }]);
    expect(healthFromStatus("Up 1 second (health: starting)")).toBe("starting");
    expect(imageAliases("localhost/fizz-test/busybox:1")).toEqual(["localhost/fizz-test/busybox:1", "fizz-test/busybox:1"]);
    expect(imageAliases("docker.io/library/redis:7")).toEqual(["docker.io/library/redis:7", "redis:7", "library/redis:7"]);
    expect(healthFromStatus("Up 1 second (unhealthy)")).toBe("unhealthy");
  });

  test("an image Fizz built carries the hash of the build settings it was built with", () => {
    const a = actualState({ containers: [], networks: [], volumes: [], images: [{ Id: "sha256:2", RepoTags: ["shop-web:latest"], Labels: { [LABEL.buildHash]: "h1", other: "x" } }, { Id: "sha256:3", RepoTags: ["b:1"], Labels: null }] });
    expect(a.images).toEqual([
      { ref: "shop-web:latest", id: "sha256:2", buildHash: "h1" },
      { ref: "b:1", id: "sha256:3" },
    ]);
  });
});
