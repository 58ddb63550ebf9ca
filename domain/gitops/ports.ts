import type { AuditEntry } from '../kernel/model.ts';
import type { GitCommitResult, PullRequestHost, PullRequestState } from '../kernel/promotion-model.ts';
import type { DeploymentGate, DeploymentRun } from './deployment-gate.ts';

export type { PullRequestHost, PullRequestState };

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
  /**
   * where each artifact's value goes, by artifact name (a bundle's members each to their own file or path, in one
   * commit or one pull request); an artifact not named here goes to `file` and `path`. Read with gitPathOf (own keys only).
   */
  paths?: Record<string, GitArtifactPath> | null;
  /** pull-request mode: the change goes to a branch and a pull request (GitHub) or merge request (GitLab) that a person or the host merges; null: commit straight to `branch` */
  pullRequest?: PullRequestOptions | null;
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

/** One artifact's place in a git target that maps artifacts to paths: what it leaves out is the target's own. */
export interface GitArtifactPath {
  /** the file (with `{target}` for a file per target); absent: the target's `file` */
  file?: string;
  /** absent: the target's `edit` */
  edit?: GitEditKind;
  path: string;
  /** absent: the target's `value` */
  value?: GitTarget['value'];
}

/** One value written into one place of one file: an artifact's, or each member's of a bundle (all in one commit). */
export interface GitEdit {
  /** the artifact whose value it is */
  artifact: string;
  file: string;
  edit?: GitEditKind;
  path: string;
  value: GitTarget['value'];
  /** what is written (gitValueOf's answer) */
  written: string;
}

export interface GitTargetRepo {
  getGitTarget(tenant: string, environment: string): Promise<GitTarget | null>;
  putGitTarget(target: GitTarget, expectedVersion: number | null, audit: AuditEntry): Promise<void>;
  deleteGitTarget(target: GitTarget, audit: AuditEntry): Promise<void>;
}

/** Environments' deployment gates (domain/gitops/deployment-gate.ts) and the pipeline runs waiting on them. */
export interface DeploymentGateRepo {
  getDeploymentGate(tenant: string, environment: string): Promise<DeploymentGate | null>;
  /** every gate of the tenant (a tenant has a few: one per gated environment) */
  listDeploymentGates(tenant: string): Promise<DeploymentGate[]>;
  /** creates (expectedVersion null) or replaces the gate at that version, with its audit entry (WriteConflict 'version' / 'exists') */
  putDeploymentGate(gate: DeploymentGate, expectedVersion: number | null, audit: AuditEntry): Promise<void>;
  deleteDeploymentGate(gate: DeploymentGate, audit: AuditEntry): Promise<void>;
  /** the run's record, if GitHub asked about it before */
  getDeploymentRun(tenant: string, key: string): Promise<DeploymentRun | null>;
  /** records the run once (and, with a promotion, its place among that promotion's runs): the run stored first when it exists already */
  putDeploymentRun(run: DeploymentRun): Promise<DeploymentRun>;
  /** the runs waiting on a promotion */
  deploymentRunsOf(tenant: string, promotionId: string): Promise<DeploymentRun[]>;
  /** records the answer given, once: false when another answer was recorded first */
  answerDeploymentRun(run: DeploymentRun, answer: NonNullable<DeploymentRun['answer']>): Promise<boolean>;
}

/**
 * The calls that answer gated deploy jobs (functions/adapters/deployment-hosts.ts): a GitHub App's installation token
 * made with the App's key (short-lived, never stored) and the review of a run's deployment protection rule; a GitLab
 * deployment's approval or rejection.
 */
export interface DeploymentHosts {
  githubInstallationToken(a: { apiUrl: string; appId: string; privateKey: string; installationId: number }): Promise<string>;
  githubReview(a: {
    apiUrl: string;
    token: string;
    repository: string;
    runId: string;
    environmentName: string;
    state: 'approved' | 'rejected';
    comment: string;
  }): Promise<void>;
  gitlabApproval(a: { apiUrl: string; token: string; project: string; deploymentId: string; status: 'approved' | 'rejected'; comment: string }): Promise<void>;
}

