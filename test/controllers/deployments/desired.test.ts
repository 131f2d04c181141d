/**
 * controllers/deployments/desired.ts: a parsed spec is reused only while the
 * stored row is the same one; two stores over one database (the deployments
 * and placement controllers each keep one) never serve each other's stale
 * spec, also when a deployment is deleted and made again (generation 1 again).
 */
import { expect, test } from "bun:test";
import type { Project } from "../../../core/compose/model.ts";
import { DesiredStore } from "../../../controllers/deployments/desired.ts";
import { AgentStore } from "../../../platform/store/index.ts";

const spec = (image: string) => ({ name: "x", services: { web: { name: "web", image } } }) as unknown as Project;
const image = (d: { spec: Project } | undefined) => d?.spec.services.web?.image;

test("a spec cached by one store is read again after another store changes, deletes or re-creates it", () => {
  const db = AgentStore.open(":memory:");
  const writer = new DesiredStore(db);
  const reader = new DesiredStore(db);
  writer.put("x", spec("a:1"), {}, undefined, 1000);
  expect(image(reader.get("x"))).toBe("a:1");
  expect(image(reader.get("x"))).toBe("a:1"); // from the cache
  writer.put("x", spec("a:2"), {}, undefined, 2000);
  expect(image(reader.get("x"))).toBe("a:2");
  writer.delete("x");
  expect(reader.get("x")).toBeUndefined();
  writer.put("x", spec("b:1"), {}, undefined, 3000);
  expect(image(reader.get("x"))).toBe("b:1");
  // Deleted and made again behind the cache's back, generation 1 both times.
  writer.delete("x");
  writer.put("x", spec("c:1"), {}, undefined, 4000);
  expect(reader.get("x")?.generation).toBe(1);
  expect(image(reader.get("x"))).toBe("c:1");
  writer.delete("x");
  writer.put("x", spec("d:1"), {}, undefined, 5000);
  expect(reader.list().map(image)).toEqual(["d:1"]);
  db.close();
});
