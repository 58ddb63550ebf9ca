import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyAttestation } from '../../domain/attestation/verify.ts';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine } from '../support/stack.ts';

/**
 * A promotion's signed verification summary on its console page, as a viewer sees it (Debian's Chromium via
 * playwright-core, against the local stack): verified, what it says, and the envelope downloaded verifies
 * offline with the audit key. The pipeline shows which environment requires one.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });

describe('the attestation on the promotion page', () => {
  it('shows it verified with its result, environment and subject; the downloaded envelope verifies with the public key; the pipeline names the requirement', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const prod = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body;
    await t.call('PATCH', '/api/v1/environments/production', { token: u.admin, body: { version: prod.version, requireAttestationFrom: ['staging'] } });
    await t.call('POST', '/api/v1/artifacts/api/versions', { token: u.deployer, body: { version: 'v1.0.0', digest: `sha256:${'e'.repeat(64)}` } });
    const r = await t.call('POST', '/api/v1/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'api', version: 'v1.0.0' },
    });
    await waitFor(t, u.viewer, r.body.id, ['COMPLETED']);
    await t.stack.stream.idle();

    const { page, errors } = await openConsoleAs(browser, t.url, u.viewer, `#/promotions/${r.body.id}`);
    const section = page.getByRole('region', { name: 'Signed verification summary' });
    await section.getByText('verified', { exact: true }).waitFor();
    const text = await section.innerText();
    expect(text).toContain('PASSED into staging');
    expect(text).toContain(`api sha256:${'e'.repeat(12)}`);
    expect(await accessibility(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'console-attestation-1280.png'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), section.getByRole('button', { name: /Download the attestation/ }).click()]);
    const envelope = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    const key = (await t.call('GET', '/api/v1/audit/public-key', { token: u.viewer })).body.attestation;
    expect(verifyAttestation(envelope, key.publicKeyPem, { tenant, promotionId: r.body.id, subjectDigest: `sha256:${'e'.repeat(64)}` }).ok).toBe(true);

    await page.goto(`${t.url}/dashboard#/`);
    await page.getByText('attested in staging').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });
});
