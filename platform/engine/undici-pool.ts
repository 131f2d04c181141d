/**
 * The part of undici the engine client uses: `Pool` with the request/upgrade
 * API. undici's index also loads fetch, WebSocket, EventSource, mocks and the
 * proxy agents, about 2 MB of the agent's idle memory for nothing. undici has
 * no `exports` map, so its modules can be loaded one by one; the lockfile pins
 * the version these paths belong to.
 */
import type { Pool as UndiciPool } from "undici/index.js";
// @ts-expect-error: undici ships types for its index only
import PoolImpl from "undici/lib/dispatcher/pool.js";
// @ts-expect-error: undici ships types for its index only
import DispatcherImpl from "undici/lib/dispatcher/dispatcher.js";
// @ts-expect-error: undici ships types for its index only
import api from "undici/lib/api/index.js";

// What undici's index does: the request/stream/pipeline/upgrade/connect methods live on Dispatcher.
Object.assign((DispatcherImpl as { prototype: object }).prototype, api as object);

export const Pool = PoolImpl as typeof UndiciPool;
export type Pool = UndiciPool;
