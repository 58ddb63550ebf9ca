import * as z from '../kernel/zod.ts';
import { envName } from '../kernel/schemas.ts';
import { artifactName } from '../kernel/promotion-schemas.ts';
import { checkTenantUrl, TENANT_URL_FORMAT } from '../kernel/url-policy.ts';
import type { Issue } from '../kernel/errors.ts';

/**
 * A pipeline's deploy job gated by Stageline.
 * - GitHub: custom deployment protection rules. A GitHub App (Deployments read and write, Actions read, the
 *   `deployment_protection_rule` event) is installed on the repository and enabled as a protection rule of one of
 *   its environments; when a workflow job targets that environment, GitHub sends the event and the job waits.
 * - GitLab: a protected environment whose deployments need an approval (Stageline's user is its approver); when a
 *   deploy job targets it, the deployment is blocked and GitLab's deployment webhook says so.
 * Stageline maps the repository (project) and environment to one of its own environments (this gate, which the
 * tenant sets per environment), requests the promotion into it (or joins the one already on its way) and answers
 * the host when the promotion ends (GitHub's review endpoint, GitLab's deployment approval): approved when it
 * completed, rejected when it was rejected, expired, frozen out, failed or cancelled.
 */
export type GateHost = 'github' | 'gitlab';

export interface DeploymentGate {
  tenant: string;
  /** the Stageline environment the pipeline's job deploys to */
  environment: string;
  host: GateHost;
  /** `owner/name` on GitHub; the project's full path (`group/subgroup/project`) on GitLab */
  repository: string;
  /** the host's environment whose deploy jobs wait (compared without case) */
  hostEnvironment: string;
  /** where the promotion comes from; null: the environment before it in the line */
  source: string | null;
  /** an artifact: the promotion is of its version published from the commit the run deploys; null: the source's configuration */
  artifact: string | null;
  /** GitHub: the App */
  app: {
    /** the GitHub App's id (the JWT's issuer) */
    id: string;
    /** GitHub Enterprise Server's API (`https://ghe.example.com/api/v3`); null: api.github.com */
    apiUrl: string | null;
    /** the tenant secret holding the App's private key (PEM), purpose github-app-key */
    privateKeySecret: string;
    /** the tenant secret the App's webhooks are signed with, purpose git-webhook */
    webhookSecret: string;
  } | null;
  /** GitLab: the host, the approver's token and the webhook's secret token */
  gitlab: {
    /** the GitLab host (`https://gitlab.example.com`); null: gitlab.com */
    apiUrl: string | null;
    /** the tenant secret holding the approving user's API token, purpose gitlab-token */
    tokenSecret: string;
    /** the tenant secret the webhook's secret token is, purpose git-webhook */
    webhookSecret: string;
  } | null;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** One pipeline run's wait on a gate: what the host asked, the promotion it waits on, and the answer once given. */
export interface DeploymentRun {
  tenant: string;
  /** the Stageline environment (its gate) */
  environment: string;
  host: GateHost;
  repository: string;
  hostEnvironment: string;
  /** GitHub: the workflow run's id; GitLab: the deployment's id */
  runId: string;
  /** GitHub: the App's installation that asked; GitLab: 0 */
  installationId: number;
  sha: string;
  /** the promotion the run waits on; null: none could be requested (the answer says why) */
  promotionId: string | null;
  requestedAt: string;
  answer: { state: 'approved' | 'rejected'; comment: string; at: string } | null;
}

const secretName = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a secret name (A-Z, 0-9, _), e.g. GITHUB_APP_KEY')),
);

/** GitHub's repository names: `owner/name` of letters, digits, `-`, `_` and `.`. */
export const GITHUB_REPOSITORY = /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9_.-]{1,100}$/;
/** GitLab's project paths: a group, any subgroups and the project, of letters, digits, `-`, `_` and `.`. */
export const GITLAB_PROJECT = /^[A-Za-z0-9_.-]{1,255}(\/[A-Za-z0-9_.-]{1,255}){1,20}$/;

const hostUrl = /* @__PURE__ */ z.schema(() => z.optional(z.nullable(z.string().check(z.minLength(1), z.maxLength(2048), z.meta(TENANT_URL_FORMAT)))));

