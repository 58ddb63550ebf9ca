import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSplunkHecStandin, type SplunkHecStandin } from '../support/splunk-hec-standin.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

/**
 * The audit stream's drain (domain/audit/stream.ts drainAuditBacklogs), through the API on DynamoDB Local: what a
 * destination's outage left is delivered once it is back with no new audit entry to wake a shipper, as the stack's
 * schedule (every AUDIT_DRAIN_MINUTES) and the local audit poller's timer run it. A stack of its own, its drain every
 * 300 ms (one stack per process: the handlers' dependencies are the process's).
 */
let quiet: TestStack;
let hec: SplunkHecStandin;

beforeAll(async () => {
  quiet = await startTestStack({ auditDrainMs: 300 });
  hec = await startSplunkHecStandin({ ack: true });
});
afterAll(async () => {
  await quiet?.stop();
  await hec?.stop();
});

const shipped = (tenant: string) => hec.events.filter((e) => e.event.tenant === tenant);

describe("the audit stream's drain", () => {
  it('delivers a backlog an outage left with no new audit entry: the shipper drains it on its schedule, and the lag shows until then', async () => {
    const tenant = quiet.tenant();
    const u = await quiet.users(tenant);
    const put = await quiet.call('PUT', '/api/v1/audit/destinations/siem', {
      token: u.admin,
      body: { kind: 'splunk', url: hec.url, token: hec.token, ack: true },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    hec.outage = true;
    try {
      await quiet.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'qa', position: 3 } });
      await quiet.stack.stream.idle();
      await quiet.stack.auditStream.idle();
      const during = (await quiet.call('GET', '/api/v1/audit/destinations/siem', { token: u.admin })).body;
      expect(during.lag.entries).toBeGreaterThan(0);
      expect(during.lastError).toMatch(/503/);
    } finally {
      hec.outage = false;
    }
    const r = await quiet.call('GET', '/api/v1/audit/export', { token: u.viewer });
    const links = (r.body as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.type === 'entry') as { seq: number }[];
    // Nothing is written from here on: only the drain can ship what the outage left.
    await expect
      .poll(async () => (await quiet.call('GET', '/api/v1/audit/destinations/siem', { token: u.admin })).body.lag, { timeout: 30_000, interval: 200 })
      .toEqual({ entries: 0, seconds: 0 });
    const seqs = shipped(tenant).map((e) => e.event.seq);
    expect(seqs).toEqual(links.filter((l) => l.seq >= seqs[0]!).map((l) => l.seq));
    expect(seqs.at(-1)).toBe(links.at(-1)!.seq);
  }, 120_000);
});
