/**
 * The real FileReader for core/compose: synchronous, bounded reads of regular
 * files only (platform/user-file.ts). A missing file reads as undefined; a
 * directory, device, fifo or socket, a file over the file size limit, or one
 * that cannot be read throws a FizzError naming the file, which the loader
 * reports as a diagnostic.
 */
import type { FileReader } from "../core/compose/reads.ts";
import { readUserText } from "./user-file.ts";

export function createFsReader(): FileReader {
  return { read: (path, what) => readUserText(path, what === undefined ? {} : { what }) };
}
