import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { evidencePayload, junitTotals, trivyTotals } from '../../ci/action/reports.ts';
import { CiError, settingsOf } from '../../ci/action/settings.ts';
import { signRequest } from '../../ci/action/sigv4.ts';

/** The CI entry's pieces (ci/action/): its SigV4 signer against the AWS SDK's, the reports it reads, the settings it refuses. */
describe('ci/action SigV4 signer', () => {
  it('signs exactly as the AWS SDK signer does (execute-api, a session token, an encoded path)', async () => {
    const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'FwoGZXIvYXdzEXAMPLE' };
    const now = new Date('2026-11-24T23:40:00.000Z');
    const body = JSON.stringify({ version: 'v1.2.3', digest: `sha256:${'a'.repeat(64)}` });
    const url = 'https://abc123.execute-api.eu-west-1.amazonaws.com/api/v1/machine/artifacts/my%20app/versions?x=1&a=b%2Fc';
    const ours = signRequest({ method: 'POST', url, body, headers: { 'content-type': 'application/json' } }, creds, 'eu-west-1', now);

    const u = new URL(url);
    const sdk = await new SignatureV4({ credentials: creds, region: 'eu-west-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') }).sign(
      new HttpRequest({
        method: 'POST',
        protocol: u.protocol,
        hostname: u.hostname,
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        headers: { host: u.host, 'content-type': 'application/json' },
        body,
      }),
      { signingDate: now },
    );
    const signed = (auth: string) => /SignedHeaders=([^,]+)/.exec(auth)![1];
    expect(signed(ours.authorization!)).toBe('content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token');
    expect(signed(sdk.headers.authorization!)).toBe(signed(ours.authorization!));
    expect(ours.authorization).toBe(sdk.headers.authorization);
    expect(ours['x-amz-security-token']).toBe(creds.sessionToken);
  });
});

