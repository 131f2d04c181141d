/** Placement hashing: the shared stable 32-bit hash (see core/hash32.ts). */
export { hash32, fmix32, combine32 } from "../hash32.ts";
