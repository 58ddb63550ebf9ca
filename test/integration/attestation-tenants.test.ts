import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DsseEnvelope } from '../../domain/attestation/dsse.ts';
import { verifyAttestation } from '../../domain/attestation/verify.ts';
import { cliWith, outcome } from '../support/cli.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Trust is bound per tenant: each tenant signs its attestations with its own key, the
 * public-key route answers the caller's tenant's key, the statement names its tenant and key, and every
 * verifier (the API, the CLI, the gate) is told which tenant it expects and refuses another's statement.
 */

let t: TestStack;
type Users = Awaited<ReturnType<TestStack['users']>>;
interface Tenant {
  id: string;
  u: Users;
  promotionId: string;
}
let acme: Tenant;
let globex: Tenant;

interface PublicKeys {
  keyId: string;
  publicKeyPem: string;
  tenant: string;
  attestation: { tenant: string; keyId: string; publicKeyPem: string } | null;
}

/** A tenant with a line whose first promotion (dev → staging) completed and is attested. */
async function attestedTenant(): Promise<Tenant> {
  const id = t.tenant();
  const u = await t.users(id);
  await makeLine(t, u.admin);
  await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'greeting', value: `hello ${id}` }] } });
  const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  await approveIfAsked(t, u, r.body.id, ['COMPLETED']);
  await waitFor(t, u.viewer, r.body.id, ['COMPLETED']);
  return { id, u, promotionId: r.body.id };
}

beforeAll(async () => {
  t = await startTestStack();
  acme = await attestedTenant();
  globex = await attestedTenant();
  await t.stack.stream.idle();
});
afterAll(() => t.stop());

const keysOf = async (who: Tenant) => (await t.call<PublicKeys>('GET', '/api/v1/audit/public-key', { token: who.u.viewer })).body;
const attestationOf = async (who: Tenant) =>
  (await t.call('GET', `/api/v1/promotions/${who.promotionId}/attestation`, { token: who.u.viewer })).body as {
    envelope: DsseEnvelope;
    statement: { subject: { digest: { sha256: string } }[]; predicate: { stageline: Record<string, unknown> } };
    keyId: string;
    verified: boolean;
  };

