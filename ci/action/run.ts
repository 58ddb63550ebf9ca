import { appendFileSync, readFileSync } from 'node:fs';
import { signRequest, type AwsCredentials } from './sigv4.ts';

/**
 * What a CI job does to bring a release into Stageline — the GitHub Action (action.yml) and the GitLab CI
 * component (templates/stageline.yml) both run this, on plain Node (22.18 or newer: it strips the types),
 * with nothing to install:
 *
 * 1. publish the version (artifact, version, digest) into the first environment; publishing the same
 *    digest again (a re-run) is no change;
 * 2. attach evidence to it (test results, a scan), from files the job wrote;
 * 3. request the promotion (from → to), once per pipeline run (an Idempotency-Key from the run's id);
 * 4. say where the promotion is: its console link in the job summary ($GITHUB_STEP_SUMMARY), the step's
 *    outputs ($GITHUB_OUTPUT), a dotenv report (GitLab: `artifacts: reports: dotenv`) and the log.
 *
 * Authentication, the two machine paths the API has: a bearer token (STAGELINE_TOKEN), or, without one,
 * AWS credentials in the environment (an IAM role the job assumed from its CI's OIDC token) signing with
 * SigV4 the /machine/ routes, as a principal listed in the deployment's machinePrincipals.
 */

/** The job's environment (process.env), read once. */
export type CiEnv = Record<string, string | undefined>;

export interface CiResult {
  published?: { artifact: string; version: string; digest: string; created: boolean; environment: string };
  evidence: { type: string; file: string; id: string }[];
  promotion?: { id: string; status: string; url: string; from: string; to: string; existing: boolean };
}

/** A setting or a file that is wrong, or what the API refused: the job fails with this message. */
export class CiError extends Error {
  override readonly name = 'CiError';
}

const EVIDENCE_TYPES = ['test_results', 'security_scan', 'cost_estimate', 'benchmark', 'policy', 'metrics'] as const;
type EvidenceType = (typeof EVIDENCE_TYPES)[number];

