/**
 * A recreated container keeps its predecessor's anonymous volumes, as Compose
 * does (its buildContainerMountOptions with `inherit`): a `volumes:` entry with
 * no source, and a path the image declares as VOLUME that the service does not
 * mount, get the old container's volume instead of a new, empty one. Without
 * this, any change to a database service whose image declares its data
 * directory a VOLUME (postgres, mariadb) started it on an empty one, the data
 * left behind in a dangling volume.
 */
import { posix } from "node:path";
import type { MountSpec } from "./engine-body.ts";

/** A mount of the container being replaced, as the engine's inspect reports it. */
export interface OldMount {
  readonly Type: string;
  readonly Name?: string;
  readonly Destination: string;
  readonly RW: boolean;
}

/** The engine names an anonymous volume with 64 hex digits (Docker and Podman); a compose volume is `<project>_<name>`. */
export function isAnonymousVolumeName(name: string): boolean {
  return /^[0-9a-f]{64}$/.test(name);
}

const norm = (p: string) => posix.normalize(p).replace(/(.)\/$/, "$1");

/**
 * The new container's mounts with the old one's anonymous volumes carried over.
 * `tmpfsTargets` are the paths the new body mounts outside `Mounts` (`HostConfig.Tmpfs`, relabelled `Binds`).
 */
export function inheritAnonymousVolumes(mounts: readonly MountSpec[], old: readonly OldMount[], imageVolumes: readonly string[], tmpfsTargets: readonly string[] = []): MountSpec[] {
  const out = [...mounts];
  const image = new Set(imageVolumes.map(norm));
  const tmpfs = new Set(tmpfsTargets.map(norm));
  for (const m of old) {
    if (m.Type !== "volume" || !m.Name) continue;
    const dest = norm(m.Destination);
    const i = out.findIndex((x) => norm(x.Target) === dest);
    if (i >= 0) {
      const cur = out[i]!;
      if (cur.Type === "volume" && !cur.Source) out[i] = { ...cur, Source: m.Name };
      continue;
    }
    if (image.has(dest) && !tmpfs.has(dest)) out.push({ Type: "volume", Source: m.Name, Target: dest, ReadOnly: !m.RW });
  }
  return out;
}
