import { expect, test } from "bun:test";
import { intentFromJson, intentToJson } from "../../../core/deploy/intent.ts";

test("an intent's stored secret versions survive the cluster state's JSON; bad entries are dropped", () => {
  const i = { id: "n1-x-1", kind: "up" as const, secretVersions: { "app/config/conf": 3 } };
  expect(intentFromJson(JSON.parse(JSON.stringify(intentToJson(i))))).toEqual(i);
  expect(intentFromJson({ id: "a", kind: "up", secretVersions: { ok: 2, zero: 0, frac: 1.5, text: "3" } })?.secretVersions).toEqual({ ok: 2 });
  expect(intentFromJson({ id: "a", kind: "up" })?.secretVersions).toBeUndefined();
});