interface Settings {
  url: string;
  consoleUrl: string;
  auth: { kind: 'token'; token: string } | { kind: 'sigv4'; creds: AwsCredentials; region: string };
  artifact: string;
  version: string;
  digest: string | undefined;
  publish: boolean;
  sourceCommit: string;
  gitBranch: string;
  metadata: Record<string, unknown>;
  evidence: { type: EvidenceType; file: string }[];
  from: string | undefined;
  to: string | undefined;
  runKey: string | undefined;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** The settings from the environment, every problem at once (a job fails once, saying all of them). */
export function settingsOf(env: CiEnv): Settings {
  const problems: string[] = [];
  const get = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const need = (name: string, what: string) => get(name) ?? (problems.push(`${name} is required (${what})`), '');
  const url = need('STAGELINE_URL', "the Stageline API's base URL").replace(/\/+$/, '');
  if (url && !/^https?:\/\/[^/]/.test(url)) problems.push('STAGELINE_URL must be an http(s) URL');
  const artifact = need('STAGELINE_ARTIFACT', 'the artifact, e.g. platform');
  if (artifact && !NAME.test(artifact)) problems.push('STAGELINE_ARTIFACT must be a name (letters, digits, . _ -)');
  const version = need('STAGELINE_VERSION', 'the version, e.g. v1.2.3');
  const digest = get('STAGELINE_DIGEST');
  if (digest && !/^sha256:[0-9a-f]{64}$/.test(digest)) problems.push('STAGELINE_DIGEST must be sha256:<64 hex digits> (the image digest the build pushed)');
  const publish = (get('STAGELINE_PUBLISH') ?? 'true') !== 'false';
  if (publish && !digest) problems.push('STAGELINE_DIGEST is required to publish (or set STAGELINE_PUBLISH=false for a version published before)');
  let metadata: Record<string, unknown> = {};
  const rawMetadata = get('STAGELINE_METADATA');
  if (rawMetadata) {
    try {
      const parsed: unknown = JSON.parse(rawMetadata);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      metadata = parsed as Record<string, unknown>;
    } catch (err) {
      problems.push(`STAGELINE_METADATA must be a JSON object (${(err as Error).message})`);
    }
  }
  const evidence: Settings['evidence'] = [];
  for (const line of (get('STAGELINE_EVIDENCE') ?? '').split(/\r?\n/)) {
    const entry = line.trim();
    if (!entry || entry.startsWith('#')) continue;
    const m = /^([a-z_]+)\s*=\s*(.+)$/.exec(entry);
    if (!m || !(EVIDENCE_TYPES as readonly string[]).includes(m[1]!))
      problems.push(`STAGELINE_EVIDENCE: '${entry}' is not <type>=<file> with a type of ${EVIDENCE_TYPES.join(', ')}`);
    else evidence.push({ type: m[1] as EvidenceType, file: m[2]!.trim() });
  }
  const from = get('STAGELINE_FROM');
  const to = get('STAGELINE_TO');
  if (to && !from) problems.push('STAGELINE_FROM is required with STAGELINE_TO (the environment the version is promoted from)');
  for (const [name, v] of [
    ['STAGELINE_FROM', from],
    ['STAGELINE_TO', to],
  ] as const)
    if (v && !NAME.test(v)) problems.push(`${name} must be an environment name`);

  const token = get('STAGELINE_TOKEN');
  let auth: Settings['auth'] | undefined;
  if (token) auth = { kind: 'token', token };
  else if (get('AWS_ACCESS_KEY_ID') && get('AWS_SECRET_ACCESS_KEY')) {
    const region = get('STAGELINE_AWS_REGION') ?? get('AWS_REGION') ?? get('AWS_DEFAULT_REGION');
    if (!region) problems.push('AWS_REGION is required to sign with the AWS credentials (the region Stageline is deployed in)');
    auth = {
      kind: 'sigv4',
      creds: { accessKeyId: get('AWS_ACCESS_KEY_ID')!, secretAccessKey: get('AWS_SECRET_ACCESS_KEY')!, sessionToken: get('AWS_SESSION_TOKEN') },
      region: region ?? '',
    };
  } else
    problems.push(
      'no credentials: set STAGELINE_TOKEN, or assume an IAM role listed in machinePrincipals (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION)',
    );

  if (problems.length) throw new CiError(problems.join('\n'));
  // The run, as the CI names it: a re-run of the same pipeline requests the same promotion, never a second.
  const run = env.GITHUB_RUN_ID ? `gh-${env.GITHUB_RUN_ID}` : env.CI_PIPELINE_ID ? `gl-${env.CI_PIPELINE_ID}` : undefined;
  return {
    url,
    consoleUrl: (get('STAGELINE_CONSOLE_URL') ?? `${url}/dashboard`).replace(/\/+$/, ''),
    auth: auth!,
    artifact,
    version,
    digest,
    publish,
    sourceCommit: get('STAGELINE_SOURCE_COMMIT') ?? env.GITHUB_SHA ?? env.CI_COMMIT_SHA ?? '',
    gitBranch: get('STAGELINE_GIT_BRANCH') ?? env.GITHUB_REF_NAME ?? env.CI_COMMIT_REF_NAME ?? '',
    metadata: { ...ciProvenance(env), ...metadata },
    evidence,
    from,
    to,
    runKey: run && `${run}-${artifact}-${version}-${to ?? ''}`.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 128),
  };
}

/** Where the release was built, kept on the version (its metadata): the pipeline run a reviewer can open. */
function ciProvenance(env: CiEnv): Record<string, unknown> {
  if (env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY)
    return {
      ci: {
        provider: 'github',
        repository: env.GITHUB_REPOSITORY,
        run: `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`,
      },
    };
  if (env.CI_PIPELINE_ID && env.CI_PROJECT_PATH) return { ci: { provider: 'gitlab', repository: env.CI_PROJECT_PATH, run: env.CI_PIPELINE_URL ?? '' } };
  return {};
}

/**
 * A JUnit XML report (what test runners on both CIs write: Jest, Vitest, pytest, Maven Surefire, go-junit-report)
 * as test_results evidence: the totals of the root <testsuites>, or the sum of its <testsuite> elements.
 */
