import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { engineOp } from "../../../core/engine/op-name.ts";

describe("engineOp", () => {
  test.each([
    ["GET", "/v1.41/containers/json?all=1&filters=%7B%7D", "container.list"],
    ["POST", "/v1.41/containers/create?name=web-1", "container.create"],
    ["POST", "/v1.41/containers/3f2a9c/start", "container.start"],
    ["GET", "/v1.41/containers/web-1/json", "container.inspect"],
    ["DELETE", "/v1.41/containers/3f2a9c?force=1", "container.remove"],
    ["POST", "/v1.41/containers/3f2a9c/exec", "container.exec"],
    ["POST", "/v1.41/exec/abc/start", "exec.start"],
    ["GET", "/v1.41/exec/abc/json", "exec.inspect"],
    ["POST", "/v1.41/networks/create", "network.create"],
    ["GET", "/v1.41/networks", "network.list"],
    ["GET", "/v1.41/networks/app_default", "network.inspect"],
    ["DELETE", "/v1.41/networks/app_default", "network.remove"],
    ["POST", "/v1.41/networks/app_default/connect", "network.connect"],
    ["POST", "/v1.41/images/create?fromImage=busybox", "image.pull"],
    ["GET", "/v1.41/images/json", "image.list"],
    ["GET", "/v1.41/images/registry.example:5000/team/app:1/json", "image.inspect"],
    ["POST", "/v1.41/images/registry.example:5000/team/app:1/tag?repo=x", "image.tag"],
    ["DELETE", "/v1.41/images/registry.example:5000/team/app:1", "image.remove"],
    ["POST", "/v1.41/build?t=app", "image.build"],
    ["POST", "/v4.0.0/libpod/images/pull?reference=x", "image.pull"],
    ["POST", "/v4.0.0/libpod/networks/create", "network.create"],
    ["GET", "/v4.0.0/libpod/containers/abc/healthcheck", "container.healthcheck"],
    ["GET", "/_ping", "system.ping"],
    ["GET", "/version", "system.version"],
    ["GET", "/v4.0.0/libpod/info", "system.info"],
    ["GET", "/v1.41/events?since=1", "system.events"],
    ["GET", "/v1.41/plugins", "other"],
    ["POST", "/v1.41/volumes/create", "volume.create"],
  ])("%s %s is %s", (method, path, op) => {
    expect(engineOp(method, path)).toBe(op);
  });

  test("names and ids never reach the label: every op is a known collection and a known verb", () => {
    const collections = new Set(["container", "network", "image", "volume", "exec", "system"]);
    const verbs = new Set(["list", "create", "inspect", "remove", "put", "post", "pull", "prune", "load", "search", "build", "distribution", "ping", "version", "info", "events",
      "start", "stop", "restart", "kill", "pause", "unpause", "wait", "logs", "attach", "resize", "top", "rename", "archive", "exec", "connect", "disconnect", "tag", "push", "history", "get", "healthcheck", "df"]);
    fc.assert(
      fc.property(
        fc.constantFrom("GET", "POST", "DELETE", "HEAD", "PUT"),
        fc.constantFrom("", "/v1.41", "/v4.0.0/libpod"),
        fc.constantFrom("containers", "networks", "images", "volumes", "exec", "events", "plugins", "system", "build"),
        fc.array(fc.stringMatching(/^[a-zA-Z0-9:._-]{1,12}$/), { maxLength: 5 }),
        (method, prefix, collection, rest) => {
          const op = engineOp(method, `${prefix}/${[collection, ...rest].join("/")}`);
          if (op === "other") return;
          const [c, v, ...more] = op.split(".");
          expect(more).toEqual([]);
          expect(collections.has(c!)).toBe(true);
          expect(verbs.has(v!)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
