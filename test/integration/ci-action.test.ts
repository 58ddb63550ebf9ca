import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { pushImage, startRegistry } from '../support/registry.ts';
import { SIGSTORE_BUNDLE } from '../../functions/adapters/oci/signature.ts';
import { OciRegistrySync } from '../../functions/adapters/oci/sync.ts';

/**
 * CI brings releases in: the entry the GitHub Action and the GitLab component run (ci/action/main.ts), run
 * with plain node as the runner would (no `act`), against the local stack. It publishes the version,
 * attaches the job's test report and scan, requests the promotion and writes the promotion's link into the
 * job summary (GitHub) or a dotenv report (GitLab).
 */
const root = join(import.meta.dirname, '..', '..');
const ENTRY = join(root, 'ci', 'action', 'main.ts');
// Node 22.18+ runs TypeScript as is; the project's own Node (the `node` dev dependency) when the test runner's is older.
const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
const NODE = major > 22 || (major === 22 && minor >= 18) ? process.execPath : join(root, 'node_modules', '.bin', 'node');
const digest = (c: string) => `sha256:${c.repeat(64)}`;

const JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="vitest tests" tests="52" failures="0" errors="0" time="3.1">
  <testsuite name="api" tests="40" failures="0" errors="0" skipped="2"><testcase name="a"/></testsuite>
  <testsuite name="ui" tests="12" failures="0" errors="0" skipped="0"><testcase name="b"/></testsuite>