export function junitTotals(xml: string): { passed: number; failed: number; skipped: number } {
  const attrs = (tag: string) => {
    const out: Record<string, number> = {};
    for (const m of tag.matchAll(/\s([a-z]+)\s*=\s*"(\d+)"/g)) out[m[1]!] = Number(m[2]);
    return out;
  };
  const root = /<testsuites\b[^>]*>/.exec(xml)?.[0];
  const totals = root ? attrs(root) : {};
  let suites = [attrs(root ?? '')];
  if (!root || totals.tests === undefined) suites = [...xml.matchAll(/<testsuite\b[^>]*>/g)].map((m) => attrs(m[0]));
  if (!suites.length || suites.every((s) => s.tests === undefined)) throw new CiError('not a JUnit XML report: no <testsuite tests="…"> found');
  const sum = (k: string) => suites.reduce((n, s) => n + (s[k] ?? 0), 0);
  const failed = sum('failures') + sum('errors');
  const skipped = sum('skipped') + sum('disabled');
  return { passed: Math.max(0, sum('tests') - failed - skipped), failed, skipped };
}

/** A Trivy JSON report (`trivy image --format json`) as security_scan evidence: vulnerabilities by severity. */
export function trivyTotals(report: { Results?: { Vulnerabilities?: { Severity?: string }[] | null }[] }): Record<string, number | string> {
  const count: Record<string, number> = { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0 };
  for (const r of report.Results ?? []) for (const v of r.Vulnerabilities ?? []) if (v.Severity && v.Severity in count) count[v.Severity]!++;
  return { critical: count.CRITICAL!, high: count.HIGH!, medium: count.MEDIUM!, low: count.LOW!, scanner: 'trivy' };
}

/** The evidence payload a file holds: JUnit XML for test results, a Trivy report for a scan, or the payload itself as JSON. */
export function evidencePayload(type: EvidenceType, file: string, text: string): Record<string, unknown> {
  if (/^\s*</.test(text)) {
    if (type !== 'test_results') throw new CiError(`${file}: XML is read as a JUnit report, which is test_results evidence (not ${type})`);
    return { ...junitTotals(text), suite: file.split('/').pop()!.slice(0, 200) };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CiError(`${file} is neither JSON nor JUnit XML (${(err as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new CiError(`${file}: the evidence payload must be a JSON object`);
  if (type === 'security_scan' && 'Results' in json) return trivyTotals(json as Parameters<typeof trivyTotals>[0]);
  return json as Record<string, unknown>;
}

type Answer = { status: number; body: any };

function client(s: Settings) {
  return async (method: 'POST', route: { user: string; machine: string }, body: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const path = s.auth.kind === 'token' ? route.user : route.machine;
    const text = JSON.stringify(body);
    const base = { 'content-type': 'application/json', ...headers };
    const sent =
      s.auth.kind === 'token'
        ? { ...base, authorization: `Bearer ${s.auth.token}` }
        : signRequest({ method, url: s.url + path, body: text, headers: base }, s.auth.creds, s.auth.region);
    let res: Response;
    try {
      res = await fetch(s.url + path, { method, headers: sent, body: text, signal: AbortSignal.timeout(60_000) });
    } catch (err) {
      throw new CiError(`cannot reach ${s.url}: ${(err as Error).message}`);
    }
    const raw = await res.text();
    let parsed: unknown = raw;
    try {
      parsed = raw ? JSON.parse(raw) : undefined;
    } catch {
      /* not JSON: shown as text */
    }
    return { status: res.status, body: parsed };
  };
}

/** What the API said when it refused, in one line (its issues listed). */
function refusal(what: string, a: Answer): CiError {
  const e = (a.body && typeof a.body === 'object' && 'error' in a.body ? a.body.error : a.body) as
    { message?: string; issues?: { path: string; message: string }[] } | string;
  const message = typeof e === 'string' ? e.slice(0, 300) : (e?.message ?? '');
  const issues = typeof e === 'object' && e?.issues ? e.issues.map((i) => `\n  ${i.path}: ${i.message}`).join('') : '';
  const hint =
    a.status === 401 || a.status === 403
      ? ' (a token needs the deployer role; an IAM role must be listed in machinePrincipals with deployer, and sign for the region Stageline runs in)'
      : '';
  return new CiError(`${what}: ${a.status} ${message}${hint}${issues}`);
}

const q = encodeURIComponent;

export async function runCi(env: CiEnv, log: (line: string) => void = console.log): Promise<CiResult> {
  const s = settingsOf(env);
  const call = client(s);
  const result: CiResult = { evidence: [] };
  const versionPath = `artifacts/${q(s.artifact)}/versions`;

  if (s.publish) {
    const body = {
      version: s.version,
      digest: s.digest,
      sourceCommit: s.sourceCommit.slice(0, 100),
      gitBranch: s.gitBranch.slice(0, 200),
      metadata: s.metadata,
    };
    const a = await call('POST', { user: `/api/v1/${versionPath}`, machine: `/api/v1/machine/${versionPath}` }, body);
    if (a.status !== 201 && a.status !== 200) throw refusal(`publishing ${s.artifact} ${s.version}`, a);
    result.published = {
      artifact: s.artifact,
      version: s.version,
      digest: s.digest!,
      created: a.body?.created !== false,
      environment: a.body?.environment ?? '',
    };
    log(
      `stageline: ${result.published.created ? 'published' : 'already published'} ${s.artifact} ${s.version} (${s.digest}) in ${result.published.environment}`,
    );
  }

  for (const { type, file } of s.evidence) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CiError(`evidence ${type}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const payload = evidencePayload(type, file, text);
    const path = `${versionPath}/${q(s.version)}/evidence`;
    const a = await call('POST', { user: `/api/v1/${path}`, machine: `/api/v1/machine/${path}` }, { type, payload });
    if (a.status !== 201) throw refusal(`attaching ${type} evidence from ${file}`, a);
    result.evidence.push({ type, file, id: a.body.id });
    log(`stageline: attached ${type} evidence from ${file} (${a.body.id})`);
  }

  if (s.to) {
    const body = { sourceEnvironment: s.from, targetEnvironment: s.to, artifact: s.artifact, version: s.version };
    const a = await call('POST', { user: '/api/v1/promotions', machine: '/api/v1/machine/promotions' }, body, s.runKey ? { 'idempotency-key': s.runKey } : {});
    // The same release already on its way there (another run, or a re-run after the key expired): that promotion is the one to follow.
    const existing = a.status === 409 && typeof a.body?.error?.promotionId === 'string' ? (a.body.error.promotionId as string) : undefined;
    if (a.status !== 201 && a.status !== 200 && !existing) throw refusal(`requesting the promotion of ${s.artifact} ${s.version} from ${s.from} to ${s.to}`, a);
    const id = existing ?? (a.body.id as string);
    result.promotion = {
      id,
      status: existing ? 'already requested' : String(a.body.status),
      url: `${s.consoleUrl}#/promotions/${q(id)}`,
      from: s.from!,
      to: s.to,
      existing: Boolean(existing),
    };
    log(`stageline: promotion ${id} of ${s.artifact} ${s.version} from ${s.from} to ${s.to}: ${result.promotion.status}`);
    log(`stageline: ${result.promotion.url}`);
  }

  report(env, s, result);
  return result;
}

const md = (s: string) => s.replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);

