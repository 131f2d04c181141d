/** The real FileReader for core/compose: synchronous reads; a missing file (or a directory) reads as undefined. */
import { readFileSync } from "node:fs";
import type { FileReader } from "../core/compose/load.ts";

export function createFsReader(): FileReader {
  return {
    read(path: string): string | undefined {
      try {
        return readFileSync(path, "utf8");
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "EISDIR" || code === "ENOTDIR") return undefined;
        throw e;
      }
    },
  };
}
