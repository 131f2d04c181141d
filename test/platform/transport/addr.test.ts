import { describe, expect, test } from "bun:test";
import { addrString, parseAddr } from "../../../platform/transport/addr.ts";
import { isFizzError } from "../../../core/errors.ts";

describe("host:port addresses", () => {
  test("IPv4, IPv6 and names round trip", () => {
    for (const s of ["10.0.0.1:7946", "[fd00::1]:7946", "node-1.lan:1"]) expect(addrString(parseAddr(s))).toBe(s);
    expect(parseAddr("[::1]:80")).toEqual({ host: "::1", port: 80 });
  });

  test("bad addresses are FizzErrors with a hint", () => {
    for (const s of ["", "10.0.0.1", "10.0.0.1:0", "10.0.0.1:65536", "fd00::1:7946", "a b:1"]) {
      let err: unknown;
      try {
        parseAddr(s);
      } catch (e) {
        err = e;
      }
      expect(isFizzError(err) && err.code).toBe("transport.bad_address");
    }
  });
});