describe('attestations: each tenant signs with its own key', () => {
  it("GET /audit/public-key answers the caller's own tenant key: acme's and globex's differ, and each signs that tenant's attestations", async () => {
    const [a, g] = [await keysOf(acme), await keysOf(globex)];
    expect(a.tenant).toBe(acme.id);
    expect(g.tenant).toBe(globex.id);
    expect(a.attestation).toMatchObject({ tenant: acme.id, keyId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(g.attestation).toMatchObject({ tenant: globex.id, keyId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(a.attestation!.keyId).not.toBe(g.attestation!.keyId);
    // Neither is the deployment's key, which signs only the Merkle anchor over every chain.
    expect([a.attestation!.keyId, g.attestation!.keyId]).not.toContain(a.keyId);
    const [sa, sg] = [await attestationOf(acme), await attestationOf(globex)];
    expect(sa).toMatchObject({ verified: true, keyId: a.attestation!.keyId });
    expect(sg).toMatchObject({ verified: true, keyId: g.attestation!.keyId });
    // The statement names its tenant and the key that signs it.
    expect(sa.statement.predicate.stageline).toMatchObject({ tenant: acme.id, keyId: a.attestation!.keyId });
    expect(sg.statement.predicate.stageline).toMatchObject({ tenant: globex.id, keyId: g.attestation!.keyId });
  });

  it("the domain check refuses another tenant's statement: with the other tenant's key, or when told the tenant it expects", async () => {
    const [a, g] = [await keysOf(acme), await keysOf(globex)];
    const { envelope } = await attestationOf(globex);
    expect(verifyAttestation(envelope, a.attestation!.publicKeyPem, { tenant: acme.id })).toMatchObject({ ok: false, reason: 'another_key' });
    expect(verifyAttestation(envelope, g.attestation!.publicKeyPem, { tenant: acme.id })).toMatchObject({ ok: false, reason: 'tenant' });
    expect(verifyAttestation(envelope, g.attestation!.publicKeyPem, { tenant: globex.id })).toMatchObject({ ok: true });
  });

  it("CLI: attestation verify refuses globex's file with acme's key, asks which tenant a --key file is for, and refuses a tenant mismatch (exit 1)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attest-tenants-'));
    const cli = (who: Tenant, ...args: string[]) =>
      outcome(cliWith({ ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: who.u.viewer, XDG_CONFIG_HOME: dir }, ...args));
    const file = join(dir, 'globex.json');
    writeFileSync(file, JSON.stringify((await attestationOf(globex)).envelope));
    const acmeKey = join(dir, 'acme-key.pem');
    const globexKey = join(dir, 'globex-key.pem');
    writeFileSync(acmeKey, (await keysOf(acme)).attestation!.publicKeyPem);
    writeFileSync(globexKey, (await keysOf(globex)).attestation!.publicKeyPem);
    const digest = `sha256:${(await attestationOf(globex)).statement.subject[0]!.digest.sha256}`;
    const admit = (who: Tenant, ...args: string[]) => cli(who, 'attestation', 'verify', '--file', file, '--digest', digest, '--env', 'staging', ...args);

    // The repro: globex's statement checked with acme's key is not verified.
    const foreign = await admit(acme, '--key', acmeKey, '--tenant', acme.id);
    expect(foreign.code).toBe(1);
    expect(foreign.stdout).toContain('attestation NOT verified (another_key)');
    // A key file says nothing of its tenant: the checker is told which it expects (a usage error, exit 2).
    const unnamed = await admit(acme, '--key', acmeKey);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain('--tenant');
    // globex's own key, but acme expected: refused naming both tenants.
    const mismatch = await admit(acme, '--key', globexKey, '--tenant', acme.id);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stdout).toContain(`attestation NOT verified (tenant): the statement is for tenant "${globex.id}", not "${acme.id}"`);
    // Fetched from the service, the key and the expected tenant are the caller's: acme's session refuses globex's file.
    const online = await admit(acme);
    expect(online.code).toBe(1);
    expect(online.stdout).toContain('attestation NOT verified (another_key)');
    // globex's own key and tenant: admitted.
    expect(await admit(globex, '--key', globexKey, '--tenant', globex.id)).toMatchObject({ code: 0, stdout: expect.stringContaining('attestation verified') });
    expect(await admit(globex)).toMatchObject({ code: 0, stdout: expect.stringContaining('attestation verified') });
  });
});

describe('attestations: a release rolled back later gets a new summary, and readers take the latest', () => {
  it('a completed promotion put back by a rollback is attested again: FAILED, ROLLED_BACK, naming the rollback; the API and the CLI admission check read the new one', async () => {
    const who = await attestedTenant();
    const digest = (c: string) => `sha256:${c.repeat(64)}`;
    const ids: string[] = [];
    for (const [v, c] of [
      ['v1.0.0', '1'],
      ['v1.1.0', '2'],
    ] as const) {
      await t.call('POST', '/api/v1/artifacts/platform/versions', { token: who.u.deployer, body: { version: v, digest: digest(c) } });
      const p = await t.call('POST', '/api/v1/promotions', {
        token: who.u.deployer,
        body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'platform', version: v },
      });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      await approveIfAsked(t, who.u, p.body.id, ['COMPLETED']);
      await waitFor(t, who.u.viewer, p.body.id, ['COMPLETED']);
      ids.push(p.body.id);
    }
    await t.stack.stream.idle();
    const promoted = { ...who, promotionId: ids[1]! };
    const before = await attestationOf(promoted);
    expect(before.statement.predicate).toMatchObject({ verificationResult: 'PASSED', stageline: { status: 'COMPLETED' } });
    const r = await t.call('POST', '/api/v1/environments/staging/rollback', {
      token: who.u.deployer,
      body: { artifact: 'platform', version: 'v1.0.0', reason: 'v1.1.0 breaks reports' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await waitFor(t, who.u.viewer, r.body.promotion.id, ['COMPLETED']);
    expect((await t.call('GET', `/api/v1/promotions/${ids[1]}`, { token: who.u.viewer })).body.status).toBe('ROLLED_BACK');
    await t.stack.stream.idle();
    const after = await attestationOf(promoted);
    expect(after.verified).toBe(true);
    expect(after.statement.subject).toEqual(before.statement.subject);
    expect(after.statement.predicate).toMatchObject({
      verificationResult: 'FAILED',
      stageline: { tenant: who.id, status: 'ROLLED_BACK', rolledBackBy: r.body.promotion.id, promotionId: ids[1] },
    });
    // The CLI's admission check of the latest summary refuses the release in staging.
    const dir = mkdtempSync(join(tmpdir(), 'attest-rolled-'));
    const file = join(dir, 'latest.json');
    writeFileSync(file, JSON.stringify(after.envelope));
    const check = await outcome(
      cliWith(
        { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: who.u.viewer, XDG_CONFIG_HOME: dir },
        'attestation',
        'verify',
        '--file',
        file,
        '--digest',
        digest('2'),
        '--env',
        'staging',
      ),
    );
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('did not pass (FAILED)');
    // Entered in the audit trail as a second attestation of the promotion.
    const entries = (await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${ids[1]}&limit=50`, { token: who.u.admin })).body.items.filter(
      (e: { action: string }) => e.action === 'promotion.attest',
    );
    expect(entries.map((e: { after: string }) => JSON.parse(e.after).verificationResult).sort()).toEqual(['FAILED', 'PASSED']);
  });
});