describe('ci/action reports', () => {
  it('reads a JUnit report: the root totals, or the sum of its suites; failures and errors fail, skipped are skipped', () => {
    expect(junitTotals('<testsuites tests="10" failures="1" errors="1" skipped="2"><testsuite tests="10"/></testsuites>')).toEqual({
      passed: 6,
      failed: 2,
      skipped: 2,
    });
    expect(junitTotals('<testsuite name="a" tests="3" failures="1"/>\n<testsuite name="b" tests="4" skipped="1"/>')).toEqual({
      passed: 5,
      failed: 1,
      skipped: 1,
    });
    expect(junitTotals('<testsuites name="x"><testsuite tests="2"/><testsuite tests="2" errors="2"/></testsuites>')).toEqual({
      passed: 2,
      failed: 2,
      skipped: 0,
    });
    expect(() => junitTotals('<html/>')).toThrow(/not a JUnit XML report/);
  });

  it('reads JUnit as JUnit: test cases with <skipped>, <failure> and <error> count, whatever the root says (the shapes runners write)', () => {
    // The repro: tests="5" and skipped="1" on the suite, the root without skipped (Jest, Vitest).
    const vitest = `<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="5" failures="0" errors="0" time="0.01">
  <testsuite name="a.test.ts" timestamp="2026-11-25T00:00:00" hostname="h" tests="5" failures="0" errors="0" skipped="1" time="0.01">
    <testcase classname="a.test.ts" name="one" time="0.001"></testcase>
    <testcase classname="a.test.ts" name="two" time="0.001"></testcase>
    <testcase classname="a.test.ts" name="three" time="0.001"></testcase>
    <testcase classname="a.test.ts" name="four" time="0.001"></testcase>
    <testcase classname="a.test.ts" name="five" time="0.001"><skipped/></testcase>
  </testsuite>
</testsuites>`;
    expect(junitTotals(vitest)).toEqual({ passed: 4, failed: 0, skipped: 1 });
    // jest-junit: a failure's message holds markup-like text in CDATA, which is not a test case.
    const jest = `<testsuites name="jest tests" tests="3" failures="1" errors="0" time="1.2">
  <testsuite name="api" errors="0" failures="1" skipped="1" timestamp="2026-11-25T00:00:00" time="1.2" tests="3">
    <testcase classname="api works" name="api works" time="0.1"/>
    <testcase classname="api fails" name="api fails" time="0.1"><failure><![CDATA[Error: expected <testcase name="x"/> to be there]]></failure></testcase>
    <testcase classname="api skips" name="api skips" time="0"><skipped/></testcase>
  </testsuite>
</testsuites>`;
    expect(junitTotals(jest)).toEqual({ passed: 1, failed: 1, skipped: 1 });
    // pytest (a single <testsuites> with one suite; an error is a failure; a comment is not a case).
    const pytest = `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="0" skipped="1" tests="4" time="0.1">
<!-- <testcase name="commented out"/> -->
<testcase classname="t" name="a" time="0.001" /><testcase classname="t" name="b" time="0.001"><error message="boom">trace</error></testcase>
<testcase classname="t" name="c" time="0.001"><skipped type="pytest.skip" message="no db">skip</skipped></testcase><testcase classname="t" name="d" time="0.001" /></testsuite></testsuites>`;
    expect(junitTotals(pytest)).toEqual({ passed: 2, failed: 1, skipped: 1 });
    // Maven Surefire: one <testsuite> root, properties, a flaky rerun is not a failure.
    const surefire = `<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="com.acme.ApiTest" time="0.2" tests="3" errors="0" skipped="0" failures="0">
  <properties><property name="java.version" value="17"/></properties>
  <testcase name="a" classname="com.acme.ApiTest" time="0.1"/>
  <testcase name="b" classname="com.acme.ApiTest" time="0.1"><flakyFailure message="once" type="x"/></testcase>
  <testcase name="c" classname="com.acme.ApiTest" time="0"/>
</testsuite>`;
    expect(junitTotals(surefire)).toEqual({ passed: 3, failed: 0, skipped: 0 });
    // go-junit-report: nested properties, a skipped test with a message.
    const go = `<testsuites tests="2" failures="0"><testsuite name="example.com/pkg" tests="2" failures="0" errors="0" id="0" hostname="h" skipped="1" time="0.01" timestamp="2026-11-25T00:00:00Z">
<properties><property name="go.version" value="go1.22"></property></properties>
<testcase name="TestA" classname="example.com/pkg" time="0.000"></testcase>
<testcase name="TestB" classname="example.com/pkg" time="0.000"><skipped message="skipping"></skipped></testcase></testsuite></testsuites>`;
    expect(junitTotals(go)).toEqual({ passed: 1, failed: 0, skipped: 1 });
    // Bounded: a report past the limit is refused with what to do.
    expect(() => junitTotals(`<testsuites>${' '.repeat(21 * 1024 * 1024)}</testsuites>`)).toThrow(/larger than 20 MiB/);
  });

  it('reads a Trivy report as vulnerabilities by severity, and takes any other JSON as the payload', () => {
    const trivy = {
      Results: [
        { Vulnerabilities: [{ Severity: 'CRITICAL' }, { Severity: 'HIGH' }, { Severity: 'HIGH' }, { Severity: 'UNKNOWN' }] },
        { Vulnerabilities: null },
      ],
    };
    expect(trivyTotals(trivy)).toEqual({ critical: 1, high: 2, medium: 0, low: 0, scanner: 'trivy' });
    expect(evidencePayload('security_scan', 'trivy.json', JSON.stringify(trivy))).toMatchObject({ critical: 1, high: 2 });
    expect(evidencePayload('test_results', 'r.json', '{"passed":3,"failed":0}')).toEqual({ passed: 3, failed: 0 });
    expect(evidencePayload('test_results', 'reports/junit.xml', '<testsuite tests="1"/>')).toEqual({ passed: 1, failed: 0, skipped: 0, suite: 'junit.xml' });
    expect(() => evidencePayload('security_scan', 'j.xml', '<testsuite tests="1"/>')).toThrow(/JUnit report, which is test_results evidence/);
    expect(() => evidencePayload('policy', 'p.json', '[1]')).toThrow(/must be a JSON object/);
    expect(() => evidencePayload('policy', 'p.json', 'nope')).toThrow(/neither JSON nor JUnit XML/);
  });
});

