/**
 * The manifest media types a registry must tell apart (OCI image-spec 1.1 and
 * Docker's schema 2), which are images and which are indexes, and the Accept
 * negotiation a pull-through cache needs when it asks an upstream.
 */

export const MT = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  ociLayerTarGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

export type ManifestKind = "image" | "index";

/** The manifest types this registry stores and serves, with what they are. */
export const MANIFEST_TYPES: Readonly<Record<string, ManifestKind>> = {
  [MT.ociManifest]: "image",
  [MT.ociIndex]: "index",
  [MT.dockerManifest]: "image",
  [MT.dockerList]: "index",
};

export function manifestKind(mediaType: string): ManifestKind | undefined {
  return MANIFEST_TYPES[mediaType];
}

/** Layer types whose blobs live elsewhere (`urls`) and need not be in the registry (foreign / non-distributable). */
export function isForeignLayer(mediaType: string): boolean {
  return mediaType === "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" || mediaType.startsWith("application/vnd.oci.image.layer.nondistributable.");
}

/** `application/json; charset=utf-8` → `application/json` (the spec says to ignore parameters). */
export function bareMediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/** What a pull-through cache sends upstream: every manifest type it can store, so the upstream never converts. */
export const MANIFEST_ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(", ");
