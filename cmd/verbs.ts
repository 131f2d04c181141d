/**
 * Every verb the CLI offers, in the order `fizz --help` lists them.
 * A verb appears here only when it works end to end.
 */
import type { RegisterVerb } from "./command.ts";
import { register as validate } from "./validate.ts";
import { register as config } from "./config.ts";
import { register as doctor } from "./doctor.ts";
import { register as up } from "./up.ts";

export const verbs: RegisterVerb[] = [up, validate, config, doctor];
