import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import { oneOffInstance, oneOffName, oneOffService, type RunOverrides } from "../../../core/deploy/one-off.ts";
import { LABEL, parseLabels } from "../../../core/labels.ts";

const project = loadProject({
  cwd: "/p",
  env: {},
  reader: {
    read: (p) =>
      p === "/p/compose.yaml"
        ? "name: shop\nservices:\n  api:\n    image: x:1\n    command: [serve]\n    restart: always\n    ports: ['8080:80']\n    environment: {A: '1'}\n    container_name: fixed\n    volumes: [data:/data]\nvolumes:\n  data: {}\n"
        : undefined,
  },
}).project!;
const base: RunOverrides = { tty: false, interactive: true, autoRemove: false };
const api = project.services.api!;

describe("one-off containers", () => {
  test("the service with the command line's overrides, as Compose applies them", () => {
    const s = oneOffService(api, { ...base, command: ["migrate"], env: ["B=2", "FROM_SHELL", "UNSET"], user: "1000", workdir: "/w", volumes: ["./seed:/seed:ro", "cache:/cache"], labels: ["k=v"] }, (k) => (k === "FROM_SHELL" ? "s" : undefined), (p) => `/p/${p.replace(/^\.\//, "")}`);
    expect(s.command).toEqual(["migrate"]);
    expect(s.environment).toEqual({ A: "1", B: "2", FROM_SHELL: "s" });
    expect(s.restart).toBeUndefined();
    expect(s.container_name).toBeUndefined();
    expect(s.ports).toEqual([]); // not published unless --service-ports / -p
    expect(s.volumes.map((v) => [v.type, v.source, v.target])).toEqual([
      ["volume", "data", "/data"],
      ["bind", "/p/seed", "/seed"],
      ["volume", "cache", "/cache"],
    ]);
    expect(s.labels).toEqual({ k: "v" });
    expect(oneOffService(api, { ...base, servicePorts: true }, () => undefined, (p) => p).ports).toHaveLength(1);
    // --entrypoint without a command clears the service's command.
    expect(oneOffService(api, { ...base, entrypoint: ["sh", "-c"] }, () => undefined, (p) => p).command).toEqual([]);
  });

  test("labelled oneoff=True with a slug and no number; named <project>-<service>-run-<slug12>; read back as a one-off", () => {
    const svc = oneOffService(api, base, () => undefined, (p) => p);
    const { instance } = oneOffInstance(project, svc, { slug: "ab".repeat(32), autoRemove: false });
    expect(instance.name).toBe(oneOffName("shop", "api", "ab".repeat(32)));
    expect(instance.name).toBe("shop-api-run-abababababab");
    const labels = instance.body.Labels!;
    expect(labels[LABEL.oneoff]).toBe("True");
    expect(labels[LABEL.slug]).toBe("ab".repeat(32));
    expect(labels[LABEL.containerNumber]).toBeUndefined();
    expect(instance.body.HostConfig.RestartPolicy).toBeUndefined();
    expect(instance.body.HostConfig.AutoRemove).toBeUndefined();
    expect(parseLabels(labels)).toMatchObject({ kind: "container", service: "api", number: 0, oneoff: true });
    expect(oneOffInstance(project, svc, { slug: "cd".repeat(32), autoRemove: true, name: "mine" }).instance).toMatchObject({ name: "mine", body: { HostConfig: { AutoRemove: true } } });
  });

  test("bad -e / -p / -v values are usage errors", () => {
    expect(() => oneOffService(api, { ...base, env: ["=x"] }, () => undefined, (p) => p)).toThrow(/KEY=VALUE/);
    expect(() => oneOffService(api, { ...base, publish: ["99999:80"] }, () => undefined, (p) => p)).toThrow(/--publish/);
    expect(() => oneOffService(api, { ...base, volumes: ["a:b:c:d"] }, () => undefined, (p) => p)).toThrow(/--volume/);
  });
});
