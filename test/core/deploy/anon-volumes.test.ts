/**
 * `fizz up` after a change recreates a container; its anonymous volumes (a
 * `volumes:` entry without a source, an image VOLUME the service does not mount)
 * go to the new container, as Compose carries them, instead of new empty ones.
 */
import { describe, expect, test } from "bun:test";
import { inheritAnonymousVolumes, isAnonymousVolumeName } from "../../../core/deploy/anon-volumes.ts";

const ANON = "fda07d96d04240bcb5768b90a204c0cb1bb421eec73f216481cfd460d1b0967f";
const IMG = "431d079ac15663e7f7a232add94f244c7c471e266e45d02d8b9fd6bc5bfeed8c";

describe("inheritAnonymousVolumes", () => {
  test("a volumes: entry without a source takes the old container's volume", () => {
    const m = inheritAnonymousVolumes([{ Type: "volume", Target: "/anon" }, { Type: "volume", Source: "shop_data", Target: "/data" }], [
      { Type: "volume", Name: ANON, Destination: "/anon", RW: true },
      { Type: "volume", Name: "shop_data", Destination: "/data", RW: true },
    ], []);
    expect(m).toEqual([{ Type: "volume", Source: ANON, Target: "/anon" }, { Type: "volume", Source: "shop_data", Target: "/data" }]);
  });

  test("an image VOLUME the service does not mount is carried over; one it now mounts is the service's", () => {
    const old = [{ Type: "volume", Name: IMG, Destination: "/var/lib/mysql/", RW: true }];
    expect(inheritAnonymousVolumes([], old, ["/var/lib/mysql"])).toEqual([{ Type: "volume", Source: IMG, Target: "/var/lib/mysql", ReadOnly: false }]);
    const named = [{ Type: "volume" as const, Source: "shop_db", Target: "/var/lib/mysql" }];
    expect(inheritAnonymousVolumes(named, old, ["/var/lib/mysql"])).toEqual(named);
    const bind = [{ Type: "bind" as const, Source: "/srv/db", Target: "/var/lib/mysql" }];
    expect(inheritAnonymousVolumes(bind, old, ["/var/lib/mysql"])).toEqual(bind);
    // A path the image no longer declares, or one now mounted as tmpfs, is not.
    expect(inheritAnonymousVolumes([], old, [])).toEqual([]);
    expect(inheritAnonymousVolumes([], old, ["/var/lib/mysql"], ["/var/lib/mysql"])).toEqual([]);
  });

  test("binds and tmpfs mounts of the old container are not volumes to carry", () => {
    expect(inheritAnonymousVolumes([], [{ Type: "bind", Destination: "/x", RW: true }, { Type: "tmpfs", Destination: "/t", RW: true }], ["/x", "/t"])).toEqual([]);
  });
});

test("anonymous volume names are the engine's 64 hex digits", () => {
  expect(isAnonymousVolumeName(ANON)).toBe(true);
  expect(isAnonymousVolumeName("shop_data")).toBe(false);
  expect(isAnonymousVolumeName(ANON.toUpperCase())).toBe(false);
});
