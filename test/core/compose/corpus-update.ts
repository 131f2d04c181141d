/** Regenerates the corpus expectations: `bun test/core/compose/corpus-update.ts` (review the diff before committing). */
import { writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CORPUS, caseNames, rendered, runCase } from "./corpus.ts";

for (const name of caseNames()) {
  const out = rendered(name, runCase(name));
  const dir = join(CORPUS, name);
  rmSync(join(dir, "expected.yaml"), { force: true });
  rmSync(join(dir, "expected-diagnostics.txt"), { force: true });
  if (out.yaml !== undefined) writeFileSync(join(dir, "expected.yaml"), out.yaml);
  if (out.diagnostics) writeFileSync(join(dir, "expected-diagnostics.txt"), out.diagnostics);
  console.log(`${name}: ${out.yaml !== undefined ? "valid" : "invalid"}${out.diagnostics ? ` (${out.diagnostics.trim().split("\n").length} diagnostics)` : ""}`);
}