describe('ci/action settings', () => {
  const base = {
    STAGELINE_URL: 'https://api.example.com/',
    STAGELINE_ARTIFACT: 'platform',
    STAGELINE_VERSION: 'v1.2.3',
    STAGELINE_DIGEST: `sha256:${'b'.repeat(64)}`,
  };

  it('a token wins over AWS credentials; without one, the AWS credentials sign for the region given', () => {
    const aws = { AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'tok', AWS_REGION: 'eu-west-1' };
    expect(settingsOf({ ...base, ...aws, STAGELINE_TOKEN: 'jwt' }).auth).toEqual({ kind: 'token', token: 'jwt' });
    expect(settingsOf({ ...base, ...aws, STAGELINE_AWS_REGION: 'us-east-2' }).auth).toEqual({
      kind: 'sigv4',
      creds: { accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'tok' },
      region: 'us-east-2',
    });
    // A role named explicitly is assumed with the job's OIDC token, whatever credentials the job has.
    expect(settingsOf({ ...base, ...aws, STAGELINE_AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/ci-release' }).auth).toEqual({
      kind: 'oidc',
      roleArn: 'arn:aws:iam::123456789012:role/ci-release',
      region: 'eu-west-1',
    });
    expect(() => settingsOf({ ...base, STAGELINE_AWS_ROLE_ARN: 'ci-release', AWS_REGION: 'eu-west-1' })).toThrow(/must be an IAM role ARN/);
    const s = settingsOf({
      ...base,
      STAGELINE_TOKEN: 'jwt',
      GITHUB_RUN_ID: '77',
      GITHUB_REPOSITORY: 'acme/platform',
      STAGELINE_FROM: 'dev',
      STAGELINE_TO: 'staging',
    });
    expect(s.url).toBe('https://api.example.com');
    expect(s.consoleUrl).toBe('https://api.example.com/dashboard');
    expect(s.runKey).toBe('gh-77-platform-v1.2.3-staging');
    expect(s.metadata).toEqual({ ci: { provider: 'github', repository: 'acme/platform', run: 'https://github.com/acme/platform/actions/runs/77' } });
  });

  it('refuses every wrong setting at once, naming each', () => {
    let err: unknown;
    try {
      settingsOf({
        STAGELINE_URL: 'ftp://x',
        STAGELINE_ARTIFACT: '../etc',
        STAGELINE_VERSION: 'v1',
        STAGELINE_DIGEST: 'sha256:short',
        STAGELINE_METADATA: '[1]',
        STAGELINE_EVIDENCE: 'tests=report.xml\n# a comment\n\ntest_results=ok.xml',
        STAGELINE_TO: 'staging',
        AWS_ACCESS_KEY_ID: 'AKID',
        AWS_SECRET_ACCESS_KEY: 'secret',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CiError);
    expect((err as Error).message.split('\n')).toEqual([
      'STAGELINE_URL must be an http(s) URL',
      'STAGELINE_ARTIFACT must be a name (letters, digits, . _ -)',
      'STAGELINE_DIGEST must be sha256:<64 hex digits> (the image digest the build pushed)',
      'STAGELINE_METADATA must be a JSON object (not an object)',
      "STAGELINE_EVIDENCE: 'tests=report.xml' is not <type>=<file> with a type of test_results, security_scan, cost_estimate, benchmark, policy, metrics",
      'STAGELINE_FROM is required with STAGELINE_TO (the environment the version is promoted from)',
      'AWS_REGION is required to sign with the AWS credentials (the region Stageline is deployed in)',
    ]);
  });
});

describe('what the CI files point people to', () => {
  it('every docs page action.yml, the GitLab component and the CI entry name exists', async () => {
    const { readFileSync, existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const root = join(import.meta.dirname, '..', '..');
    const files = ['action.yml', 'templates/stageline.yml', 'ci/action/main.ts', 'ci/action/run.ts', 'ci/action/settings.ts'];
    const named = files.flatMap((f) => [...readFileSync(join(root, f), 'utf8').matchAll(/docs\/[a-z0-9/-]+\.md/g)].map((m) => m[0]));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((p) => !existsSync(join(root, p)))).toEqual([]);
  });
});
