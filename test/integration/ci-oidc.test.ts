import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assumeRoleWithWebIdentity } from '../../ci/action/oidc.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { startMoto, type Moto } from '../support/moto.ts';

/**
 * The CI entry's OIDC → IAM role exchange (ci/action/oidc.ts) on the wire: STS AssumeRoleWithWebIdentity
 * against moto_server (an AWS-protocol server; scripts/prereqs.sh moto), then the entry run with plain
 * node as a GitLab job with `id_tokens` would be: it assumes the role and signs with what STS gave.
 */
const root = join(import.meta.dirname, '..', '..');
const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
const NODE = major > 22 || (major === 22 && minor >= 18) ? process.execPath : join(root, 'node_modules', '.bin', 'node');
const ROLE = 'arn:aws:iam::123456789012:role/ci-release';
// A GitLab id_token's shape (moto reads none of it; AWS checks it against the role's trusted OIDC provider).
const ID_TOKEN = [
  'eyJhbGciOiJSUzI1NiJ9',
  Buffer.from(JSON.stringify({ aud: 'sts.amazonaws.com', sub: 'project_path:acme/platform' })).toString('base64url'),
  'sig',
].join('.');

let moto: Moto | undefined;
let sts: string;
let t: TestStack;

beforeAll(async () => {
  moto = await startMoto();
  sts = moto.endpoint;
  t = await startTestStack();
}, 90_000);
afterAll(async () => {
  moto?.stop();
  await t?.stop();
});

describe('CI entry: OIDC token → IAM role (STS AssumeRoleWithWebIdentity)', () => {
  it("exchanges the job's OIDC token for the role's short-lived credentials", async () => {
    const creds = await assumeRoleWithWebIdentity({ AWS_ENDPOINT_URL_STS: sts, CI_JOB_ID: '31' }, ROLE, 'us-east-1', ID_TOKEN);
    expect(creds.accessKeyId).toMatch(/^ASIA[A-Z0-9]{12,}$/);
    expect(creds.secretAccessKey.length).toBeGreaterThan(20);
    expect(creds.sessionToken!.length).toBeGreaterThan(20);
  });

  it('the entry assumes the role and signs with it (a role the deployment does not list is refused, naming what to check); no token: what to declare', async () => {
    const run = (env: Record<string, string>) => {
      const child = spawn(NODE, [join(root, 'ci', 'action', 'main.ts')], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c) => (output += c));
      child.stderr.on('data', (c) => (output += c));
      return new Promise<{ code: number | null; output: string }>((r) => child.once('exit', (code) => r({ code, output })));
    };
    const job = {
      GITLAB_CI: 'true',
      CI_JOB_ID: '32',
      STAGELINE_URL: t.url,
      STAGELINE_AWS_ROLE_ARN: ROLE,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_STS: sts,
      STAGELINE_ARTIFACT: 'platform',
      STAGELINE_VERSION: 'v9.0.0',
      STAGELINE_DIGEST: `sha256:${'9'.repeat(64)}`,
      STAGELINE_DOTENV: '/dev/null',
    };
    // moto's credentials are no principal of this stack: the request is signed with them, and refused.
    const refused = await run({ ...job, STAGELINE_ID_TOKEN: ID_TOKEN });
    expect(refused.code).toBe(1);
    expect(refused.output).toContain(`stageline: assumed ${ROLE} with the job's OIDC token`);
    expect(refused.output).toMatch(/publishing platform v9\.0\.0: 40[13] .*machinePrincipals/);
    const noToken = await run(job);
    expect(noToken.code).toBe(1);
    expect(noToken.output).toContain('id_tokens: STAGELINE_ID_TOKEN: aud: sts.amazonaws.com');
  }, 30_000);
});
