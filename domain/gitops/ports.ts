import type { AuditEntry } from '../kernel/model.ts';
import type { GitCommitResult } from '../kernel/promotion-model.ts';

/** Where an environment's promoted versions are committed (GitOps: Argo CD or Flux watch the repository). */
export interface GitTarget {
  tenant: string;
  environment: string;
  /** https URL of the repository */
  repository: string;
  branch: string;
  /** the YAML or JSON file, relative to the repository root */
  file: string;
  /** where the value goes inside it, dot-separated (e.g. image.tag) */
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
