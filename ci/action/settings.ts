import { readFileSync } from 'node:fs';
import type { AwsCredentials } from './sigv4.ts';

/** The CI entry's settings: the STAGELINE_* variables (and the CI's own) of the job's environment, checked at once. */

/** The job's environment (process.env), read once. */
export type CiEnv = Record<string, string | undefined>;

/** A setting or a file that is wrong, or what the API refused: the job fails with this message. */
export class CiError extends Error {
  override readonly name = 'CiError';
}

export const EVIDENCE_TYPES = ['test_results', 'security_scan', 'cost_estimate', 'benchmark', 'policy', 'metrics'] as const;
export type EvidenceType = (typeof EVIDENCE_TYPES)[number];

export interface Settings {
  url: string;
  consoleUrl: string;
  auth:
    | { kind: 'token'; token: string }
    | { kind: 'sigv4'; creds: AwsCredentials; region: string }
    /** credentials still to get: the job's OIDC token exchanged for the role's (oidc.ts) */
    | { kind: 'oidc'; roleArn: string; region: string };
  artifact: string;
  version: string;
  digest: string | undefined;
  publish: boolean;
  sourceCommit: string;
  /** when the commit was made (lead time counts from it): set, GitLab's CI_COMMIT_TIMESTAMP, or a GitHub push's head commit */
  committedAt: string | undefined;
  gitBranch: string;
  metadata: Record<string, unknown>;
  evidence: { type: EvidenceType; file: string }[];
  /** the image's signature to verify for the scan (cosign's Sigstore bundle, key-based): where the image is and the public key */
  signature: { image: { url: string; repository: string }; key: string; credentials?: { username: string; password: string } } | undefined;
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
  const roleArn = get('STAGELINE_AWS_ROLE_ARN');
  const region = get('STAGELINE_AWS_REGION') ?? get('AWS_REGION') ?? get('AWS_DEFAULT_REGION');
  let auth: Settings['auth'] | undefined;
  if (token) auth = { kind: 'token', token };
  // A role named explicitly wins over credentials the job happens to have.
  else if (roleArn) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(roleArn))
      problems.push('STAGELINE_AWS_ROLE_ARN must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)');
    auth = { kind: 'oidc', roleArn, region: region ?? '' };
  } else if (get('AWS_ACCESS_KEY_ID') && get('AWS_SECRET_ACCESS_KEY')) {
    auth = {
      kind: 'sigv4',
      creds: { accessKeyId: get('AWS_ACCESS_KEY_ID')!, secretAccessKey: get('AWS_SECRET_ACCESS_KEY')!, sessionToken: get('AWS_SESSION_TOKEN') },
      region: region ?? '',
    };
  } else
    problems.push(
      "no credentials: set STAGELINE_TOKEN, or STAGELINE_AWS_ROLE_ARN (a role listed in machinePrincipals, assumed with the job's OIDC token), or the AWS credentials of one (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)",
    );
  if (auth && auth.kind !== 'token' && !region) problems.push('AWS_REGION is required to sign with the AWS credentials (the region Stageline is deployed in)');

  // The image's cosign signature, verified here so a clean scan can say signatureVerified (the security gate fails closed without it).
  const image = get('STAGELINE_SIGNED_IMAGE');
  const keyFile = get('STAGELINE_SIGNING_KEY');
  let signature: Settings['signature'];
  if (image || keyFile) {
    const m = image ? /^(?:(https?):\/\/)?([a-z0-9.-]+(?::[0-9]{1,5})?)\/([a-z0-9]+(?:[._/-][a-z0-9]+)*)$/.exec(image) : null;
    if (!m) problems.push('STAGELINE_SIGNED_IMAGE must name the image without tag or digest, e.g. ghcr.io/acme/platform (with STAGELINE_SIGNING_KEY)');
    let key = '';
    if (!keyFile) problems.push('STAGELINE_SIGNING_KEY is required with STAGELINE_SIGNED_IMAGE (the cosign public key file, e.g. cosign.pub)');
    else
      try {
        key = keyFile.startsWith('-----BEGIN') ? keyFile : readFileSync(keyFile, 'utf8');
        if (!/-----BEGIN PUBLIC KEY-----/.test(key)) problems.push(`STAGELINE_SIGNING_KEY: ${keyFile} holds no PEM public key (-----BEGIN PUBLIC KEY-----)`);
      } catch (err) {
        problems.push(`STAGELINE_SIGNING_KEY: cannot read ${keyFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
    if (m && key) {
      const user = get('STAGELINE_REGISTRY_USERNAME');
      const password = get('STAGELINE_REGISTRY_PASSWORD');
      signature = {
        image: { url: `${m[1] ?? 'https'}://${m[2]}`, repository: m[3]! },
        key,
        ...(user && password ? { credentials: { username: user, password } } : {}),
      };
    }
  }

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
    committedAt: get('STAGELINE_COMMITTED_AT') ?? env.CI_COMMIT_TIMESTAMP ?? githubCommitTime(env),
    gitBranch: get('STAGELINE_GIT_BRANCH') ?? env.GITHUB_REF_NAME ?? env.CI_COMMIT_REF_NAME ?? '',
    metadata: { ...ciProvenance(env), ...metadata },
    evidence,
    signature,
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

/** The head commit's time of a GitHub push event (the event payload the runner writes), if this run has one. */
function githubCommitTime(env: CiEnv): string | undefined {
  if (!env.GITHUB_EVENT_PATH) return undefined;
  try {
    const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as { head_commit?: { timestamp?: unknown } };
    const at = event.head_commit?.timestamp;
    return typeof at === 'string' && !Number.isNaN(Date.parse(at)) ? at : undefined;
  } catch {
    return undefined;
  }
}
