import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { loadProject } from "../../../core/compose/load.ts";
import { compileRules, planWatch, watchRoots } from "../../../core/watch/plan.ts";

const project = loadProject({
  cwd: "/p",
  env: {},
  reader: {
    read: (p) =>
      p === "/p/compose.yaml"
        ? `services:
  web:
    image: x
    develop:
      watch:
        - {path: ./site, action: sync, target: /www, ignore: [drafts/, "*.bak"]}
        - {path: ./conf/nginx.conf, action: sync+restart, target: /etc/nginx/nginx.conf}
  api:
    build: ./api
    develop:
      watch:
        - {path: ./api, action: rebuild}
        - {path: ./api/static, action: sync, target: /static}
  worker:
    image: x
    develop:
      watch:
        - {path: ./jobs, action: sync+exec, target: /jobs, exec: {command: reload}, include: ["*.py"]}
`
        : undefined,
  },
}).project!;
const rules = compileRules(project, ["web", "api", "worker"], (ctx) => (ctx === "/p/api" ? "node_modules\n" : undefined));

describe("fizz watch planning", () => {
  test("sync maps files under the rule's path to the target; deletions become removals", () => {
    expect(planWatch(rules, [{ path: "/p/site/a/index.html", exists: true }, { path: "/p/site/old.css", exists: false }])).toEqual([
      { kind: "sync", service: "web", copy: [{ host: "/p/site/a/index.html", container: "/www/a/index.html" }], remove: ["/www/old.css"] },
    ]);
  });

  test("ignore patterns, editor droppings and .git are skipped", () => {
    expect(planWatch(rules, [{ path: "/p/site/drafts/x.html", exists: true }, { path: "/p/site/a.bak", exists: true }, { path: "/p/site/.a.swp", exists: true }, { path: "/p/site/x~", exists: true }, { path: "/p/site/.git/HEAD", exists: true }])).toEqual([]);
  });

  test("a single-file rule; sync+restart restarts after syncing", () => {
    expect(planWatch(rules, [{ path: "/p/conf/nginx.conf", exists: true }])).toEqual([
      { kind: "sync", service: "web", copy: [{ host: "/p/conf/nginx.conf", container: "/etc/nginx/nginx.conf" }], remove: [], then: "restart" },
    ]);
  });

  test("a rebuild covers the service's syncs; the build context's .dockerignore applies", () => {
    expect(planWatch(rules, [{ path: "/p/api/static/x.css", exists: true }, { path: "/p/api/main.go", exists: true }])).toEqual([{ kind: "rebuild", service: "api", paths: ["/p/api/static/x.css", "/p/api/main.go"] }]);
    // static/ is both synced and under the rebuild path: a rebuild.
    expect(planWatch(rules, [{ path: "/p/api/node_modules/x/index.js", exists: true }])).toEqual([]);
  });

  test("include narrows a rule; sync+exec carries the command; one action per service", () => {
    expect(planWatch(rules, [{ path: "/p/jobs/a.txt", exists: true }])).toEqual([]);
    const [a] = planWatch(rules, [{ path: "/p/jobs/a.py", exists: true }, { path: "/p/site/i.html", exists: true }, { path: "/p/jobs/b.py", exists: true }]).filter((x) => x.service === "worker");
    expect(a).toMatchObject({ kind: "sync", copy: [{ container: "/jobs/a.py" }, { container: "/jobs/b.py" }], then: { exec: { command: ["reload"] } } });
  });

  test("files outside every rule do nothing; roots are the rule paths (a file's parent)", () => {
    expect(planWatch(rules, [{ path: "/p/README.md", exists: true }, { path: "/p/sitemap.xml", exists: true }])).toEqual([]);
    expect(watchRoots(rules, (p) => !p.endsWith(".conf"))).toEqual(["/p/api", "/p/api/static", "/p/conf", "/p/jobs", "/p/site"]);
  });
});

describe("fizz watch planning (properties)", () => {
  // fast-check is imported at the top of the file.
  const segment = fc.constantFrom("site", "drafts", "a", "b.bak", ".git", "x.html", "jobs", "api", "static", "..", "node_modules", "~x", "y.py");
  test("every sync target is under its rule's target; ignored and outside files never act; at most one action per service", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ parts: fc.array(segment, { minLength: 1, maxLength: 4 }), exists: fc.boolean() }), { maxLength: 12 }), (raw) => {
        const changes = raw.map((r) => ({ path: `/p/${r.parts.join("/")}`, exists: r.exists }));
        const actions = planWatch(rules, changes);
        const services = actions.map((a) => a.service);
        if (new Set(services).size !== services.length) return false;
        for (const a of actions) {
          if (a.kind !== "sync") continue;
          const targets = rules.filter((r) => r.service === a.service && r.rule.target).map((r) => r.rule.target!);
          for (const p of [...a.copy.map((c) => c.container), ...a.remove]) {
            if (!targets.some((t) => p === t || p.startsWith(`${t}/`))) return false;
            // ignore: [drafts/] is anchored at the rule's path, as dockerignore patterns are.
            if (p.split("/").includes(".git") || p.startsWith("/www/drafts/") || p === "/www/drafts") return false;
          }
        }
        return true;
      }),
    );
  });
});
