/**
 * Every verb the CLI offers, in the order `fizz --help` lists them.
 * A verb appears here only when it works end to end.
 */
import type { RegisterVerb } from "./command.ts";

export const verbs: RegisterVerb[] = [];
