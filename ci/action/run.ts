import { appendFileSync, readFileSync } from 'node:fs';
import { assumeRoleWithWebIdentity, webIdentityToken } from './oidc.ts';
import { evidencePayload } from './reports.ts';
import { CiError, settingsOf, type CiEnv, type Settings } from './settings.ts';
import { signRequest } from './sigv4.ts';

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

export { CiError, type CiEnv };

export interface CiResult {
  published?: { artifact: string; version: string; digest: string; created: boolean; environment: string };
  evidence: { type: string; file: string; id: string }[];
  promotion?: { id: string; status: string; url: string; from: string; to: string; existing: boolean };
}

type Answer = { status: number; body: any };

function client(s: Settings & { auth: Exclude<Settings['auth'], { kind: 'oidc' }> }) {
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
  const settings = settingsOf(env);
  const { auth } = settings;
  const s =
    auth.kind === 'oidc'
      ? {
          ...settings,
          auth: {
            kind: 'sigv4' as const,
            region: auth.region,
            creds: await assumeRoleWithWebIdentity(env, auth.roleArn, auth.region, await webIdentityToken(env)),
          },
        }
      : { ...settings, auth };
  if (auth.kind === 'oidc') log(`stageline: assumed ${auth.roleArn} with the job's OIDC token`);
  const call = client(s);
  const result: CiResult = { evidence: [] };
  const versionPath = `artifacts/${q(s.artifact)}/versions`;

  if (s.publish) {
    const body = {
      version: s.version,
      digest: s.digest,
      sourceCommit: s.sourceCommit.slice(0, 100),
      ...(s.committedAt ? { committedAt: s.committedAt } : {}),
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
    if (type === 'security_scan') await signatureOf(s, payload, log);
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

/**
 * A scan says whether the image's signature verified (the security gate fails closed without it). A report
 * that does not say (Trivy's) gets the answer here: the image's cosign signature — a Sigstore bundle
 * attached to its digest — verified with the public key (STAGELINE_SIGNED_IMAGE, STAGELINE_SIGNING_KEY), by the
 * same code Stageline verifies a copy's signature with. What was checked goes along (`signature`).
 */
async function signatureOf(s: Settings, payload: Record<string, unknown>, log: (line: string) => void): Promise<void> {
  if (typeof payload.signatureVerified === 'boolean') return;
  if (!s.signature || !s.digest) {
    log(
      'stageline: security_scan: the report does not say whether the image signature verified; set signing-key and signed-image (STAGELINE_SIGNING_KEY, STAGELINE_SIGNED_IMAGE) to verify it here — a security gate fails closed without it',
    );
    return;
  }
  const [{ Client }, { verifyCosignSignature }, { createHash, createPublicKey }] = await Promise.all([
    import('../../functions/adapters/oci/client.ts'),
    import('../../functions/adapters/oci/signature.ts'),
    import('node:crypto'),
  ]);
  const { image, key, credentials } = s.signature;
  const registry = { name: new URL(image.url).host, url: image.url };
  const client = new Client(registry, image.repository, 'pull', credentials, new Map(), 30_000);
  const checked = await verifyCosignSignature(client, s.digest, key);
  const fingerprint = `sha256:${createHash('sha256')
    .update(createPublicKey(key).export({ type: 'spki', format: 'der' }))
    .digest('hex')}`;
  payload.signatureVerified = checked.ok;
  payload.signature = {
    verifiedBy: 'stageline-ci',
    image: `${registry.name}/${image.repository}@${s.digest}`,
    key: fingerprint,
    ...(checked.bundle ? { bundle: checked.bundle } : {}),
    ...(checked.reason ? { reason: checked.reason.slice(0, 500) } : {}),
  };
  log(
    checked.ok
      ? `stageline: security_scan: the signature of ${s.digest} verified with key ${fingerprint.slice(0, 19)}… (bundle ${checked.bundle})`
      : `stageline: security_scan: the signature of ${s.digest} did NOT verify: ${checked.reason}`,
  );
}
