import { readFileSync } from 'node:fs';
import type { CiEnv } from './settings.ts';
import { CiError } from './settings.ts';
import type { AwsCredentials } from './sigv4.ts';

/**
 * OIDC → IAM role, with no AWS SDK: the job's OIDC token (its CI signs it; audience sts.amazonaws.com) is
 * exchanged with STS AssumeRoleWithWebIdentity — an unsigned call, the token is the proof — for the role's
 * short-lived credentials, which then sign the /machine/ routes. The token comes from, in order:
 * STAGELINE_ID_TOKEN (GitLab: `id_tokens: STAGELINE_ID_TOKEN: aud: sts.amazonaws.com`), the file
 * AWS_WEB_IDENTITY_TOKEN_FILE names, or GitHub's token service (a workflow with `permissions: id-token: write`).
 */
export async function webIdentityToken(env: CiEnv): Promise<string> {
  if (env.STAGELINE_ID_TOKEN?.trim()) return env.STAGELINE_ID_TOKEN.trim();
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE) {
    try {
      return readFileSync(env.AWS_WEB_IDENTITY_TOKEN_FILE, 'utf8').trim();
    } catch (err) {
      throw new CiError(`cannot read AWS_WEB_IDENTITY_TOKEN_FILE (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    const url = new URL(env.ACTIONS_ID_TOKEN_REQUEST_URL);
    url.searchParams.set('audience', 'sts.amazonaws.com');
    const res = await fetch(url, { headers: { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` } }).catch((err: Error) => {
      throw new CiError(`cannot reach GitHub's OIDC token service: ${err.message}`);
    });
    const body = (await res.json().catch(() => ({}))) as { value?: unknown };
    if (!res.ok || typeof body.value !== 'string') throw new CiError(`GitHub's OIDC token service answered ${res.status} without a token`);
    return body.value;
  }
  throw new CiError(
    'STAGELINE_AWS_ROLE_ARN is set but there is no OIDC token: on GitHub give the workflow `permissions: id-token: write`; on GitLab declare `id_tokens: STAGELINE_ID_TOKEN: aud: sts.amazonaws.com`',
  );
}

const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
const unescapeXml = (s: string) => s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e as 'lt']);

/** STS AssumeRoleWithWebIdentity (query protocol, XML answer), at the regional endpoint or AWS_ENDPOINT_URL_STS. */
export async function assumeRoleWithWebIdentity(env: CiEnv, roleArn: string, region: string, token: string): Promise<AwsCredentials> {
  const endpoint = (env.AWS_ENDPOINT_URL_STS ?? env.AWS_ENDPOINT_URL ?? `https://sts.${region}.amazonaws.com`).replace(/\/+$/, '');
  const session = (env.GITHUB_RUN_ID ? `stageline-gh-${env.GITHUB_RUN_ID}` : env.CI_JOB_ID ? `stageline-gl-${env.CI_JOB_ID}` : 'stageline-ci').slice(0, 64);
  const form = new URLSearchParams({
    Action: 'AssumeRoleWithWebIdentity',
    Version: '2011-06-15',
    RoleArn: roleArn,
    RoleSessionName: session,
    WebIdentityToken: token,
    DurationSeconds: '900',
  });
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: form.toString(),
    signal: AbortSignal.timeout(30_000),
  }).catch((err: Error) => {
    throw new CiError(`cannot reach STS at ${endpoint}: ${err.message}`);
  });
  const xml = await res.text();
  const accessKeyId = tag(xml, 'AccessKeyId');
  const secretAccessKey = tag(xml, 'SecretAccessKey');
  const sessionToken = tag(xml, 'SessionToken');
  if (!res.ok || !accessKeyId || !secretAccessKey || !sessionToken) {
    const why = [tag(xml, 'Code'), tag(xml, 'Message')]
      .filter(Boolean)
      .map((s) => unescapeXml(s!))
      .join(': ');
    throw new CiError(
      `STS refused to let this job assume ${roleArn}: ${res.status} ${why || xml.slice(0, 200)} (does the role trust this CI's OIDC provider and audience sts.amazonaws.com?)`,
    );
  }
  return { accessKeyId: unescapeXml(accessKeyId), secretAccessKey: unescapeXml(secretAccessKey), sessionToken: unescapeXml(sessionToken) };
}
