/**
 * Which blobs a pull-through cache starts fetching, unasked, when a client
 * reads an image manifest it lacks blobs of: the manifest's config and its
 * (distributable) layers, in manifest order, as a client asks for them;
 * nothing for an index (the platform manifest the client reads next names
 * its own blobs; prefetching every platform would fetch images no one
 * runs). A client that reads one blob at a time (skopeo, which also fsyncs
 * each before asking for the next) leaves the upstream link idle between
 * blobs; with the next one already coming, it is not. One blob at a time
 * by default: the blob the client is reading has the whole link, and the
 * next starts the moment its last byte is in. Three at a time (docker's
 * max-concurrent-downloads) split the link between them, so the one the
 * client waits for comes slower (measurements: docs/ENGINEERING.md, the
 * registry). Clients that ask for several blobs at once (docker) fetch the
 * rest themselves, joining what is coming.
 */
import { requiredBlobs, type ParsedManifest } from "./manifest.ts";
import type { Digest } from "./digest.ts";

/** Blobs fetched ahead at a time by default (the agent's `registry.prefetch`); 0 turns prefetch off. */
export const DEFAULT_PREFETCH = 1;

/** The blobs to fetch ahead for a manifest a client read, in the order it names them. */
export function prefetchBlobs(m: ParsedManifest): Digest[] {
  return requiredBlobs(m).map((b) => b.digest);
}
