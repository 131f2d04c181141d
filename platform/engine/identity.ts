/** Reads which engine instance a connection reaches (core/engine/identity.ts says what makes it unique). */
import { engineInstanceId, type EngineIdentity } from "../../core/engine/identity.ts";
import type { Engine } from "./client.ts";

export async function readEngineIdentity(engine: Engine): Promise<EngineIdentity> {
  const info = await engine.info();
  return { name: engine.name, id: engineInstanceId(engine.name, info), address: engine.endpoint.address };
}
