import * as z from '../kernel/zod.ts';
import { envName } from '../kernel/schemas.ts';
import { artifactName } from '../kernel/promotion-schemas.ts';
import { checkTenantUrl, TENANT_URL_FORMAT } from '../kernel/url-policy.ts';
import type { Issue } from '../kernel/errors.ts';

/**
 * A pipeline's deploy job gated by Stageline: GitHub's custom deployment protection rules. A GitHub App
 * (Deployments read and write, Actions read, the `deployment_protection_rule` event) is installed on the
 * repository and enabled as a protection rule of one of its environments; when a workflow job targets that
 * environment, GitHub sends the event and the job waits. Stageline maps the repository and environment to
 * one of its own environments (this gate, which the tenant sets per environment), requests the promotion
 * into it (or joins the one already on its way) and answers GitHub's review endpoint when the promotion
 * ends: approved when it completed, rejected when it was rejected, expired, frozen out, failed or cancelled.
 */
export interface DeploymentGate {
  tenant: string;
  /** the Stageline environment the pipeline's job deploys to */
  environment: string;
  host: 'github';
  /** `owner/name`, as GitHub names it */
  repository: string;
  /** the GitHub environment whose protection rule this is (GitHub compares environment names without case) */
  hostEnvironment: string;
  /** where the promotion comes from; null: the environment before it in the line */
  source: string | null;
  /** an artifact: the promotion is of its version published from the commit the run deploys; null: the source's configuration */
  artifact: string | null;
  app: {
    /** the GitHub App's id (the JWT's issuer) */
    id: string;
    /** GitHub Enterprise Server's API (`https://ghe.example.com/api/v3`); null: api.github.com */
    apiUrl: string | null;
    /** the tenant secret holding the App's private key (PEM), purpose github-app-key */
    privateKeySecret: string;
    /** the tenant secret the App's webhooks are signed with, purpose git-webhook */
    webhookSecret: string;
  };
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** One workflow run's wait on a gate: what GitHub asked, the promotion it waits on, and the answer once given. */
export interface DeploymentRun {
  tenant: string;
  /** the Stageline environment (its gate) */
  environment: string;
  repository: string;
  hostEnvironment: string;
  runId: string;
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

/** PUT /api/v1/environments/{env}/deployment-gate. */
export const deploymentGateBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    host: z._default(z.literal('github'), 'github'),
    repository: z.string().check(z.regex(GITHUB_REPOSITORY, 'must be owner/name as GitHub names the repository')),
    /** the GitHub environment (GitHub compares names without case) */
    hostEnvironment: z.string().check(
      z.minLength(1),
      z.maxLength(255),
      z.refine((s) => !/[\u0000-\u001f]/.test(s), 'must not hold control characters'),
    ),
    source: z.optional(z.nullable(envName)),
    artifact: z.optional(z.nullable(artifactName)),
    app: z.strictObject({
      id: z.string().check(z.regex(/^[1-9][0-9]{0,19}$/, "must be the GitHub App's id (digits)")),
      apiUrl: z.optional(z.nullable(z.string().check(z.minLength(1), z.maxLength(2048), z.meta(TENANT_URL_FORMAT)))),
      privateKeySecret: secretName,
      webhookSecret: secretName,
    }),
    version: z.optional(z.number().check(z.int(), z.minimum(1))),
  }),
);
export type DeploymentGateBody = z.infer<typeof deploymentGateBody>;

/** The API base a gate's calls go to. */
export const apiBaseOf = (gate: Pick<DeploymentGate, 'app'>) => (gate.app.apiUrl ?? 'https://api.github.com').replace(/\/+$/, '');

/** The body's URL problems (the outbound rules a call will be held to), named by field. */
export function gateUrlIssues(body: DeploymentGateBody, urls: { allowLoopback: boolean }): Issue[] {
  if (!body.app.apiUrl) return [];
  const problem = checkTenantUrl(body.app.apiUrl, urls);
  return problem ? [{ path: 'body.app.apiUrl', message: problem }] : [];
}

/** What a viewer sees of a gate: the secrets by name only, and the URL GitHub's App must send its webhooks to. */
export const deploymentGateView = (gate: DeploymentGate, webhookUrl: string) => ({
  environment: gate.environment,
  host: gate.host,
  repository: gate.repository,
  hostEnvironment: gate.hostEnvironment,
  source: gate.source,
  artifact: gate.artifact,
  app: { ...gate.app },
  webhookUrl,
  version: gate.version,
  updatedAt: gate.updatedAt,
  updatedBy: gate.updatedBy,
});

export const gateSummary = (g: DeploymentGate | null) =>
  g ? `${g.repository} environment '${g.hostEnvironment}' (GitHub App ${g.app.id})${g.artifact ? `, artifact ${g.artifact}` : ''}` : null;

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
export function runIdOf(gate: Pick<DeploymentGate, 'app' | 'repository'>, callbackUrl: string): string | null {
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

/** The run's record key parts: the repository and environment as GitHub compares them (without case). */
export const runKeyOf = (r: Pick<DeploymentRun, 'repository' | 'runId' | 'hostEnvironment'>) =>
  `${r.repository.toLowerCase()}#${r.runId}#${r.hostEnvironment.toLowerCase()}`;
