/**
 * Prepared SQLite statements by their text, each prepared once per database.
 * Preparing costs more than most of the agent's queries take to run, and a
 * statement prepared per call holds native memory until a garbage collection
 * finalizes it (JavaScriptCore does not see that memory: issue 18's API fuzz).
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

export function statementCache(db: DatabaseSync): (text: string) => StatementSync {
  const statements = new Map<string, StatementSync>();
  return (text) => {
    let st = statements.get(text);
    if (!st) {
      st = db.prepare(text);
      statements.set(text, st);
    }
    return st;
  };
}