/** How a git target delivers through pull requests (domain/promotion/deliver/pull-request.ts). */
export interface PullRequestOptions {
  host: PullRequestHost;
  /** the host's API: GitHub Enterprise `https://ghe.example.com/api/v3`, a GitLab host `https://gitlab.example.com`; null: api.github.com or gitlab.com */
  apiUrl: string | null;
  /** the secret holding the API token (purpose github-token or gitlab-token) */
  tokenSecret: string;
  /** the secret the host signs its webhooks with (purpose git-webhook); null: no webhook, the bounded poll alone */
  webhookSecret: string | null;
  /**
   * GitHub: the slug of the GitHub App whose installation token tokenSecret holds (its pull requests are opened by
   * `<slug>[bot]`); null: the token says who it is (GET /user). A pull request whose author cannot be checked is never adopted.
   */
  appSlug: string | null;
  draft: boolean;
  /** merge when the checks pass (GitHub: Stageline merges a clean pull request; GitLab: merge when the pipeline succeeds) */
  autoMerge: boolean;
  reviewers: string[];
  labels: string[];
}

/** What an edit did to a target's file: the value it held at the edited place (null: none) and the unified diff of the file. */
export interface FileChange {
  previous: string | null;
  diff: string;
  /** several edits (a bundle): each one's previous value, in the order of `edits`; `diff` holds every file's */
  each?: { artifact: string; file: string; path: string; previous: string | null }[];
}

/**
 * What a writer is asked to write: `value` at the target's own file and path, or `edits` (one or more values, each
 * in its own file and path: a bundle's members) — all of them in one commit, or none.
 */
export type GitWrite = { value: string; edits?: undefined } | { value?: undefined; edits: GitEdit[] };

/** Clones, edits one value (or several, in one commit), commits and pushes (isomorphic-git in memory on AWS and locally). Throws GitDeliveryFailed with what to fix. */
export interface GitWriter {
  /** `checkOnly`: never push; a change that would be needed throws (a pull-request target's base is read, not written) */
  commit(
    input: GitWrite & {
      tenant: string;
      target: GitTarget;
      message: string;
      author: { name: string; email: string };
      checkOnly?: boolean;
    },
  ): Promise<GitCommitResult>;
  /**
   * The change as branch `head` on top of the target's branch, force-pushed (a second push after the base moved rebases it;
   * the same content on the same base is the same commit, so a retried step pushes nothing new). changed false: the base already holds the value.
   */
  pushBranch(
    input: GitWrite & {
      tenant: string;
      target: GitTarget;
      head: string;
      message: string;
      author: { name: string; email: string };
      at: Date;
    },
  ): Promise<GitCommitResult & { base: string; change?: FileChange }>;
  /** the pull-request host's API (GitHub, GitLab) for a pull-request target */
  hosts: PullRequestClient;
}

/** A host's pull-request API, over the outbound guard. Errors are GitDeliveryError with what to fix. */
export interface PullRequestClient {
  /** the token reaches the repository and the base branch exists (before anything is pushed) */
  check(input: { tenant: string; target: GitTarget }): Promise<void>;
  /** the pull requests from a branch named `head` into the target's repository (any state, any base, forks included), newest first */
  find(input: { tenant: string; target: GitTarget; head: string }): Promise<PullRequestState[]>;
  /** the login the token acts as (null when the host cannot say, e.g. a GitHub App installation token) */
  whoami(input: { tenant: string; target: GitTarget }): Promise<string | null>;
  open(input: { tenant: string; target: GitTarget; head: string; title: string; body: string }): Promise<PullRequestState>;
  get(input: { tenant: string; target: GitTarget; number: number }): Promise<PullRequestState>;
  /** merges an open, clean pull request at `sha` (GitHub auto-merge); false when the host refuses (not mergeable yet) */
  merge(input: { tenant: string; target: GitTarget; number: number; sha: string }): Promise<boolean>;
  close(input: { tenant: string; target: GitTarget; number: number; comment: string }): Promise<void>;
  deleteBranch(input: { tenant: string; target: GitTarget; head: string }): Promise<void>;
}

export type GitTargetOp = { kind: 'gitTarget'; target: GitTarget; expectedVersion: number | null } | { kind: 'deleteGitTarget'; target: GitTarget };

/** The gitops context's part of what a use case is given (domain/kernel/deps.ts): git targets in the store; the writer that commits to them. */
declare module '../kernel/deps.ts' {
  interface Store extends GitTargetRepo, DeploymentGateRepo {}
  interface WriteOps {
    gitTarget: GitTargetOp;
  }
  interface Ports {
    /** commits promoted versions to environments' git targets (the promotion step; domain/gitops) */
    git: GitWriter;
    /** the answers to gated deploy jobs: GitHub deployment reviews (with a GitHub App's installation tokens), GitLab deployment approvals */
    deploymentHosts: DeploymentHosts;
  }
}