/** The job summary (GitHub), the step's outputs (GitHub) and the dotenv report (GitLab; any CI reading one). */
function report(env: CiEnv, s: Settings, r: CiResult): void {
  const outputs: Record<string, string> = {
    'promotion-id': r.promotion?.id ?? '',
    'promotion-url': r.promotion?.url ?? '',
    'promotion-status': r.promotion?.status ?? '',
    'version-created': r.published ? String(r.published.created) : '',
  };
  if (env.GITHUB_STEP_SUMMARY) {
    const lines = [`### Stageline: ${md(s.artifact)} ${md(s.version)}`, ''];
    if (r.published)
      lines.push(`- ${r.published.created ? 'Published' : 'Already published'} in **${md(r.published.environment)}** as \`${r.published.digest}\``);
    for (const e of r.evidence) lines.push(`- Evidence \`${e.type}\` from \`${md(e.file)}\``);
    if (r.promotion)
      lines.push(`- Promotion ${md(r.promotion.from)} → ${md(r.promotion.to)}: [\`${r.promotion.id}\`](${r.promotion.url}) (${md(r.promotion.status)})`);
    appendFileSync(env.GITHUB_STEP_SUMMARY, `${lines.join('\n')}\n`);
  }
  if (env.GITHUB_OUTPUT)
    appendFileSync(
      env.GITHUB_OUTPUT,
      Object.entries(outputs)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
  const dotenv = env.STAGELINE_DOTENV?.trim() || (env.GITLAB_CI ? 'stageline.env' : undefined);
  if (dotenv)
    appendFileSync(
      dotenv,
      Object.entries(outputs)
        .map(([k, v]) => `STAGELINE_${k.toUpperCase().replace(/-/g, '_')}=${v}\n`)
        .join(''),
    );
}
