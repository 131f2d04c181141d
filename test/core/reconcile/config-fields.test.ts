import { expect, test } from "bun:test";
import { configFieldHashes } from "../../../core/reconcile/config-fields.ts";
import { changedFields } from "../../../core/reconcile/plan.ts";

test("configFieldHashes: stable per field, differs where the field differs", () => {
  const a = configFieldHashes({ image: "nginx:1", environment: { A: "1", B: "2" }, ports: [] });
  const b = configFieldHashes({ environment: { B: "2", A: "1" }, image: "nginx:1", ports: [] });
  expect(a).toEqual(b);
  expect(Object.values(a).every((h) => /^[0-9a-f]{8}$/.test(h))).toBe(true);
  const c = configFieldHashes({ image: "nginx:2", environment: { A: "1", B: "2" }, ports: [], command: ["x"] });
  expect(changedFields(a, c)).toEqual(["command", "image"]);
  expect(configFieldHashes(null)).toEqual({});
  expect(changedFields(undefined, c)).toEqual([]);
});
