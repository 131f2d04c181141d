import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CORPUS, caseNames, rendered, runCase } from "./corpus.ts";
import { loadProject } from "../../../core/compose/load.ts";
import { projectYaml } from "../../../core/compose/serialize.ts";
import { createFsReader } from "../../../platform/fs-reader.ts";

// Property runs and corpus loads are CPU-bound; the shared test machine can be slow.
setDefaultTimeout(60_000);

describe("compose corpus", () => {
  const names = caseNames();
  test("has at least 40 cases, valid and invalid", () => {
    expect(names.length).toBeGreaterThanOrEqual(40);
    expect(names.filter((n) => n.startsWith("v")).length).toBeGreaterThan(20);
    expect(names.filter((n) => n.startsWith("e")).length).toBeGreaterThan(15);
  });
  for (const name of names) {
    test(name, () => {
      const dir = join(CORPUS, name);
      const out = rendered(name, runCase(name));
      const yamlPath = join(dir, "expected.yaml");
      const diagPath = join(dir, "expected-diagnostics.txt");
      if (name.startsWith("v")) expect(out.yaml).toBeDefined();
      if (name.startsWith("e")) expect(existsSync(diagPath)).toBe(true);
      if (existsSync(yamlPath)) expect(out.yaml).toBe(readFileSync(yamlPath, "utf8"));
      else expect(out.yaml).toBeUndefined();
      expect(out.diagnostics).toBe(existsSync(diagPath) ? readFileSync(diagPath, "utf8") : "");
    });
  }
});

describe("fizz config output is itself a compose file with the same meaning", () => {
  for (const name of caseNames().filter((n) => n.startsWith("v"))) {
    test(name, () => {
      const first = runCase(name);
      const text = projectYaml(first.project!);
      const dir = join(CORPUS, name);
      const again = loadProject({
        files: ["/virtual/compose.yaml"],
        profiles: first.project!.active_profiles,
        projectDirectory: dir,
        cwd: dir,
        env: {},
        reader: { read: (p) => (p === "/virtual/compose.yaml" ? text : p.startsWith(dir) ? createFsReader().read(p) : undefined) },
      });
      expect(again.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      expect(projectYaml(again.project!)).toBe(text);
    });
  }
});