/** PUT /api/v1/environments/{env}/deployment-gate: `app` for GitHub, `gitlab` for GitLab (the host's own is required, the other refused). */
export const deploymentGateBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    host: z._default(z.enum(['github', 'gitlab']), 'github'),
    repository: z
      .string()
      .check(
        z.regex(GITLAB_PROJECT, 'must be owner/name as GitHub names the repository, or the project path on GitLab'),
        z.maxLength(1024),
        z.describe("GitHub: owner/name; GitLab: the project's full path"),
      ),
    /** the host's environment (compared without case) */
    hostEnvironment: z.string().check(
      z.minLength(1),
      z.maxLength(255),
      z.refine((s) => !/[\u0000-\u001f]/.test(s), 'must not hold control characters'),
    ),
    source: z.optional(z.nullable(envName)),
    artifact: z.optional(z.nullable(artifactName)),
    app: z.optional(
      z.nullable(
        z.strictObject({
          id: z.string().check(z.regex(/^[1-9][0-9]{0,19}$/, "must be the GitHub App's id (digits)")),
          apiUrl: hostUrl,
          privateKeySecret: secretName,
          webhookSecret: secretName,
        }),
      ),
    ),
    gitlab: z.optional(z.nullable(z.strictObject({ apiUrl: hostUrl, tokenSecret: secretName, webhookSecret: secretName }))),
    version: z.optional(z.number().check(z.int(), z.minimum(1))),
  }),
);
export type DeploymentGateBody = z.infer<typeof deploymentGateBody>;

/** The API base a gate's calls go to: GitHub's REST API, or the GitLab host (its API under /api/v4). */
export const apiBaseOf = (gate: Pick<DeploymentGate, 'host' | 'app' | 'gitlab'>) =>
  (gate.host === 'gitlab' ? (gate.gitlab?.apiUrl ?? 'https://gitlab.com') : (gate.app?.apiUrl ?? 'https://api.github.com')).replace(/\/+$/, '');

/** The secret the host's webhooks are verified with. */
export const webhookSecretOf = (gate: Pick<DeploymentGate, 'app' | 'gitlab'>) => (gate.app ?? gate.gitlab)!.webhookSecret;

/** What the body lacks or has too much of for its host, and its URL problems (the outbound rules a call will be held to), named by field. */
export function gateBodyIssues(body: DeploymentGateBody, urls: { allowLoopback: boolean }): Issue[] {
  const issues: Issue[] = [];
  const own = body.host === 'gitlab' ? 'gitlab' : 'app';
  const other = body.host === 'gitlab' ? 'app' : 'gitlab';
  if (!body[own]) issues.push({ path: `body.${own}`, message: `required for host ${body.host}` });
  if (body[other]) issues.push({ path: `body.${other}`, message: `only for host ${other === 'app' ? 'github' : 'gitlab'}` });
  if (body.host === 'github' && !GITHUB_REPOSITORY.test(body.repository))
    issues.push({ path: 'body.repository', message: 'must be owner/name as GitHub names the repository' });
  const url = body[own]?.apiUrl;
  const problem = url ? checkTenantUrl(url, urls) : null;
  if (problem) issues.push({ path: `body.${own}.apiUrl`, message: problem });
  return issues;
}

/** What a viewer sees of a gate: the secrets by name only, and the URL GitHub's App must send its webhooks to. */
export const deploymentGateView = (gate: DeploymentGate, webhookUrl: string) => ({
  environment: gate.environment,
  host: gate.host,
  repository: gate.repository,
  hostEnvironment: gate.hostEnvironment,
  source: gate.source,
  artifact: gate.artifact,
  app: gate.app ? { ...gate.app } : null,
  gitlab: gate.gitlab ? { ...gate.gitlab } : null,
  webhookUrl,
  version: gate.version,
  updatedAt: gate.updatedAt,
  updatedBy: gate.updatedBy,
});

export const gateSummary = (g: DeploymentGate | null) =>
  g
    ? `${g.repository} environment '${g.hostEnvironment}' (${g.app ? `GitHub App ${g.app.id}` : `GitLab ${apiBaseOf(g)}`})${g.artifact ? `, artifact ${g.artifact}` : ''}`
    : null;

