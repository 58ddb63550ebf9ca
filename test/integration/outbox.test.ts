import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { handler as autoPromote } from '../../functions/handlers/auto-promote.ts';
import { makeLine, startTestStack } from '../support/stack.ts';

/**
 * The transactional outbox: an event item is written in the transaction of the change it reports;
 * the table's stream consumer relays it to the bus. A crash after the commit cannot lose it, and
 * redelivery is harmless because consumers de-duplicate by the event's id.
 */
describe('event outbox', () => {
  it('an event committed just before a crash (nothing relayed yet) is delivered after the restart; a redelivery is suppressed by id', async () => {
    const tableName = `t-${randomUUID().slice(0, 8)}`;
    // The first process commits changes but dies before anything reads the stream.
    const first = await startTestStack({ tableName, stream: false });
    const tenant = first.tenant();
    const u = await first.users(tenant);
    await makeLine(first, u.admin);
    await first.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1 } });
    const created = await first.call('POST', '/api/v1/config/promotions', {
      token: u.deployer,
      body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' },
    });
    expect(created.status).toBe(201);
    const snap = await first.call('POST', `/api/v1/environments/dev/snapshots/1/evidence`, {
      token: u.deployer,
      body: { type: 'test_results', payload: { passed: 3, failed: 0 } },
    });
    expect(snap.status).toBe(201);
    expect(first.stack.bus.published.filter((e) => e.detail.tenant === tenant)).toEqual([]);
    await first.stop();

    // After the restart the consumer reads the stream from where it stopped (here: the oldest record kept).
    const second = await startTestStack({ tableName });
    await second.stack.stream.idle();
    const relayed = second.stack.bus.published.filter((e) => e.detail.tenant === tenant);
    expect(relayed.map((e) => e['detail-type']).sort()).toEqual(['Evidence Added', 'Promotion Requested']);
    const requested = relayed.find((e) => e['detail-type'] === 'Promotion Requested')!;
    expect(requested.detail).toMatchObject({ promotionId: created.body.id, eventId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    // Each audit entry is linked exactly once, even though the chain was built after the fact.
    const viewer = await second.token({ tenant, groups: ['viewer'] });
    expect((await second.call('GET', '/api/v1/audit/verify', { token: viewer })).body).toMatchObject({ ok: true, checked: 5, pending: 0 });
    await second.stop();

    // A third start without remembered positions delivers the same records again: same ids, no second effect.
    const third = await startTestStack({ tableName });
    await third.stack.stream.idle();
    const again = third.stack.bus.published.filter((e) => e.detail.tenant === tenant);
    expect(again.map((e) => e.detail.eventId).sort()).toEqual(relayed.map((e) => e.detail.eventId).sort());
    const evidence = again.find((e) => e['detail-type'] === 'Evidence Added')!;
    // The bus target (auto-promote) saw it the first time; this delivery is a duplicate.
    expect(await autoPromote(evidence)).toMatchObject({ duplicate: true });
    expect((await third.call('GET', '/api/v1/audit/verify', { token: await third.token({ tenant, groups: ['viewer'] }) })).body).toMatchObject({
      ok: true,
      checked: 5,
      pending: 0,
    });
    await third.stop();
  });
});
