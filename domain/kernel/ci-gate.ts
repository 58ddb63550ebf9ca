import * as z from './zod.ts';
import { TENANT_URL_FORMAT } from './url-policy.ts';

/**
 * A CI run as a gate: when a promotion into the environment is about to execute (after its approvals, freeze
 * windows, soak and allowed hours), Stageline starts a run of the tenant's pipeline — a GitHub Actions workflow
 * (`workflow_dispatch` with inputs naming the release) or a GitLab pipeline (variables naming it) — and the
 * promotion waits SCHEDULED, without holding a Lambda, until the run ends: a success lets it go on, any other
 * conclusion fails it, and a run that has not ended by `timeoutMinutes` fails it too (domain/promotion/run/ci-hold.ts).
 * The run's URL and conclusion are a gate of the promotion's decision record (`ci_run`).
 */
export interface CiGate {
  host: 'github' | 'gitlab';
  /** GitHub: owner/name; GitLab: the project's full path */
  repository: string;
  /** GitHub: the workflow's file name (e2e.yml) or id; GitLab: none (the project's pipeline) */
  workflow: string | null;
  /** the branch or tag the run starts on */
  ref: string;
  /** the workflow's inputs (GitLab: the pipeline's variables); `{{release}}`, `{{promotion}}`, `{{environment}}`, `{{source}}`, `{{digest}}` are filled in */
  inputs: { name: string; value: string }[];
  /** GitHub: the App (Actions read and write) that starts and reads the run */
  app: { id: string; apiUrl: string | null; privateKeySecret: string } | null;
  /** GitLab: the host and the tenant secret holding a token that may run pipelines (api scope) */
  gitlab: { apiUrl: string | null; tokenSecret: string } | null;
  /** a run that has not ended this long after it was started fails the promotion */
  timeoutMinutes: number;
  /** how often the run is looked at while it runs */
  pollSeconds: number;
}

/** The placeholders an input's value may hold. */
export const CI_PLACEHOLDERS = ['release', 'promotion', 'environment', 'source', 'digest'] as const;
export type CiPlaceholders = Record<(typeof CI_PLACEHOLDERS)[number], string>;

/** GitHub's repository names: `owner/name` of letters, digits, `-`, `_` and `.`. */
export const GITHUB_REPOSITORY = /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9_.-]{1,100}$/;
/** GitLab's project paths: a group, any subgroups and the project, of letters, digits, `-`, `_` and `.`. */
export const GITLAB_PROJECT = /^[A-Za-z0-9_.-]{1,255}(\/[A-Za-z0-9_.-]{1,255}){1,20}$/;

const secretName = /* @__PURE__ */ z.schema(() =>
  z.string().check(z.regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a secret name (A-Z, 0-9, _), e.g. GITHUB_APP_KEY')),
);
const hostUrl = /* @__PURE__ */ z.schema(() => z._default(z.nullable(z.string().check(z.minLength(1), z.maxLength(2048), z.meta(TENANT_URL_FORMAT))), null));
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

export const ciGateSchema = /* @__PURE__ */ z.schema(() =>
  z
    .strictObject({
      host: z._default(z.enum(['github', 'gitlab']), 'github'),
      repository: z
        .string()
        .check(z.regex(GITLAB_PROJECT, 'must be owner/name as GitHub names the repository, or the project path on GitLab'), z.maxLength(1024)),
      workflow: z._default(
        z.nullable(
          z
            .string()
            .check(
              z.regex(/^(?:[A-Za-z0-9_.-]{1,200}\.ya?ml|[1-9][0-9]{0,19})$/, "must be the workflow's file name (e2e.yml) or its id"),
              z.describe('GitHub: the workflow run by workflow_dispatch; GitLab: left out'),
            ),
        ),
        null,
      ),
      ref: z._default(
        z.string().check(
          z.regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/, 'must be a branch or tag name'),
          z.refine((s) => !s.includes('..'), 'must not hold ..'),
        ),
        'main',
      ),
      inputs: z._default(
        z
          .array(
            z.strictObject({
              name: z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9_-]{0,99}$/, 'must be 1-100 letters, digits, _ and -, starting with a letter')),
              value: z
                .string()
                .check(z.maxLength(1000), z.describe('the value; {{release}}, {{promotion}}, {{environment}}, {{source}} and {{digest}} are filled in')),
            }),
          )
          .check(
            z.maxLength(25),
            z.refine((xs) => new Set(xs.map((x) => x.name)).size === xs.length, 'names an input twice'),
          ),
        [],
      ),
      app: z._default(
        z.nullable(
          z.strictObject({
            id: z.string().check(z.regex(/^[1-9][0-9]{0,19}$/, "must be the GitHub App's id (digits)")),
            apiUrl: hostUrl,
            privateKeySecret: secretName,
          }),
        ),
        null,
      ),
      gitlab: z._default(z.nullable(z.strictObject({ apiUrl: hostUrl, tokenSecret: secretName })), null),
      timeoutMinutes: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(1440)), 60),
      pollSeconds: z._default(z.number().check(z.int(), z.minimum(10), z.maximum(3600)), 60),
    })
    .check(
      z.superRefine((g, ctx) => {
        const own = g.host === 'gitlab' ? 'gitlab' : 'app';
        const other = g.host === 'gitlab' ? 'app' : 'gitlab';
        if (!g[own]) ctx.addIssue({ code: 'custom', path: [own], message: `required for host ${g.host}` });
        if (g[other]) ctx.addIssue({ code: 'custom', path: [other], message: `only for host ${other === 'app' ? 'github' : 'gitlab'}` });
        if (g.host === 'github' && !GITHUB_REPOSITORY.test(g.repository))
          ctx.addIssue({ code: 'custom', path: ['repository'], message: 'must be owner/name as GitHub names the repository' });
        if (g.host === 'github' && !g.workflow) ctx.addIssue({ code: 'custom', path: ['workflow'], message: 'required for host github: the workflow to run' });
        if (g.host === 'gitlab' && g.workflow)
          ctx.addIssue({ code: 'custom', path: ['workflow'], message: 'only for host github (GitLab runs the project pipeline)' });
        g.inputs.forEach((input, i) => {
          for (const [, name] of input.value.matchAll(PLACEHOLDER))
            if (!(CI_PLACEHOLDERS as readonly string[]).includes(name!))
              ctx.addIssue({
                code: 'custom',
                path: ['inputs', i, 'value'],
                message: `{{${name}}} is not known: use ${CI_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
              });
        });
      }),
    ),
);

/** An input's value with its placeholders filled (each known one; the schema refused the others). */
export function ciInputValue(value: string, with_: CiPlaceholders): string {
  return value.replace(PLACEHOLDER, (all, name: string) => ((CI_PLACEHOLDERS as readonly string[]).includes(name) ? with_[name as keyof CiPlaceholders] : all));
}

/** The inputs as sent: name → filled value (an array in, so a name is never an object path). */
export function ciInputs(gate: CiGate, with_: CiPlaceholders): Record<string, string> {
  return Object.fromEntries(gate.inputs.map((i) => [i.name, ciInputValue(i.value, with_)]));
}

/** The API base a CI gate's calls go to: GitHub's REST API, or the GitLab host (its API under /api/v4). */
export const ciApiBase = (gate: Pick<CiGate, 'host' | 'app' | 'gitlab'>) =>
  (gate.host === 'gitlab' ? (gate.gitlab?.apiUrl ?? 'https://gitlab.com') : (gate.app?.apiUrl ?? 'https://api.github.com')).replace(/\/+$/, '');
