/**
 * Tags: `<version>-<env>` is created once when a version enters an
 * environment and never moves (another digest → 409); `latest-<env>` moves on
 * every promotion; a rollback adds `<version>-<env>-rollback`.
 */
export interface Tag {
  name: string;
  artifact: string;
  version: string;
  digest: string;
  environment: string;
  kind: 'release' | 'latest' | 'rollback';
  mutable: boolean;
  createdAt: string;
  createdBy: string;
}

// ---------------------------------------------------------------- version pinning

export type ConstraintKind = 'exact' | 'range' | 'caret' | 'tag';

export interface Consumer {
  artifact: string;
  name: string;
  constraint: string;
  kind: ConstraintKind;
  environment: string | null;
  updatedAt: string;
  updatedBy: string;
}

export interface RepoLink {
  tenant: string;
  artifact: string;
  id: string;
  registry: string;
  repository: string;
  tags: { semver: true } | { pattern: string };
  /** sha256 of the notification token (the token is shown once, at creation) */
  tokenHash: string;
  createdAt: string;
  createdBy: string;
}

/** The tenant's metrics scrape token (domain/artifacts/dora-export.ts): hashes of its secret only. */
export interface ScrapeToken {
  tenant: string;
  secrets: { hash: string; createdAt: string; expiresAt?: string }[];
  createdAt: string;
  createdBy: string;
  rotatedAt?: string;
  version: number;
}