</testsuites>
`;
const TRIVY = JSON.stringify({
  SchemaVersion: 2,
  ArtifactName: 'registry.example.com/team/platform',
  Results: [{ Target: 'platform (debian 12)', Vulnerabilities: [{ VulnerabilityID: 'CVE-2026-0001', Severity: 'MEDIUM' }, { Severity: 'LOW' }] }],
});

let t: TestStack;
let dir: string;
beforeAll(async () => {
  t = await startTestStack();
  dir = mkdtempSync(join(tmpdir(), 'stageline-ci-'));
  writeFileSync(join(dir, 'junit.xml'), JUNIT);
  writeFileSync(join(dir, 'trivy.json'), TRIVY);
  writeFileSync(join(dir, 'scan.json'), JSON.stringify({ critical: 0, high: 0, signatureVerified: true, scanner: 'grype' }));
});
afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the entry as the runner does: a child process with the job's environment (and nothing of this one's secrets). */
function runEntry(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(NODE, [ENTRY], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  return new Promise((r) => child.once('exit', (code) => r({ code, output })));
}

const github = (run: string) => ({
  GITHUB_ACTIONS: 'true',
  GITHUB_RUN_ID: run,
  GITHUB_REPOSITORY: 'acme/platform',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_SHA: 'abc1234def',
  GITHUB_REF_NAME: 'main',
  GITHUB_STEP_SUMMARY: join(dir, `summary-${run}.md`),
  GITHUB_OUTPUT: join(dir, `output-${run}.txt`),
});

describe('CI entry (ci/action/main.ts): the GitHub Action and the GitLab component', () => {
  it('GitHub, signing with an IAM role (SigV4, as after OIDC): publishes, attaches JUnit and Trivy evidence, requests the promotion, writes its link into the job summary; a re-run requests no second one', async () => {
    // The local pipeline credential is bound to tenant acme (MACHINE_PRINCIPALS, as on AWS): its line, in this test's own table.
    const u = await t.users('acme');
    await makeLine(t, u.admin);
    const iam = t.stack.iam[0]!;
    const env = {
      ...github('9001'),
      STAGELINE_URL: t.url,
      AWS_ACCESS_KEY_ID: iam.accessKeyId,
      AWS_SECRET_ACCESS_KEY: iam.secretAccessKey,
      AWS_REGION: 'us-east-1',
      STAGELINE_ARTIFACT: 'platform',
      STAGELINE_VERSION: 'v2.0.0',
      STAGELINE_DIGEST: digest('e'),
      STAGELINE_EVIDENCE: 'test_results=junit.xml\nsecurity_scan=trivy.json\n',
      STAGELINE_FROM: 'dev',
      STAGELINE_TO: 'staging',
    };
    const first = await runEntry(env);
    expect(first.code, first.output).toBe(0);

    // The version, with where it was built.
    const versions = await t.call('GET', '/api/v1/artifacts/platform/versions', { token: u.viewer });
    expect(JSON.stringify(versions.body)).toContain('v2.0.0');
    // The promotion: requested by the pipeline, with both pieces of evidence from a machine.
    const summary = readFileSync(env.GITHUB_STEP_SUMMARY, 'utf8');
    const id = /\[`([^`]+)`\]\(([^)]+)\)/.exec(summary)!;
    expect(id[2]).toBe(`${t.url}/dashboard#/promotions/${id[1]}`);
    expect(summary).toContain(`### Stageline: platform v2.0.0`);
    expect(summary).toContain('Published in **dev**');
    expect(summary).toContain('Evidence `test_results` from `junit.xml`');
    const done = await waitFor(t, u.viewer, id[1]!, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    expect(done.requestedBy.name).toBe('pipeline');
    const decision = (await t.call('GET', `/api/v1/promotions/${id[1]}/decision`, { token: u.viewer })).body;
    expect(decision.evidence.map((e: { type: string; source: { kind: string } }) => [e.type, e.source?.kind]).sort()).toEqual([
      ['security_scan', 'machine'],
      ['test_results', 'machine'],
    ]);
    const outputs = readFileSync(env.GITHUB_OUTPUT, 'utf8');
    expect(outputs).toContain(`promotion-id=${id[1]}\n`);
    expect(outputs).toContain(`promotion-url=${t.url}/dashboard#/promotions/${id[1]}\n`);
    expect(first.output).toContain(`stageline: promotion ${id[1]} of platform v2.0.0 from dev to staging`);

    // The job run again (same run id): the same version, no second promotion.
    const again = await runEntry({ ...env, STAGELINE_EVIDENCE: '' });
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain('already published platform v2.0.0');
    expect(again.output).toContain(`promotion ${id[1]} `);
    const list = await t.call('GET', '/api/v1/promotions', { token: u.viewer });
    expect(list.body.items.map((p: { id: string }) => p.id)).toEqual([id[1]]);
  }, 60_000);

  it('GitLab, with a token: the promotion link goes into the dotenv report and the job log', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const dotenv = join(dir, 'gitlab.env');
    const r = await runEntry({
      GITLAB_CI: 'true',
      CI_PIPELINE_ID: '4242',
      CI_PROJECT_PATH: 'acme/platform',
      CI_PIPELINE_URL: 'https://gitlab.example.com/acme/platform/-/pipelines/4242',
      CI_COMMIT_SHA: 'fedcba987',
      CI_COMMIT_REF_NAME: 'main',
      STAGELINE_DOTENV: dotenv,
      STAGELINE_URL: t.url,
      STAGELINE_TOKEN: u.deployer,
      STAGELINE_ARTIFACT: 'orders',
      STAGELINE_VERSION: '1.4.0',
      STAGELINE_DIGEST: digest('f'),
      STAGELINE_EVIDENCE: 'security_scan=scan.json',
      STAGELINE_FROM: 'dev',
      STAGELINE_TO: 'staging',
    });
    expect(r.code, r.output).toBe(0);
    const vars = Object.fromEntries(
      readFileSync(dotenv, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(/=(.*)/s).slice(0, 2)),
    );
    expect(vars.STAGELINE_PROMOTION_URL).toBe(`${t.url}/dashboard#/promotions/${vars.STAGELINE_PROMOTION_ID}`);
    expect(r.output).toContain(vars.STAGELINE_PROMOTION_URL);
    const p = await waitFor(t, u.viewer, vars.STAGELINE_PROMOTION_ID!, ['COMPLETED', 'FAILED'], 30_000);
    expect(p.status, JSON.stringify(p.error)).toBe('COMPLETED');
    const versions = await t.call('GET', '/api/v1/artifacts/orders/versions', { token: u.viewer });
    expect(JSON.stringify(versions.body)).toContain('https://gitlab.example.com/acme/platform/-/pipelines/4242');
  }, 60_000);

  it('a clean Trivy report passes the default security gate once the action verified the image’s cosign signature with the public key; a signature by another key fails it, saying so', async () => {
    const registry = await startRegistry({ name: 'ci' });
    try {
      const tenant = t.tenant();
      const u = await t.users(tenant);
      await makeLine(t, u.admin);
      const staging = await t.call('GET', '/api/v1/environments/staging', { token: u.admin });
      const gates = await t.call('PATCH', '/api/v1/environments/staging', {
        token: u.admin,
        body: { version: staging.body.version, gates: { tests: true, security_scan: true } },
      });
      expect(gates.status, JSON.stringify(gates.body)).toBe(200);
      const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      writeFileSync(join(dir, 'cosign.pub'), signer.publicKey.export({ type: 'spki', format: 'pem' }).toString());
      // Two images, each signed as `cosign sign --key … --new-bundle-format` attaches it: a Sigstore bundle referring to the digest.
      const signed = async (privateKey: KeyObject, n: number) => {
        const image = await pushImage({ name: registry.name, url: registry.url }, 'acme/platform', {
          configBytes: Buffer.from(JSON.stringify({ n })),
          layers: [randomBytes(256)],
        });
        const manifest = Buffer.from(
          await (
            await fetch(`${registry.url}/v2/acme/platform/manifests/${image}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })
          ).arrayBuffer(),
        );
        const bundle = {
          mediaType: SIGSTORE_BUNDLE,
          verificationMaterial: { publicKey: { hint: 'ci' }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
          messageSignature: {
            messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(manifest).digest('base64') },
            signature: sign('sha256', manifest, privateKey).toString('base64'),
          },
        };
        const [r] = await new OciRegistrySync().attach({
          tenant: 'ci',
          repository: 'acme/platform',
          digest: image,
          targets: [{ name: registry.name, url: registry.url }],
          artifactType: SIGSTORE_BUNDLE,
          document: bundle,
        });
        expect(r!.reason).toBeUndefined();
        return image;
      };
      const run = (version: string, image: string) =>
        runEntry({
          ...github(`77${version.replace(/\D/g, '')}`),
          STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'true',
          STAGELINE_URL: t.url,
          STAGELINE_TOKEN: u.deployer,
          STAGELINE_ARTIFACT: 'platform',
          STAGELINE_VERSION: version,
          STAGELINE_DIGEST: image,
          STAGELINE_SIGNED_IMAGE: `${registry.url}/acme/platform`,
          STAGELINE_SIGNING_KEY: 'cosign.pub',
          STAGELINE_EVIDENCE: 'test_results=junit.xml\nsecurity_scan=trivy.json',
          STAGELINE_FROM: 'dev',
          STAGELINE_TO: 'staging',
        });
      const good = await run('v3.0.0', await signed(signer.privateKey, 1));
      expect(good.code, good.output).toBe(0);
      expect(good.output).toMatch(/security_scan: the signature of sha256:[0-9a-f]{64} verified with key sha256:/);
      const ok = /promotion (prm_\w+)/.exec(good.output)![1]!;
      const done = await waitFor(t, u.viewer, ok, ['COMPLETED', 'VALIDATION_FAILED', 'FAILED'], 30_000);
      expect(done.status, JSON.stringify(done.gates)).toBe('COMPLETED');
      expect(done.gates.find((g: { gate: string }) => g.gate === 'security_scan')).toMatchObject({ verdict: 'PASS' });

      const bad = await run('v3.0.1', await signed(stranger.privateKey, 2));
      expect(bad.code, bad.output).toBe(0);
      expect(bad.output).toContain('did NOT verify');
      const refused = /promotion (prm_\w+)/.exec(bad.output)![1]!;
      const failed = await waitFor(t, u.viewer, refused, ['COMPLETED', 'VALIDATION_FAILED', 'FAILED'], 30_000);
      expect(failed.status).toBe('VALIDATION_FAILED');
      expect(failed.gates.find((g: { gate: string }) => g.gate === 'security_scan')).toMatchObject({
        verdict: 'FAIL',
        reason: "the scan says the artifact's signature did not verify",
      });
    } finally {
      await registry.stop();
    }
  }, 90_000);

  it('fails the job with what to fix: missing settings, an unreadable or wrong report, a role that may not publish; nothing requested', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const base = { STAGELINE_URL: t.url, STAGELINE_ARTIFACT: 'billing', STAGELINE_VERSION: '0.1.0', STAGELINE_DIGEST: digest('1') };

    const missing = await runEntry({ STAGELINE_URL: t.url, STAGELINE_TO: 'staging', GITHUB_ACTIONS: 'true' });
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('::error title=Stageline::');
    expect(missing.output).toContain('STAGELINE_ARTIFACT is required');
    expect(missing.output).toContain('STAGELINE_FROM is required with STAGELINE_TO');
    expect(missing.output).toContain('no credentials');

    const noFile = await runEntry({ ...base, STAGELINE_TOKEN: u.deployer, STAGELINE_EVIDENCE: 'test_results=missing.xml' });
    expect(noFile.code).toBe(1);
    expect(noFile.output).toContain('evidence test_results: cannot read missing.xml (ENOENT)');
    const badType = await runEntry({ ...base, STAGELINE_TOKEN: u.deployer, STAGELINE_EVIDENCE: 'security_scan=junit.xml' });
    expect(badType.output).toContain('junit.xml: XML is read as a JUnit report, which is test_results evidence (not security_scan)');
    const refused = await runEntry({ ...base, STAGELINE_TOKEN: u.deployer, STAGELINE_EVIDENCE: 'test_results=scan.json' });
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/attaching test_results evidence from scan\.json: 400 .*\n\s+payload/);

    const viewer = await runEntry({ ...base, STAGELINE_TOKEN: u.viewer, STAGELINE_FROM: 'dev', STAGELINE_TO: 'staging' });
    expect(viewer.code).toBe(1);
    expect(viewer.output).toContain('publishing billing 0.1.0: 403');
    expect(viewer.output).toContain('needs the deployer role');
    const list = await t.call('GET', '/api/v1/promotions', { token: u.viewer });
    expect(JSON.stringify(list.body)).not.toContain('billing');
  }, 60_000);
});

describe('the CI definitions run this entry', () => {
  it('action.yml is a composite action running ci/action/main.ts with the inputs as STAGELINE_* variables', () => {
    const action = parseYaml(readFileSync(join(root, 'action.yml'), 'utf8'));
    expect(action.runs.using).toBe('composite');
    const step = action.runs.steps.find((s: { run?: string }) => s.run?.includes('ci/action/main.ts'));
    expect(step.run).toContain('node "$GITHUB_ACTION_PATH/ci/action/main.ts"');
    for (const [input, variable] of [
      ['url', 'STAGELINE_URL'],
      ['token', 'STAGELINE_TOKEN'],
      ['artifact', 'STAGELINE_ARTIFACT'],
      ['version', 'STAGELINE_VERSION'],
      ['digest', 'STAGELINE_DIGEST'],
      ['evidence', 'STAGELINE_EVIDENCE'],
      ['from', 'STAGELINE_FROM'],
      ['to', 'STAGELINE_TO'],
    ]) {
      expect(action.inputs[input!], input).toBeDefined();
      expect(step.env[variable!], variable).toBe(`\${{ inputs.${input} }}`);
    }
    expect(Object.keys(action.outputs)).toEqual(expect.arrayContaining(['promotion-id', 'promotion-url']));
  });

  it('templates/stageline.yml is a GitLab CI/CD component (spec: inputs) whose job runs the same entry with a dotenv report', () => {
    const [spec, jobs] = readFileSync(join(root, 'templates', 'stageline.yml'), 'utf8')
      .split(/^---$/m)
      .map((d) => parseYaml(d));
    expect(Object.keys(spec.spec.inputs)).toEqual(expect.arrayContaining(['url', 'artifact', 'version', 'digest', 'evidence', 'from', 'to']));
    const job = Object.values(jobs as Record<string, any>).find((j) => j?.script) as any;
    expect(job.script.join('\n')).toContain('ci/action/main.ts');
    expect(job.artifacts.reports.dotenv).toBe('stageline.env');
    expect(existsSync(ENTRY)).toBe(true);
  });
});
