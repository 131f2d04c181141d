/**
 * The referrers API's answer (spec "Listing Referrers"): an OCI image index
 * of the manifests in a repository whose `subject` is a digest, each with
 * its artifactType (the manifest's, else its config's media type for an
 * image manifest) and annotations, optionally filtered by artifactType.
 * Never a 404: no referrers is an empty index.
 */
import { lexicalCompare } from "./paginate.ts";
import { MT } from "./media-types.ts";
import type { Descriptor } from "./manifest.ts";

export interface ReferrersAnswer {
  /** The image index, serialised. */
  readonly body: string;
  /** `OCI-Filters-Applied` value when a filter was applied. */
  readonly filtersApplied?: string;
}

export function referrersIndex(referrers: readonly Descriptor[], artifactType?: string | null): ReferrersAnswer {
  const filtered = artifactType ? referrers.filter((d) => d.artifactType === artifactType) : [...referrers];
  filtered.sort((a, b) => lexicalCompare(a.digest, b.digest));
  const body = JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: filtered });
  return artifactType ? { body, filtersApplied: "artifactType" } : { body };
}
