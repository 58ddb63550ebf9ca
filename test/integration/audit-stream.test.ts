import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSplunkHecStandin, type SplunkHecStandin } from '../support/splunk-hec-standin.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';
import { cliWith, outcome } from '../support/cli.ts';
import { startOtlpLogsReceiver } from '../support/otlp-logs-receiver.ts';

/**
 * The audit stream into a SIEM, through the API on DynamoDB Local: every audit entry reaches the
 * tenant's Splunk HEC destination in chain order with its seq and hashes, survives an outage (nothing lost, nothing
 * doubled), replays from a seq, dead-letters a refused batch, and never carries the destination's token.
 */
let t: TestStack;
let hec: SplunkHecStandin;

beforeAll(async () => {
  t = await startTestStack();
  hec = await startSplunkHecStandin({ ack: true });
});
afterAll(async () => {
  await t.stop();
  await hec.stop();
});

/** Until the stream consumer linked everything and the shipper shipped what it could. */
async function settle() {
  await t.stack.stream.idle();
  await t.stack.auditStream.idle();
}

const exportLinks = async (token: string) => {
  const r = await t.call('GET', '/api/v1/audit/export', { token });
  return (r.body as string)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((l) => l.type === 'entry') as { seq: number; hash: string; prevHash: string; entry: { id: string } }[];
};

const shipped = (tenant: string) => hec.events.filter((e) => e.event.tenant === tenant);