/** The fields of a `deployment_protection_rule` event Stageline reads (GitHub sends many more). */
export const protectionRuleEvent = /* @__PURE__ */ z.schema(() =>
  z.looseObject({
    action: z.string(),
    environment: z.string().check(z.minLength(1), z.maxLength(255)),
    deployment_callback_url: z.string().check(z.maxLength(2048)),
    /** the commit the workflow runs on (GitHub: always set, whether or not a deployment was created) */
    sha: z.optional(z.string().check(z.maxLength(64))),
    deployment: z.optional(z.nullable(z.looseObject({ sha: z.optional(z.string().check(z.maxLength(64))) }))),
    repository: z.looseObject({ full_name: z.string().check(z.regex(GITHUB_REPOSITORY)) }),
    installation: z.looseObject({ id: z.number().check(z.int(), z.minimum(1)) }),
  }),
);
export type ProtectionRuleEvent = z.infer<typeof protectionRuleEvent>;

/**
 * The run id of a deployment callback URL, when it is the review endpoint of this repository on this gate's
 * API (`{api}/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`); null otherwise. The
 * answer goes to the URL Stageline builds from the gate, never to one a payload names.
 */
export function runIdOf(gate: Pick<DeploymentGate, 'host' | 'app' | 'gitlab' | 'repository'>, callbackUrl: string): string | null {
  const prefix = `${apiBaseOf(gate)}/repos/${gate.repository}/actions/runs/`.toLowerCase();
  if (!callbackUrl.toLowerCase().startsWith(prefix)) return null;
  const m = /^([0-9]{1,20})\/deployment_protection_rule$/.exec(callbackUrl.slice(prefix.length));
  return m ? m[1]! : null;
}

/** The review a promotion's status gives a waiting run: approved once it completed; rejected once it ended otherwise; null while it goes on. */
export function reviewOf(status: string): 'approved' | 'rejected' | null {
  if (status === 'COMPLETED') return 'approved';
  if (['REJECTED', 'EXPIRED', 'CANCELLED', 'FAILED', 'ROLLED_BACK'].includes(status)) return 'rejected';
  return null;
}

/** GitHub shows the comment beside the job (at most 1,024 characters here: it is kept short). */
export function reviewComment(
  state: 'approved' | 'rejected',
  promotion: { id: string; status: string; rejection?: { reason: string } | null; error?: { message: string } | null } | null,
  link: string | null,
  why?: string,
): string {
  const reason = why ?? promotion?.rejection?.reason ?? promotion?.error?.message;
  const text = promotion
    ? `Stageline promotion ${promotion.id} ${promotion.status.toLowerCase().replace(/_/g, ' ')}${state === 'rejected' && reason ? `: ${reason}` : ''}`
    : `Stageline refused the deployment: ${why ?? 'no promotion could be requested'}`;
  const full = link ? `${text} (${link})` : text;
  return full.length > 1024 ? `${full.slice(0, 1021)}...` : full;
}

/** The run's record key parts: the host, and the repository and environment as the hosts compare them (without case). */
export const runKeyOf = (r: Pick<DeploymentRun, 'host' | 'repository' | 'runId' | 'hostEnvironment'>) =>
  `${r.host}#${r.repository.toLowerCase()}#${r.runId}#${r.hostEnvironment.toLowerCase()}`;

/**
 * The fields of a GitLab deployment event Stageline reads (docs.gitlab.com, webhook events: deployment events). A
 * deployment waiting for approval is `blocked`; its full commit is the last segment of `commit_url`.
 */
export const gitlabDeploymentEvent = /* @__PURE__ */ z.schema(() =>
  z.looseObject({
    object_kind: z.literal('deployment'),
    status: z.string(),
    deployment_id: z.number().check(z.int(), z.minimum(1)),
    environment: z.string().check(z.minLength(1), z.maxLength(255)),
    project: z.looseObject({ path_with_namespace: z.string().check(z.regex(GITLAB_PROJECT)) }),
    short_sha: z.optional(z.string().check(z.maxLength(64))),
    commit_url: z.optional(z.string().check(z.maxLength(2048))),
  }),
);
export type GitLabDeploymentEvent = z.infer<typeof gitlabDeploymentEvent>;

/** The commit a GitLab deployment deploys: the 40 hex digits its commit URL ends with, or its short sha. */
export const gitlabShaOf = (e: Pick<GitLabDeploymentEvent, 'short_sha' | 'commit_url'>) =>
  /\/([0-9a-f]{40})$/.exec(e.commit_url ?? '')?.[1] ?? e.short_sha ?? '';
