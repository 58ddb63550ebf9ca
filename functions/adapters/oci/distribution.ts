import { createHash } from 'node:crypto';

/**
 * The OCI Distribution vocabulary the registry modules share: media types, digests, descriptors,
 * how much of a registry's answer is read, and the errors a registry problem is reported with.
 */

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;
export const ACCEPT = Object.values(MEDIA_TYPES).join(', ');

export const DIGEST = /^sha256:[a-f0-9]{64}$/;
// The distribution spec's repository name grammar; also keeps paths injection-free.
export const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/**
 * What we read of a registry's answers, at most. A manifest or referrers index is limited to 4 MiB by
 * the distribution spec's registries in practice; a signature bundle is a few KiB; an error or a
 * token answer is small. More is refused, never buffered; and a registry's own words (an error
 * message) never reach the caller — only the status and a well-formed error code.
 */
export const MANIFEST_BYTES = 4 * 1024 * 1024;

/** A per-registry failure with a one-line, human-readable message (prefixed with the registry). */
export class RegistryError extends Error {
  override name = 'RegistryError';
  /**
   * The registry failed for a moment (a 5xx, a 429, a time-out or a dropped connection, after the client's own
   * retries): the same request may succeed later. False for what only a change fixes (a 4xx, a refused address).
   * (A field, not a parameter property: the CI action runs this file with Node's type stripping.)
   */
  readonly transient: boolean;
  constructor(message: string, transient = false) {
    super(message);
    this.transient = transient;
  }
}
/** The source registry cannot provide the artifact as addressed: sync() throws this. */
export class RegistrySourceError extends RegistryError {
  override name = 'RegistrySourceError';
}

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
}

export const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