describe('the audit stream into Splunk HEC', () => {
  it('ships every entry in chain order with its hashes, survives an outage, replays from a seq, and never ships the token', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    const put = await t.call('PUT', '/api/v1/audit/destinations/siem', {
      token: u.admin,
      body: { kind: 'splunk', url: hec.url, token: hec.token, index: 'stageline', sourcetype: 'stageline:audit', ack: true },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(JSON.stringify(put.body)).not.toContain(hec.token);
    expect(put.body).toMatchObject({ name: 'siem', kind: 'splunk', url: hec.url, index: 'stageline', ack: true, state: 'active' });

    await makeLine(t, u.admin);
    await settle();
    const links = await exportLinks(u.viewer);
    let got = shipped(tenant);
    // From the destination's own entry on, each link once, in order, with its hashes; and the event format HEC documents.
    const first = got[0]!.event.seq;
    expect(got.map((e) => e.event.seq)).toEqual(links.filter((l) => l.seq >= first).map((l) => l.seq));
    for (const e of got) {
      const l = links.find((x) => x.seq === e.event.seq)!;
      expect(e.event).toMatchObject({ tenant, seq: l.seq, hash: l.hash, prevHash: l.prevHash });
      expect(e.event.entry.id).toBe(l.entry.id);
      expect(e).toMatchObject({ index: 'stageline', sourcetype: 'stageline:audit', source: 'stageline' });
      expect(typeof e.time).toBe('number');
    }
    expect(hec.violations).toEqual([]);
    let view = (await t.call('GET', '/api/v1/audit/destinations/siem', { token: u.admin })).body;
    expect(view.lag).toEqual({ entries: 0, seconds: 0 });
    expect(view.shippedSeq).toBe(links.at(-1)!.seq);

    // An outage: the shipper is answered 503 and stays where it was; nothing is lost when HEC is back.
    hec.outage = true;
    await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'qa', position: 3 } });
    await settle();
    expect(hec.busy).toBeGreaterThan(0);
    view = (await t.call('GET', '/api/v1/audit/destinations/siem', { token: u.admin })).body;
    expect(view.lag.entries).toBeGreaterThan(0);
    expect(view.lastError).toMatch(/503/);
    expect(view.state).toBe('active');
    hec.outage = false;
    await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'perf', position: 4 } });
    await settle();
    const all = await exportLinks(u.viewer);
    got = shipped(tenant);
    const seqs = got.map((e) => e.event.seq);
    // Nothing lost, nothing doubled: the stand-in saw each seq once (a batch refused by a 503 is not indexed).
    expect(seqs).toEqual(all.filter((l) => l.seq >= first).map((l) => l.seq));
    view = (await t.call('GET', '/api/v1/audit/destinations/siem', { token: u.admin })).body;
    expect(view.lag).toEqual({ entries: 0, seconds: 0 });
    expect(view.lastError).toBeUndefined();

    // Replay from seq 2: the chain again from there (the replay's own entry after it), in order.
    const before = got.length;
    const replay = await t.call('POST', '/api/v1/audit/destinations/siem/replay', { token: u.admin, body: { fromSeq: 2 } });
    expect(replay.status, JSON.stringify(replay.body)).toBe(200);
    await settle();
    const again = shipped(tenant).slice(before);
    const head = (await exportLinks(u.viewer)).at(-1)!.seq;
    expect(again.map((e) => e.event.seq)).toEqual(Array.from({ length: head - 1 }, (_, i) => i + 2));

    // A seq that is not in the chain: 400 naming fromSeq.
    for (const fromSeq of [head + 100, 0]) {
      const bad = await t.call('POST', '/api/v1/audit/destinations/siem/replay', { token: u.admin, body: { fromSeq } });
      expect(bad.status, JSON.stringify(bad.body)).toBe(400);
      expect(bad.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['fromSeq']);
    }

    // The token is never in what is streamed, nor in what the API shows.
    for (const b of hec.bodies.filter((x) => x.includes(tenant))) expect(b).not.toContain(hec.token);
    const list = await t.call('GET', '/api/v1/audit/destinations', { token: u.admin });
    expect(list.status).toBe(200);
    expect(list.body.items.map((d: { name: string }) => d.name)).toEqual(['siem']);
    expect(JSON.stringify(list.body)).not.toContain(hec.token);
  });

  it('keeps the sealed token through a masked PUT, and only admins reach destinations', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    const put = await t.call('PUT', '/api/v1/audit/destinations/siem', { token: u.admin, body: { kind: 'splunk', url: hec.url, token: hec.token, ack: true } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    // What GET showed, sent back (the masked token): the stored token is kept, and entries still reach HEC.
    const { body: shown } = await t.call('GET', '/api/v1/audit/destinations/siem', { token: u.admin });
    const back = await t.call('PUT', '/api/v1/audit/destinations/siem', {
      token: u.admin,
      body: { ...shown, sourcetype: 'custom' },
    });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    await makeLine(t, u.admin, ['dev']);
    await settle();
    const view = (await t.call('GET', '/api/v1/audit/destinations/siem', { token: u.admin })).body;
    expect(
      shipped(tenant).map((e) => e.sourcetype),
      JSON.stringify(view),
    ).toContain('custom');
    for (const who of [u.deployer, u.viewer]) {
      expect((await t.call('GET', '/api/v1/audit/destinations', { token: who })).status).toBe(403);
      expect((await t.call('PUT', '/api/v1/audit/destinations/x', { token: who, body: { kind: 'splunk', url: hec.url, token: 'x' } })).status).toBe(403);
    }
    const del = await t.call('DELETE', '/api/v1/audit/destinations/siem', { token: u.admin });
    expect(del.status).toBe(204);
    expect((await t.call('GET', '/api/v1/audit/destinations/siem', { token: u.admin })).status).toBe(404);
  });

  it('answers 400 naming the field for an endpoint it cannot reach or may not reach; Datadog and S3 destinations are taken with what their senders need', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    const cases: [Record<string, unknown>, string][] = [
      [{ kind: 'splunk', url: 'http://127.0.0.1:9/', token: 'x' }, 'url'],
      [{ kind: 'splunk', url: 'https://10.0.0.8:8088', token: 'x' }, 'url'],
      [{ kind: 'splunk', url: hec.url, token: 'wrong-token' }, 'token'],
      [{ kind: 'otlp', url: 'https://169.254.169.254/v1/logs', headers: {} }, 'url'],
      [{ kind: 'splunk', url: hec.url }, 'token'],
      // The token asks for indexer acknowledgement (HEC: "Data channel is missing"): ack must say so.
      [{ kind: 'splunk', url: hec.url, token: hec.token, ack: false }, 'ack'],
      [{ kind: 'elastic', url: hec.url }, 'kind'],
    ];
    for (const [body, field] of cases) {
      const r = await t.call('PUT', '/api/v1/audit/destinations/bad', { token: u.admin, body });
      expect(r.status, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.error.issues.map((i: { path: string }) => i.path)).toContain(field);
    }
    // Datadog's key is checked at save against the site (no site is reachable from here: the key cannot be taken).
    const dd = await t.call('PUT', '/api/v1/audit/destinations/dd', { token: u.admin, body: { kind: 'datadog', site: 'datadoghq.eu', apiKey: 'k' } });
    expect(dd.status, JSON.stringify(dd.body)).toBe(400);
    expect(dd.body.error.issues.map((i: { path: string }) => i.path)).toContain('apiKey');
    expect(JSON.stringify(dd.body)).not.toContain('"k"');
    // S3: the tenant's bucket and role (no secret); a role that is not an IAM role ARN is refused naming it.
    const badRole = await t.call('PUT', '/api/v1/audit/destinations/archive', { token: u.admin, body: { kind: 's3', bucket: 'acme-audit', roleArn: 'admin' } });
    expect(badRole.status).toBe(400);
    expect(badRole.body.error.issues.map((i: { path: string }) => i.path)).toContain('roleArn');
    const s3 = await t.call('PUT', '/api/v1/audit/destinations/archive', {
      token: u.admin,
      body: { kind: 's3', bucket: 'acme-audit', roleArn: 'arn:aws:iam::123456789012:role/stageline-audit', region: 'eu-west-1' },
    });
    expect(s3.status, JSON.stringify(s3.body)).toBe(200);
    expect(s3.body).toMatchObject({ kind: 's3', bucket: 'acme-audit', roleArn: 'arn:aws:iam::123456789012:role/stageline-audit', region: 'eu-west-1' });
  });

  it('writes a dead-letter record for a refused batch and stops the destination until a replay', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    hec.refusedIndexes.add('forbidden');
    const put = await t.call('PUT', '/api/v1/audit/destinations/refused', {
      token: u.admin,
      body: { kind: 'splunk', url: hec.url, token: hec.token, index: 'forbidden', ack: true },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    await makeLine(t, u.admin, ['dev']);
    await settle();
    const { body: view } = await t.call('GET', '/api/v1/audit/destinations/refused', { token: u.admin });
    expect(view.state).toBe('failing');
    expect(view.deadLetters).toHaveLength(1);
    const dl = view.deadLetters[0];
    expect(dl).toMatchObject({ status: 400 });
    expect(dl.reason).toMatch(/Incorrect index/);
    expect(dl.toSeq).toBeGreaterThanOrEqual(dl.fromSeq);
    expect(view.lag.entries).toBeGreaterThan(0);
    // Fixed at HEC, a replay from the dead letter's first seq ships it all.
    hec.refusedIndexes.delete('forbidden');
    const r = await t.call('POST', '/api/v1/audit/destinations/refused/replay', { token: u.admin, body: { fromSeq: dl.fromSeq } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await settle();
    const after = (await t.call('GET', '/api/v1/audit/destinations/refused', { token: u.admin })).body;
    expect(after.state).toBe('active');
    expect(after.lag.entries).toBe(0);
    expect(shipped(tenant).map((e) => e.event.seq)[0]).toBe(dl.fromSeq);
  });

  it('the CLI sets, lists, replays and removes a destination, the token from the environment only', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    const env = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.admin, HEC_TOKEN: hec.token };
    const cli = (...args: string[]) => cliWith(env, ...args);
    const set = await cli('audit', 'destinations', 'set', 'siem', '--kind', 'splunk', '--endpoint', hec.url, '--token-env', 'HEC_TOKEN', '--ack', '--json');
    expect(JSON.parse(set.stdout)).toMatchObject({ name: 'siem', kind: 'splunk', token: '…', ack: true });
    expect(set.stdout).not.toContain(hec.token);
    await makeLine(t, u.admin, ['dev']);
    await settle();
    const list = await cli('audit', 'destinations', 'list');
    expect(list.stdout).toMatch(/siem\s+splunk/);
    expect(list.stdout).toContain('0 entries, 0s');
    const ones = shipped(tenant).filter((e) => e.event.seq === 1).length;
    const replay = await cli('audit', 'replay', 'siem', '--from-seq', '1');
    expect(replay.stdout).toContain('siem: shipping again from seq 1');
    await settle();
    expect(shipped(tenant).filter((e) => e.event.seq === 1)).toHaveLength(ones + 1);
    const bad = await outcome(cli('audit', 'replay', 'siem', '--from-seq', '9999'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('fromSeq');
    // Without the variable, nothing is sent.
    const missing = await outcome(cli('audit', 'destinations', 'set', 'x', '--kind', 'splunk', '--endpoint', hec.url, '--token-env', 'NOT_SET_ANYWHERE'));
    expect(missing.stderr).toContain('NOT_SET_ANYWHERE is not set');
    await cli('audit', 'destinations', 'remove', 'siem');
    expect(JSON.parse((await cli('audit', 'destinations', 'list', '--json')).stdout)).toEqual({ items: [] });
  });

  it('ships to an OTLP/HTTP logs endpoint: LogRecords encoded by the OpenTelemetry serializer, in order, with tenant, seq and hashes, the header secret never in a body', async () => {
    const key = `otlp-key-${Date.now()}`;
    const otlp = await startOtlpLogsReceiver({ requiredHeader: ['x-api-key', key] });
    try {
      const tenant = t.tenant();
      const u = await t.users(tenant);
      const wrong = await t.call('PUT', '/api/v1/audit/destinations/otel', {
        token: u.admin,
        body: { kind: 'otlp', url: otlp.url, headers: { 'X-Api-Key': 'wrong' } },
      });
      expect(wrong.status, JSON.stringify(wrong.body)).toBe(400);
      const put = await t.call('PUT', '/api/v1/audit/destinations/otel', {
        token: u.admin,
        body: { kind: 'otlp', url: otlp.url, headers: { 'X-Api-Key': key } },
      });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect(put.body.headers).toEqual({ 'x-api-key': '…' });
      await makeLine(t, u.admin);
      await settle();
      const links = await exportLinks(u.viewer);
      const mine = otlp.records.filter((r) => r.attributes['stageline.tenant'] === tenant);
      const first = Number(mine[0]!.attributes['stageline.audit.seq']);
      expect(mine.map((r) => r.attributes['stageline.audit.seq'])).toEqual(links.filter((l) => l.seq >= first).map((l) => l.seq));
      for (const r of mine) {
        const l = links.find((x) => x.seq === r.attributes['stageline.audit.seq'])!;
        expect(r.attributes).toMatchObject({ 'stageline.audit.hash': l.hash, 'stageline.audit.prev_hash': l.prevHash });
        expect(JSON.parse(r.body).id).toBe(l.entry.id);
        expect(r.resource['service.name']).toBe('stageline');
      }
      expect(otlp.violations).toEqual([]);
      for (const b of otlp.bodies) expect(b).not.toContain(key);
    } finally {
      await otlp.stop();
    }
  });
});
