/**
 * Which blobs a pull-through cache starts fetching, unasked, when a client
 * reads an image manifest it lacks blobs of: the manifest's config and its
 * (distributable) layers, in manifest order, as a client would ask for
 * them; nothing for an index (the platform manifest the client reads next
 * names its own blobs; prefetching every platform would fetch images no one
 * runs). `DEFAULT_PREFETCH` blobs at a time, as many as docker's
 * max-concurrent-downloads: a client that reads one blob at a time (skopeo,
 * which also fsyncs each before asking for the next) leaves the upstream
 * link idle between blobs; with the next ones already coming, it is not.
 */
import { requiredBlobs, type ParsedManifest } from "./manifest.ts";
import type { Digest } from "./digest.ts";

/** Blobs fetched ahead at a time by default (the agent's `registry.prefetch`); 0 turns prefetch off. */
export const DEFAULT_PREFETCH = 3;

/** The blobs to fetch ahead for a manifest a client read, in the order it names them. */
export function prefetchBlobs(m: ParsedManifest): Digest[] {
  return requiredBlobs(m).map((b) => b.digest);
}
