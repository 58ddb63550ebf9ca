/**
 * The audit stream's Datadog sender (functions/adapters/siem/datadog.ts) against a stand-in of Datadog's
 * logs intake held to its published description (test/support/datadog-standin.ts), through Datadog's
 * official client and the outbound rules. Loopback is allowed as in local mode, as every test runs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuditSendRefused, AuditSendUnavailable } from '../../domain/audit/stream-ports.ts';
import { checkDatadogDestination, datadogSender } from '../../functions/adapters/siem/datadog.ts';
import { freePort } from '../support/registry.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';
import { setSeams } from '../../functions/adapters/seams.ts';
import { startDatadogStandIn, type DatadogStandIn } from '../support/datadog-standin.ts';
import { streamedChain } from '../support/streamed-audit.ts';

const KEY = 'dd-api-key-0123456789abcdef';
const undoConfig = overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'true' });
afterAll(() => undoConfig());

let dd: DatadogStandIn;
beforeAll(async () => {
  dd = await startDatadogStandIn(KEY);
});
afterAll(() => dd.stop());
afterEach(() => {
  dd.logs.length = 0;
  dd.requests.length = 0;
  dd.outage = false;
  dd.script.length = 0;
});

const sender = (settings: Parameters<typeof datadogSender>[0] = { site: 'datadoghq.eu' }, key = KEY, timeoutMs?: number) =>
  datadogSender(settings, key, { intakeUrl: dd.url, timeoutMs });

describe('datadogSender', () => {
  it('sends every entry as a log: source stageline, the service, tenant and settings tags, the entry as the message, tenant/seq/hash/prevHash as attributes; the key only in DD-API-KEY', async () => {
    const batch = streamedChain('acme', 3);
    await sender({ site: 'datadoghq.eu', service: 'stageline-audit', tags: ['env:prod', 'team:platform'] }).send(batch);
    expect(dd.requests.map((r) => [r.method, r.path, r.status, r.entries])).toEqual([['POST', '/api/v2/logs', 202, 3]]);
    expect(dd.requests[0]!.headers['dd-api-key']).toBe(KEY);
    expect(dd.logs).toHaveLength(3);
    dd.logs.forEach((log, i) => {
      const e = batch[i]!;
      expect(log).toMatchObject({
        ddsource: 'stageline',
        service: 'stageline-audit',
        ddtags: 'tenant:acme,env:prod,team:platform',
        tenant: 'acme',
        seq: e.seq,
        hash: e.hash,
        prevHash: e.prevHash,
      });
      expect(JSON.parse(log.message)).toEqual(JSON.parse(JSON.stringify(e)));
    });
    // In chain order, each entry's prevHash the hash before it.
    expect(dd.logs.map((l) => l.seq)).toEqual([1, 2, 3]);
    expect(dd.logs[1]!.prevHash).toBe(dd.logs[0]!.hash);
    // The key never travels in what is streamed.
    const stored = JSON.stringify(dd.logs);
    expect(stored).not.toContain(KEY);
    expect(dd.logs[0]!.service).toBe('stageline-audit');
    await sender().send(streamedChain('acme', 1));
    expect(dd.logs[3]).toMatchObject({ service: 'stageline', ddtags: 'tenant:acme' });
  });

  it("cuts a batch within the intake's limits: at most 1000 logs and 5 MB a request, in order, nothing lost or doubled", async () => {
    const many = streamedChain('acme', 2345);
    await sender().send(many);
    expect(dd.requests.map((r) => [r.status, r.entries])).toEqual([
      [202, 1000],
      [202, 1000],
      [202, 345],
    ]);
    expect(dd.logs.map((l) => l.seq)).toEqual(many.map((e) => e.seq));
    dd.logs.length = 0;
    dd.requests.length = 0;
    // Twelve entries of ~600 kB: 5 MB holds 8 of them.
    const big = streamedChain('acme', 12, { reason: () => 'r'.repeat(600_000) });
    await sender().send(big);
    expect(dd.requests.every((r) => r.status === 202 && r.bytes <= 5 * 1024 * 1024)).toBe(true);
    expect(dd.requests.map((r) => r.entries)).toEqual([8, 4]);
    expect(dd.logs.map((l) => l.seq)).toEqual(big.map((e) => e.seq));
    expect(dd.logs.every((l, i) => JSON.parse(l.message).entry.reason === big[i]!.entry.reason)).toBe(true);
  });

  it("refuses, before sending anything, a batch holding an entry larger than Datadog's 1 MB per log (it would be truncated), naming it", async () => {
    const batch = streamedChain('acme', 3, { reason: (i) => (i === 1 ? 'x'.repeat(1_100_000) : undefined) });
    const err = await sender()
      .send(batch)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditSendRefused);
    expect((err as Error).message).toMatch(/^entry 2 is \d+ bytes as a log, above Datadog's 1048576 bytes per log/);
    expect(dd.requests).toHaveLength(0);
  });

  it('classifies answers: 429, 5xx and a time-out are unavailable (sent again), 403 and 400 are refused with Datadog words and no key', async () => {
    const batch = streamedChain('acme', 2);
    dd.outage = true;
    await expect(sender().send(batch)).rejects.toThrow(AuditSendUnavailable);
    await expect(sender().send(batch)).rejects.toThrow('Datadog answered HTTP 503: Service Unavailable: the intake is unavailable');
    dd.outage = false;
    dd.script.push(429);
    await expect(sender().send(batch)).rejects.toThrow(AuditSendUnavailable);
    dd.script.push(500);
    await expect(sender().send(batch)).rejects.toThrow(AuditSendUnavailable);
    dd.script.push('hang');
    await expect(sender(undefined, KEY, 300).send(batch)).rejects.toThrow(new AuditSendUnavailable('Datadog did not answer within 300 ms'));
    expect(dd.logs).toHaveLength(0);
    // A wrong key: refused, with Datadog's words; neither key appears in the message.
    const wrong = 'dd-wrong-key-fedcba9876543210';
    const denied = await sender(undefined, wrong)
      .send(batch)
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AuditSendRefused);
    expect(denied).toMatchObject({ status: 403, message: 'Datadog answered HTTP 403: Forbidden: Forbidden: invalid API key' });
    expect(JSON.stringify({ m: (denied as Error).message })).not.toMatch(/dd-(wrong|api)-key/);
    dd.script.push(400);
    await expect(sender().send(batch)).rejects.toMatchObject({
      name: 'AuditSendRefused',
      status: 400,
      message: 'Datadog answered HTTP 400: Bad Request: scripted answer 400',
    });
    dd.script.push(408);
    await expect(sender().send(batch)).rejects.toThrow(AuditSendUnavailable);
    // After the outage the same batch is taken whole.
    await sender().send(batch);
    expect(dd.logs.map((l) => l.seq)).toEqual([1, 2]);
  });

  it('refuses a batch mixing tenants, settings outside the documented sites or tag rules, and an empty key, naming the field', async () => {
    const mixed = [...streamedChain('acme', 1), ...streamedChain('globex', 1, { from: 2 })];
    await expect(sender().send(mixed)).rejects.toThrow(new AuditSendRefused("entry 2 is of tenant globex, not acme: a destination takes one tenant's entries"));
    expect(() => sender({ site: 'evil.example.com' as never })).toThrow(/^the Datadog destination's settings\.site /);
    expect(() => sender({ site: 'datadoghq.com', tags: ['env:prod,team:x'] })).toThrow(/settings\.tags\.0 must be a Datadog tag/);
    expect(() => sender({ site: 'datadoghq.com', tags: ['tenant:other'] })).toThrow(/settings\.tags\.0 tenant: is set by Stageline/);
    expect(() => sender({ site: 'datadoghq.com', service: 'Bad Service' })).toThrow(/settings\.service must be a Datadog service name/);
    expect(() => sender({ site: 'datadoghq.com' }, '')).toThrow('the Datadog destination has no API key');
    expect(dd.requests).toHaveLength(0);
  });

  it("goes through the outbound rules: outside local mode the intake URL is ignored and the site's intake is called over https; private addresses are refused", async () => {
    const called: string[] = [];
    const undoSeams = setSeams({
      outbound: async (url, method) => {
        called.push(`${method} ${url.href}`);
        return new Response('{}', { status: 202, headers: { 'content-type': 'application/json' } });
      },
    });
    const undo = overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'false' });
    try {
      await datadogSender({ site: 'ap1.datadoghq.com' }, KEY, { intakeUrl: dd.url }).send(streamedChain('acme', 1));
      expect(called).toEqual(['POST https://http-intake.logs.ap1.datadoghq.com/api/v2/logs']);
      expect(dd.requests).toHaveLength(0);
    } finally {
      undo();
      undoSeams();
    }
    // Even in local mode, an intake on a private (non-loopback) address is refused by the outbound rules, plainly.
    const refused = await datadogSender({ site: 'datadoghq.eu' }, KEY, { intakeUrl: 'http://10.0.0.1:8080' })
      .send(streamedChain('acme', 1))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuditSendRefused);
    expect((refused as Error).message).toBe(
      "Datadog's intake may not be called: 10.0.0.1 is a private (RFC 1918) address; only public addresses may be called",
    );
  });

  it('the stand-in holds to the published intake: 403 without the key, 400 for a body that is not logs, 413 past 5 MB, 400 past 1000 entries, 202 {} when taken', async () => {
    const post = (body: string, key = KEY) =>
      fetch(`${dd.url}/api/v2/logs`, { method: 'POST', headers: { 'content-type': 'application/json', 'DD-API-KEY': key }, body }).then(async (r) => [
        r.status,
        await r.json(),
      ]);
    expect(await post('[{"message":"x"}]', 'wrong')).toEqual([403, { errors: [{ status: '403', title: 'Forbidden', detail: 'Forbidden: invalid API key' }] }]);
    expect((await post('{not json'))[0]).toBe(400);
    expect((await post('[{"msg":"x"}]'))[0]).toBe(400);
    expect((await post('[{"message":"x","service":7}]'))[0]).toBe(400);
    expect((await post(JSON.stringify([{ message: 'x'.repeat(5 * 1024 * 1024) }])))[0]).toBe(413);
    expect((await post(JSON.stringify(Array.from({ length: 1001 }, () => ({ message: 'x' })))))[0]).toBe(400);
    expect(await post('[{"message":"x","ddsource":"stageline"}]')).toEqual([202, {}]);
    expect(dd.logs).toEqual([{ message: 'x', ddsource: 'stageline' }]);
  });

  it('checks a destination at save: the key against the site (GET /api/v1/validate through the outbound rules), said plainly, never echoing the key', async () => {
    const check = (key: string, site: 'datadoghq.eu' | 'us5.datadoghq.com' = 'datadoghq.eu', apiUrl = dd.url) =>
      checkDatadogDestination({ site }, key, { apiUrl, timeoutMs: 500 });
    expect(await check(KEY)).toBeNull();
    const wrong = await check('dd-wrong-key-fedcba9876543210');
    expect(wrong).toBe('Datadog (datadoghq.eu) does not know this API key: check the key, and that it is a key of the site datadoghq.eu');
    dd.outage = true;
    expect(await check(KEY)).toMatch(/^Datadog \(datadoghq\.eu\) answered HTTP 503/);
    dd.outage = false;
    expect(await check(KEY, 'datadoghq.eu', 'http://10.1.2.3')).toBe(
      "Datadog's API may not be called: 10.1.2.3 is a private (RFC 1918) address; only public addresses may be called",
    );
    const closed = `http://127.0.0.1:${await freePort()}`;
    expect(await check(KEY, 'datadoghq.eu', closed)).toMatch(/^Datadog \(datadoghq\.eu\) could not be reached: /);
    expect(await checkDatadogDestination({ site: 'example.com' as never }, KEY)).toMatch(/^settings\.site /);
  });
});
