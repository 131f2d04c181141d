import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ALL_SPECS } from "./specs.ts";
import { RUNS, simulate, steps, triple } from "./harness.ts";

for (const spec of ALL_SPECS) {
  describe(`${spec.name} merge laws`, () => {
    test("commutative", () => {
      fc.assert(
        fc.property(triple(spec), ([a, b]) => spec.key(spec.merge(a, b)) === spec.key(spec.merge(b, a))),
        RUNS,
      );
    });
    test("associative", () => {
      fc.assert(
        fc.property(
          triple(spec),
          ([a, b, c]) => spec.key(spec.merge(spec.merge(a, b), c)) === spec.key(spec.merge(a, spec.merge(b, c))),
        ),
        RUNS,
      );
    });
    test("idempotent", () => {
      fc.assert(
        fc.property(triple(spec), ([a, b]) => spec.key(spec.merge(a, a)) === spec.key(a) && spec.key(spec.merge(spec.merge(a, b), b)) === spec.key(spec.merge(a, b))),
        RUNS,
      );
    });
    test("empty is the identity", () => {
      fc.assert(fc.property(triple(spec), ([a]) => spec.key(spec.merge(a, spec.empty())) === spec.key(a) && spec.key(spec.merge(spec.empty(), a)) === spec.key(a)), RUNS);
    });
  });

  describe(`${spec.name} convergence`, () => {
    test("random order, duplication and loss (eventually delivered) converge to the join of all deltas", () => {
      fc.assert(
        fc.property(steps(spec.op, 60), fc.array(fc.nat(), { maxLength: 50 }), (plan, order) => {
          const { replicas, all } = simulate(spec, plan, order);
          const want = spec.key(all);
          for (const r of replicas) expect(spec.key(r)).toBe(want);
          for (const r of replicas) expect(spec.value(r)).toBe(spec.value(all));
        }),
        RUNS,
      );
    });
  });
}
