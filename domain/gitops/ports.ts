import type { AuditEntry } from '../kernel/model.ts';
import type { GitCommitResult } from '../kernel/promotion-model.ts';

/**
 * How the value is written into the file (GitOps repositories' own shapes):
 * - `yaml-path` (the default): `path` is dot-separated keys in a YAML or JSON file (e.g. image.tag);
 * - `kustomize-image`: `path` is the `name` of an entry of a kustomization.yaml's `images:` list, whose
 *   `newTag` and/or `digest` is set (the entry is added when missing);
 * - `helm-values`: `path` is a dotted key in a Helm values file (YAML only; written as a string, quoted
 *   when YAML would read it as a number, so 1.10 stays 1.10);
 * - `json-path`: `path` is dot-separated keys in a .json file, through objects only.
 */
export type GitEditKind = 'yaml-path' | 'kustomize-image' | 'helm-values' | 'json-path';

/** Where an environment's promoted versions are committed (GitOps: Argo CD or Flux watch the repository). */
export interface GitTarget {
  tenant: string;
  environment: string;
  /** https URL of the repository */
  repository: string;
  branch: string;
  /** the YAML or JSON file, relative to the repository root */
  file: string;
  /** how the value is written (GitEditKind); absent on targets saved before there was a choice: `yaml-path` */
  edit?: GitEditKind;
  /** where the value goes inside it: dot-separated keys (e.g. image.tag), or the image name for `kustomize-image` */
  path: string;
  /** what is written: the version, the digest, or both as <version>@<digest> */
  value: 'version' | 'digest' | 'version@digest';
  /** the secret (`${NAME}`, Secrets Manager stageline/<tenant>/git-token/<NAME> on AWS) holding the token to push with; none: anonymous */
  tokenSecret: string | null;
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

export interface GitTargetRepo {
  getGitTarget(tenant: string, environment: string): Promise<GitTarget | null>;
  putGitTarget(target: GitTarget, expectedVersion: number | null, audit: AuditEntry): Promise<void>;
  deleteGitTarget(target: GitTarget, audit: AuditEntry): Promise<void>;
}

/** Clones, edits one value, commits and pushes (isomorphic-git in memory on AWS and locally). Throws GitDeliveryFailed with what to fix. */
export interface GitWriter {
  commit(input: { tenant: string; target: GitTarget; value: string; message: string; author: { name: string; email: string } }): Promise<GitCommitResult>;
}

export type GitTargetOp = { kind: 'gitTarget'; target: GitTarget; expectedVersion: number | null } | { kind: 'deleteGitTarget'; target: GitTarget };
