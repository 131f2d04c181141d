import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { signalProblem, tmpfsProblem, userProblem } from "../../../core/compose/field-values.ts";

describe("engine-parsed compose values", () => {
  test("signals: names with or without SIG in any case, RTMIN+n / RTMAX-n, 1-64; nothing else", () => {
    for (const ok of ["SIGTERM", "term", "SIGQUIT", "KILL", "SIGRTMIN+3", "RTMAX-2", "9", "64", "SIGWINCH"]) expect(signalProblem(ok)).toBeUndefined();
    for (const bad of ["SIGFOO", "", "0", "65", "SIG", "SIGRTMIN+99", "TERM "]) expect(signalProblem(bad)).toBeDefined();
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), (n) => signalProblem(String(n)) === undefined));
  });

  test("user: user[:group], nothing empty, one ':' at most", () => {
    for (const ok of ["1000", "1000:1000", "www-data", "app:staff"]) expect(userProblem(ok)).toBeUndefined();
    for (const bad of ["", "1000:1000:1", ":1000", "1000:", "a b"]) expect(userProblem(bad)).toBeDefined();
    fc.assert(fc.property(fc.array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { minLength: 3, maxLength: 5 }), (parts) => userProblem(parts.join(":")) !== undefined));
  });

  test("tmpfs: an absolute target; size and mode, when given, parse", () => {
    for (const ok of ["/run", "/run:size=64m", "/run:rw,noexec,size=1g,mode=1777", "/tmp:mode=755"]) expect(tmpfsProblem(ok)).toBeUndefined();
    for (const bad of ["run", "/run:size=abc", "/run:size=", "/run:mode=999", "/run:mode"]) expect(tmpfsProblem(bad)).toBeDefined();
  });
});
