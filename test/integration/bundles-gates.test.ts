import { describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import { digest, waitFor } from '../support/promotions.ts';
import { makeLine, useTestStack } from '../support/stack.ts';

const t = useTestStack();
const cli = cliOf(t);

const TERMINAL = ['VALIDATION_FAILED', 'COMPLETED', 'FAILED'];

describe("a bundle's gates: each member's evidence, plus the bundle's own", () => {
  it('fail naming the member without evidence or with a failed scan, and pass on the bundle evidence covering the rest', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev', { name: 'staging', gates: { tests: true, security_scan: true } }, 'production']);
    for (const [a, c] of [
      ['api', 'a'],
      ['worker', 'b'],
    ] as const)
      expect((await t.call('POST', `/api/v1/artifacts/${a}/versions`, { token: u.deployer, body: { version: 'v1.0.0', digest: digest(c) } })).status).toBe(201);
    expect((await t.call('POST', '/api/v1/bundles', { token: u.deployer, body: { name: 'checkout', from: 'dev' } })).status).toBe(201);
    const onVersion = (a: string, type: string, payload: unknown) =>
      t.call('POST', `/api/v1/artifacts/${a}/versions/v1.0.0/evidence`, { token: u.deployer, body: { type, payload } });
    const r = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', bundle: 'checkout', autoStart: false },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const id = r.body.id as string;
    // The gates run again on the same promotion after each piece of evidence, as a release manager would.
    const validate = async () => {
      expect((await t.call('POST', `/api/v1/promotions/${id}/validate`, { token: u.deployer })).status).toBe(202);
      return waitFor(t, u.viewer, id, TERMINAL);
    };
    const gate = (p: any, name: string) => p.gates.find((g: any) => g.gate === name);

    // Only api carries evidence: both blocking gates fail closed, naming the worker.
    expect((await onVersion('api', 'test_results', { passed: 10, failed: 0 })).status).toBe(201);
    expect((await onVersion('api', 'security_scan', { critical: 0, high: 0, signatureVerified: true })).status).toBe(201);
    const first = await validate();
    expect(first.status).toBe('VALIDATION_FAILED');
    expect(gate(first, 'tests')).toMatchObject({
      verdict: 'FAIL',
      reason: "no test results were attached (this gate fails closed): neither on the bundle's promotion nor on worker@v1.0.0",
    });
    expect(gate(first, 'security_scan').reason).toContain('nor on worker@v1.0.0');

    // The worker's tests pass, but its scan found two high findings: the bundle fails on that member, named.
    expect((await onVersion('worker', 'test_results', { passed: 4, failed: 0 })).status).toBe(201);
    // Through the CLI, as a pipeline would attach it to the member's version.
    const attached = await cli(
      u.deployer,
      'evidence',
      '--artifact',
      'worker@v1.0.0',
      '--type',
      'security_scan',
      '--payload',
      '{"critical":0,"high":2,"signatureVerified":true}',
    );
    expect(attached.stdout).toMatch(/^ev_\w+: security_scan attached to worker@v1\.0\.0/);
    const second = await validate();
    expect(second.status).toBe('VALIDATION_FAILED');
    expect(gate(second, 'tests')).toMatchObject({
      verdict: 'PASS',
      reason: 'each member passed (api@v1.0.0: all 10 tests passed; worker@v1.0.0: all 4 tests passed)',
    });
    expect(gate(second, 'tests').evidenceRefs).toHaveLength(2);
    expect(gate(second, 'security_scan')).toMatchObject({ verdict: 'FAIL', reason: 'worker@v1.0.0: the scan found 0 critical and 2 high findings' });
    // The CLI names the member that failed.
    expect((await cli(u.viewer, 'promotions', 'show', id)).stdout).toContain('worker@v1.0.0: the scan found 0 critical and 2 high findings');
    // The decision record lists each member's evidence under the member's name.
    const decision = await t.call('GET', `/api/v1/promotions/${id}/decision`, { token: u.viewer });
    expect(decision.status).toBe(200);
    expect(decision.body.outcome).toBe('BLOCKED_BY_GATES');
    expect(decision.body.evidence.map((e: any) => `${e.member}:${e.type}`).sort()).toEqual([
      'api@v1.0.0:security_scan',
      'api@v1.0.0:test_results',
      'worker@v1.0.0:security_scan',
      'worker@v1.0.0:test_results',
    ]);

    // A clean scan of the worker (the newest counts), and the bundle's own integration tests on its promotion: it passes.
    expect((await onVersion('worker', 'security_scan', { critical: 0, high: 0, signatureVerified: true })).status).toBe(201);
    const own = await t.call('POST', `/api/v1/promotions/${id}/evidence`, {
      token: u.deployer,
      body: { type: 'test_results', payload: { passed: 30, failed: 0 } },
    });
    expect(own.status).toBe(201);
    const third = await validate();
    expect(third.status, JSON.stringify(third.gates)).toBe('COMPLETED');
    expect(gate(third, 'tests').reason).toBe(
      'the bundle: all 30 tests passed; each member too (api@v1.0.0: all 10 tests passed; worker@v1.0.0: all 4 tests passed)',
    );
    expect(gate(third, 'security_scan')).toMatchObject({ verdict: 'PASS', reason: expect.stringContaining('each member passed') });
    // The CLI shows what the bundle moved, member by member.
    const shown = await cli(u.viewer, 'promotions', 'show', id);
    expect(shown.stdout).toContain('changes: bundle checkout (2 members)');
    expect(shown.stdout).toContain('→ worker (nothing) → v1.0.0');
    // Neither a promotion nor a version named, or a malformed one: the CLI says what to give.
    const neither = await cli(u.deployer, 'evidence', '--type', 'test_results', '--payload', '{}').catch((e) => e);
    expect(neither.code).toBe(2);
    const malformed = await cli(u.deployer, 'evidence', '--artifact', 'worker', '--type', 'test_results', '--payload', '{}').catch((e) => e);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--artifact wants name@version');
  });
});
