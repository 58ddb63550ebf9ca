import { UpdateItemCommand, DeleteItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { localClient, LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

async function activity() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const c = await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'a', value: 1, reason: 'first value' } });
  await t.call('PUT', `/api/v1/environments/dev/configs/${c.body.id}`, { token: u.deployer, body: { value: 2 } });
  await t.call('POST', '/api/v1/environments/dev/flags', { token: u.admin, body: { key: 'f', value: true } });
  await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, description: 'x', reason: 'docs' } });
  return { tenant, u };
}

describe('audit trail', () => {
  it('records every mutation with who, what, when, why and before/after digests', async () => {
    const { u } = await activity();
    const r = await t.call('GET', '/api/v1/audit?limit=50', { token: u.viewer });
    expect(r.status).toBe(200);
    expect(r.body.items.map((e: any) => e.action)).toEqual([
      'environment.update',
      'flag.create',
      'config.update',
      'config.create',
      'environment.create',
      'environment.create',
      'environment.create',
    ]);
    const create = r.body.items.find((e: any) => e.action === 'config.create');
    expect(create).toMatchObject({
      actorName: expect.stringContaining('deployer@'),
      entityType: 'config',
      entityId: 'dev/a',
      reason: 'first value',
      before: expect.stringMatching(/^sha256:/),
      after: expect.stringMatching(/^sha256:/),
      id: expect.any(String),
    });
    expect(create.before).not.toBe(create.after);
    const ids = r.body.items.map((e: any) => `${e.at}#${e.id}`);
    expect(new Set(ids).size).toBe(7);
    expect([...ids].sort().reverse()).toEqual(ids);
  });

  it('filters by entity, actor and time range, with cursor pagination', async () => {
    const { u } = await activity();
    const byEntity = await t.call('GET', '/api/v1/audit?entityType=config&entityId=dev/a', { token: u.viewer });
    expect(byEntity.body.items.map((e: any) => e.action)).toEqual(['config.update', 'config.create']);
    const all = await t.call('GET', '/api/v1/audit', { token: u.viewer });
    const actor = all.body.items.find((e: any) => e.action === 'flag.create').actorName;
    const byActor = await t.call('GET', `/api/v1/audit?actor=${encodeURIComponent(actor)}`, { token: u.viewer });
    expect(byActor.body.items.every((e: any) => e.actorName === actor)).toBe(true);
    expect(byActor.body.items).toHaveLength(5);
    const future = await t.call('GET', '/api/v1/audit?from=2999-01-01T00:00:00Z', { token: u.viewer });
    expect(future.body.items).toEqual([]);
    const mid = all.body.items[3].at;
    const until = await t.call('GET', `/api/v1/audit?to=${encodeURIComponent(mid)}`, { token: u.viewer });
    expect(until.body.items.every((e: any) => e.at <= mid)).toBe(true);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const p = await t.call('GET', `/api/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: u.viewer });
      seen.push(...p.body.items.map((e: any) => e.id));
      cursor = p.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.body.items.map((e: any) => e.id));
    expect((await t.call('GET', '/api/v1/audit?from=yesterday', { token: u.viewer })).status).toBe(400);
    expect((await t.call('GET', '/api/v1/audit?entityId=x', { token: u.viewer })).status).toBe(400);
  });

  it('has no route that updates or deletes an entry', async () => {
    const { u } = await activity();
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
      const r = await t.call(method, '/api/v1/audit', { token: u.admin, body: {} });
      expect(r.status).toBe(405);
    }
  });

  const db = () => localClient(t.stack.dynamo.endpoint);
  const entries = async (tenant: string) =>
    (
      await db().send(
        new QueryCommand({
          TableName: t.stack.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)',
          ExpressionAttributeValues: { ':pk': { S: keys.auditEntries(tenant).pk }, ':e': { S: 'E#' } },
        }),
      )
    ).Items!;
  const verify = async (token: string) => (await t.call('GET', '/api/v1/audit/verify', { token })).body;
  const exportedSeqs = async (token: string) => {
    const r = await t.call('GET', '/api/v1/audit/export', { token });
    expect(r.status).toBe(200);
    const { verifyExport } = await import('../../domain/audit/verify-export.ts');
    const key = (await t.call('GET', '/api/v1/audit/public-key', { token })).body.publicKeyPem;
    expect(verifyExport(String(r.body), key)).toMatchObject({ ok: true, problems: [] });
    return String(r.body)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.type === 'entry')
      .map((l) => l.seq);
  };

  it('links every entry off the write path, anchored by signed checkpoints outside the table', async () => {
    const { u } = await activity();
    await t.stack.stream.idle();
    expect(await verify(u.viewer)).toMatchObject({
      ok: true,
      checked: 7,
      headSeq: 7,
      pending: 0,
      checkpoints: { count: expect.any(Number), latestSeq: 7, forged: 0 },
    });
  });

  it('reports entries not linked yet as pending, never as broken', async () => {
    const { u } = await activity();
    await t.stack.stream.idle();
    await t.stack.stream.stop();
    try {
      await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'late', value: 1 } });
      expect(await verify(u.viewer)).toMatchObject({ ok: true, checked: 7, pending: 1 });
    } finally {
      t.stack.stream.start();
    }
    await t.stack.stream.idle();
    expect(await verify(u.viewer)).toMatchObject({ ok: true, checked: 8, pending: 0 });
  });

  it('verify reports the first broken link when an entry is altered, removed or re-indexed behind the API', async () => {
    const { tenant, u } = await activity();
    await t.stack.stream.idle();
    const third = (await entries(tenant))[2]!;
    await db().send(
      new UpdateItemCommand({
        TableName: t.stack.tableName,
        Key: { pk: third.pk!, sk: third.sk! },
        UpdateExpression: 'SET actorName = :m',
        ExpressionAttributeValues: { ':m': { S: 'mallory@evil.example' } },
      }),
    );
    expect(await verify(u.viewer)).toMatchObject({ ok: false, firstBroken: { reason: expect.stringContaining('altered') } });

    const { tenant: t2, u: u2 } = await activity();
    await t.stack.stream.idle();
    const last = (await entries(t2)).at(-1)!;
    await db().send(new DeleteItemCommand({ TableName: t.stack.tableName, Key: { pk: last.pk!, sk: last.sk! } }));
    expect(await verify(u2.viewer)).toMatchObject({ ok: false, firstBroken: { reason: expect.stringContaining('removed') } });

    // Hiding an entry from the "what did this person do" query by moving its index key.
    const { tenant: t3, u: u3 } = await activity();
    await t.stack.stream.idle();
    const first = (await entries(t3))[0]!;
    await db().send(
      new UpdateItemCommand({
        TableName: t.stack.tableName,
        Key: { pk: first.pk!, sk: first.sk! },
        UpdateExpression: 'SET gsi2pk = :m',
        ExpressionAttributeValues: { ':m': { S: `T#${t3}#AUDIT#A#nobody` } },
      }),
    );
    expect(await verify(u3.viewer)).toMatchObject({ ok: false, firstBroken: { reason: expect.stringContaining('re-indexed') } });
  });

  it('a chain rewritten or cut behind the API (links and head forged consistently) disagrees with the signed checkpoints', async () => {
    const { tenant, u } = await activity();
    await t.stack.stream.idle();
    const { DynamoStore, documentClient } = await import('../../functions/adapters/dynamo-store.ts');
    const doc = documentClient({ endpoint: t.stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials });
    const store = new DynamoStore(doc, t.stack.tableName);
    // Forge entry 5, then re-link 5..7 with consistent hashes and move the head: the chain alone verifies again.
    const links = (await store.readChainLinks(tenant, 100)).items;
    const stored = await store.getAuditEntries(
      tenant,
      links.map((l) => l.entry),
    );
    const victim = stored.get(links[4]!.entry)!.entry;
    const forged = { ...victim, actorName: 'mallory@evil.example' };
    const { linkEntries } = await import('../../domain/audit/audit.ts');
    const relinked = linkEntries({ seq: 4, hash: links[3]!.hash }, [forged, ...links.slice(5).map((l) => stored.get(l.entry)!.entry)], new Date());
    const { PutCommand, DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
    const victimItem = (await entries(tenant)).find((i) => i.sk!.S === `E#${links[4]!.entry}`)!;
    await db().send(
      new UpdateItemCommand({
        TableName: t.stack.tableName,
        Key: { pk: victimItem.pk!, sk: victimItem.sk! },
        UpdateExpression: 'SET actorName = :m, gsi2pk = :g',
        ExpressionAttributeValues: { ':m': { S: forged.actorName }, ':g': { S: keys.auditByActor(tenant, forged.actorName) } },
      }),
    );
    for (const l of relinked.links)
      await doc.send(new PutCommand({ TableName: t.stack.tableName, Item: { ...keys.chainLink(tenant, l.seq), entity: 'ChainLink', ...l } }));
    const head = (await store.chainHead(tenant))!;
    await doc.send(
      new PutCommand({ TableName: t.stack.tableName, Item: { ...keys.chainHead(tenant), entity: 'ChainHead', ...head, hash: relinked.head.hash } }),
    );
    expect(await verify(u.viewer)).toMatchObject({ ok: false, firstBroken: { reason: expect.stringContaining('signed checkpoint') } });

    // The consumer refuses to extend a head that does not extend its newest signed checkpoint (it would
    // otherwise anchor the forgery): the head it wrote is not this one, and the signed checkpoint at 7 disagrees.
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'after-forgery', value: 1 } });
    await t.stack.stream.idle();
    expect(t.stack.stream.deadLetters.map((d) => d.error)).toEqual([expect.stringContaining('does not match its signed checkpoint at link 7')]);

    // Cutting the tail: drop the last two links and roll the head back to link 5 — the checkpoint at 7 says otherwise.
    const { tenant: t2, u: u2 } = await activity();
    await t.stack.stream.idle();
    const l2 = (await store.readChainLinks(t2, 100)).items;
    for (const l of l2.slice(5)) await doc.send(new DeleteCommand({ TableName: t.stack.tableName, Key: keys.chainLink(t2, l.seq) }));
    const h2 = (await store.chainHead(t2))!;
    await doc.send(new PutCommand({ TableName: t.stack.tableName, Item: { ...keys.chainHead(t2), entity: 'ChainHead', ...h2, seq: 5, hash: l2[4]!.hash } }));
    expect(await verify(u2.viewer)).toMatchObject({ ok: false, headSeq: 5, firstBroken: { seq: 6, reason: expect.stringContaining('cut off') } });
    doc.destroy();
  });
  // ---- the append writes the head first (carrying its links), then the links and markers without a transaction
  const direct = async () => {
    const { localDeps } = await import('../../functions/http/deps.ts');
    const { linkAuditEntries } = await import('../../domain/audit/log.ts');
    const d = localDeps();
    /** The newest `n` entries of a tenant, oldest first, as the stream hands them to the consumer. */
    const newest = async (tenant: string, n: number) => (await d.store.queryAudit(tenant, { limit: n } as never)).items.reverse();
    const linkCount = async (tenant: string) => (await d.store.readChainLinks(tenant, 1000)).items.length;
    return { d, linkAuditEntries, newest, linkCount };
  };

  it('an append interrupted after its head write verifies intact (the head carries its links); the next append writes them', async () => {
    const { tenant, u } = await activity();
    await t.stack.stream.idle();
    const { d, linkAuditEntries, newest, linkCount } = await direct();
    await t.stack.stream.stop();
    try {
      await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'interrupted', value: 1 } });
      const [first] = await newest(tenant, 1);
      // The consumer dies after the head write, before the links and markers are written.
      const crashing = Object.assign(Object.create(d.store), {
        writeLinks: async () => {
          throw new Error('consumer crashed');
        },
      });
      await expect(linkAuditEntries({ ...d, store: crashing }, tenant, [first!])).rejects.toThrow('consumer crashed');
      expect(await linkCount(tenant)).toBe(7);
      expect(await d.store.chainHead(tenant)).toMatchObject({ seq: 8, pending: [{ seq: 8, entry: `${first!.at}#${first!.id}` }] });
      expect(await verify(u.viewer)).toMatchObject({ ok: true, checked: 8, headSeq: 8, pending: 0, anchoredSeq: 7, unanchored: 1 });
      // Link 8 is not signed yet (linked by hand, no anchorer): the export ends at the newest signed checkpoint.
      expect(await exportedSeqs(u.viewer)).toEqual([1, 2, 3, 4, 5, 6, 7]);

      // The next append (other entries) writes the missing link and marker before it moves the head on.
      await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'next', value: 1 } });
      const [second] = await newest(tenant, 1);
      expect(await linkAuditEntries(d, tenant, [second!])).toEqual({ linked: 1, seq: 9 });
      expect(await linkCount(tenant)).toBe(9);
      expect(await verify(u.viewer)).toMatchObject({ ok: true, checked: 9, headSeq: 9, pending: 0 });
    } finally {
      t.stack.stream.start();
    }
    // The stream delivers both entries again: linked already, nothing changes; the consumer checks the head it
    // did not write (it extends the signed checkpoint at 7) and anchors it.
    await t.stack.stream.idle();
    expect(await linkCount(tenant)).toBe(9);
    expect(await verify(u.viewer)).toMatchObject({ ok: true, checked: 9, headSeq: 9, pending: 0, anchoredSeq: 9, unanchored: 0 });
    expect(await exportedSeqs(u.viewer)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a redelivered batch finds its entries in the head and writes their links (same content)', async () => {
    const { tenant, u } = await activity();
    await t.stack.stream.idle();
    const { d, linkAuditEntries, newest, linkCount } = await direct();
    await t.stack.stream.stop();
    try {
      await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'k1', value: 1 } });
      await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'k2', value: 1 } });
      const batch = await newest(tenant, 2);
      const crashing = Object.assign(Object.create(d.store), {
        writeLinks: async () => {
          throw new Error('consumer crashed');
        },
      });
      await expect(linkAuditEntries({ ...d, store: crashing }, tenant, batch)).rejects.toThrow('consumer crashed');
      const head = (await d.store.chainHead(tenant))!;
      // The same batch again: its entries are in the head, so they are not linked twice; their links are written.
      expect(await linkAuditEntries(d, tenant, batch)).toEqual({ linked: 0, seq: 9 });
      expect(await linkCount(tenant)).toBe(9);
      const links = (await d.store.readChainLinks(tenant, 1000)).items.slice(7);
      expect(links).toEqual(head.pending);
      expect(
        (
          await d.store.linkState(
            tenant,
            batch.map((e) => `${e.at}#${e.id}`),
          )
        ).linked.size,
      ).toBe(2);
    } finally {
      t.stack.stream.start();
    }
    await t.stack.stream.idle();
    expect(await verify(u.viewer)).toMatchObject({ ok: true, checked: 9, headSeq: 9, pending: 0 });
  });

  it('a head the anchor failed to record waits for the next anchor (a redelivery anchors it too): the tail it covers cannot be cut unseen', async () => {
    const { tenant, u } = await activity();
    await t.stack.stream.idle();
    const { d, linkAuditEntries, newest } = await direct();
    const { ChainAnchorer } = await import('../../domain/audit/anchor.ts');
    const anchoredTo = async () => Math.max(0, ...(await d.anchor.list(tenant)).map((c) => c.seq));
    await t.stack.stream.stop();
    const { PutCommand, DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
    const { documentClient } = await import('../../functions/adapters/dynamo-store.ts');
    const doc = documentClient({ endpoint: t.stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials });
    try {
      const before = (await d.store.chainHead(tenant))!;
      await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'unanchored', value: 1 } });
      const [entry] = await newest(tenant, 1);
      // The head moves (links and markers written), then the checkpoint's write to the anchor fails: the head stays waiting.
      const anchorer = new ChainAnchorer({ intervalMs: 0 });
      expect(await linkAuditEntries(d, tenant, [entry!], anchorer)).toEqual({ linked: 1, seq: 8 });
      const failing = {
        ...d,
        anchor: Object.assign(Object.create(d.anchor), {
          append: async () => {
            throw new Error('anchor unavailable');
          },
        }),
      };
      await expect(anchorer.settle(failing)).rejects.toThrow('anchor unavailable');
      expect(await anchoredTo()).toBe(7);
      expect(anchorer.waiting).toBe(1);
      // The batch is retried by another instance (this one's memory gone): nothing left to link, but the head is anchored now.
      const fresh = new ChainAnchorer({ intervalMs: 0 });
      expect(await linkAuditEntries(d, tenant, [entry!], fresh)).toEqual({ linked: 0, seq: 8 });
      await fresh.settle(d);
      expect(await anchoredTo()).toBe(8);
      // An insider cuts link 8 (its link, marker and entry) and restores the earlier head.
      const ref = `${entry!.at}#${entry!.id}`;
      for (const k of [keys.chainLink(tenant, 8), keys.chainMarker(tenant, ref), keys.auditEntry(tenant, ref)])
        await doc.send(new DeleteCommand({ TableName: t.stack.tableName, Key: k }));
      await doc.send(new PutCommand({ TableName: t.stack.tableName, Item: { ...keys.chainHead(tenant), entity: 'ChainHead', ...before } }));
      expect(await verify(u.viewer)).toMatchObject({ ok: false, headSeq: 7, firstBroken: { seq: 8, reason: expect.stringContaining('cut off') } });
      // ... and the consumer refuses to extend the head moved back behind its signed checkpoint.
      const { checkHead } = await import('../../domain/audit/log.ts');
      await expect(checkHead(d, tenant, (await d.store.chainHead(tenant))!)).rejects.toThrow(/behind its signed checkpoint at link 8/);
    } finally {
      doc.destroy();
      t.stack.stream.start();
    }
  });

  it("two tenants write within one anchor interval: ONE signature covers both; each export verifies offline with the public key alone; one tenant's proof in the other's export is refused", async () => {
    const a = await activity();
    const b = await activity();
    await t.stack.stream.idle();
    const { d, linkAuditEntries, newest } = await direct();
    const { ChainAnchorer } = await import('../../domain/audit/anchor.ts');
    const { verifyExport } = await import('../../domain/audit/verify-export.ts');
    await t.stack.stream.stop();
    try {
      // The local anchor, its signatures counted (what KMS would bill).
      let signs = 0;
      const counted = {
        ...d,
        anchor: Object.assign(Object.create(d.anchor), { sign: (s: Parameters<typeof d.anchor.sign>[0]) => (signs++, d.anchor.sign(s)) }),
      };
      let clock = Date.now();
      const anchorer = new ChainAnchorer({ intervalMs: 10_000, now: () => clock });
      const write = async (who: typeof a) => {
        await t.call('POST', '/api/v1/environments/dev/configs', { token: who.u.deployer, body: { key: `k${clock}`, value: 1 } });
        await linkAuditEntries(counted, who.tenant, await newest(who.tenant, 1), anchorer);
      };
      // A change after a quiet spell: signed at once.
      await write(a);
      expect((await anchorer.settle(counted))!.roots).toEqual([expect.objectContaining({ size: 1 })]);
      expect(signs).toBe(1);
      // Within the interval: A again, and B. Nothing signed until the interval has passed ...
      clock += 3_000;
      await write(a);
      await write(b);
      expect(await anchorer.settle(counted)).toBeNull();
      expect(signs).toBe(1);
      // ... then ONE signature for both chains.
      clock += 7_000;
      const run = (await anchorer.settle(counted))!;
      expect(signs).toBe(2);
      expect(run.roots).toEqual([expect.objectContaining({ size: 2 })]);
      expect(run.checkpoints.map((c) => [c.tenant, c.seq])).toEqual(
        [
          [a.tenant, 9],
          [b.tenant, 8],
        ].sort(([x], [y]) => String(x).localeCompare(String(y))),
      );

      // Each tenant's export verifies offline with nothing but the pinned public key.
      const key = (await t.call('GET', '/api/v1/audit/public-key', { token: a.u.viewer })).body.publicKeyPem as string;
      const exportOf = async (token: string) => String((await t.call('GET', '/api/v1/audit/export', { token })).body);
      const [ea, eb] = [await exportOf(a.u.viewer), await exportOf(b.u.viewer)];
      expect(verifyExport(ea, key)).toMatchObject({ ok: true, lastSeq: 9, anchoredThrough: { seq: 9 }, problems: [] });
      expect(verifyExport(eb, key)).toMatchObject({ ok: true, lastSeq: 8, anchoredThrough: { seq: 8 }, problems: [] });
      const rows = (e: string) =>
        e
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l));
      const theirs = rows(ea).find((r) => r.type === 'anchor' && r.seq === 9)!;
      const own = rows(eb).find((r) => r.type === 'anchor' && r.seq === 8)!;
      expect(theirs.root).toBe(own.root);
      // A's proof in B's export: as A's (another tenant's checkpoint), or under B's name, seq and hash (it leads elsewhere).
      const swap = (line: object) =>
        rows(eb)
          .map((r) => JSON.stringify(r.type === 'anchor' && r.seq === 8 ? line : r))
          .join('\n') + '\n';
      expect(verifyExport(swap(theirs), key).problems).toContainEqual(
        expect.objectContaining({ what: `a checkpoint of tenant ${JSON.stringify(a.tenant)} in an export of ${JSON.stringify(b.tenant)}` }),
      );
      const renamed = { ...theirs, tenant: b.tenant, seq: own.seq, hash: own.hash };
      expect(verifyExport(swap(renamed), key).problems).toContainEqual(
        expect.objectContaining({ seq: 8, what: expect.stringMatching(/inclusion proof does not lead to its signed root/) }),
      );
      expect(verifyExport(swap(renamed), key).ok).toBe(false);
    } finally {
      t.stack.stream.start();
    }
    await t.stack.stream.idle();
  });

  it('consumers racing over overlapping entries link each entry once, in one chain that verifies', async () => {
    const { tenant, u } = await activity();
    await t.stack.stream.idle();
    const { d, linkAuditEntries, newest } = await direct();
    await t.stack.stream.stop();
    try {
      for (const key of ['r1', 'r2', 'r3', 'r4']) await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key, value: 1 } });
      const [e1, e2, e3, e4] = await newest(tenant, 4);
      const { writeStats } = await import('../../domain/kernel/retry.ts');
      const retriesBefore = writeStats.retries;
      const results = await Promise.all([
        linkAuditEntries(d, tenant, [e1!, e2!]),
        linkAuditEntries(d, tenant, [e2!, e3!]),
        linkAuditEntries(d, tenant, [e1!, e2!, e3!, e4!]),
        linkAuditEntries(d, tenant, [e4!, e3!]),
      ]);
      expect(results.reduce((n, r) => n + r.linked, 0)).toBe(4);
      expect(writeStats.retries).toBeGreaterThan(retriesBefore); // they did race: the head's condition turned the losers back
      const links = (await d.store.readChainLinks(tenant, 1000)).items;
      expect(links.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(new Set(links.map((l) => l.entry)).size).toBe(11);
      expect(await verify(u.viewer)).toMatchObject({ ok: true, checked: 11, headSeq: 11, pending: 0 });
    } finally {
      t.stack.stream.start();
    }
    await t.stack.stream.idle();
    expect(await verify(u.viewer)).toMatchObject({ ok: true, checked: 11, headSeq: 11, pending: 0 });
  });

  it('links past the head, or a head whose pending links were altered, do not verify', async () => {
    const { tenant, u } = await activity();
    await t.stack.stream.idle();
    const { d } = await direct();
    const { PutCommand, DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
    const doc = (d.store as unknown as { db: { send(c: unknown): Promise<unknown> } }).db;
    // The head moved back one link while the links stay: they go on past it.
    const links = (await d.store.readChainLinks(tenant, 1000)).items;
    const head = (await d.store.chainHead(tenant))!;
    await doc.send(
      new PutCommand({
        TableName: t.stack.tableName,
        Item: { ...keys.chainHead(tenant), entity: 'ChainHead', ...head, seq: 6, hash: links[5]!.hash, pending: [links[5]] },
      }),
    );
    expect(await verify(u.viewer)).toMatchObject({ ok: false, firstBroken: { seq: 7, reason: expect.stringContaining('the links go on to 7') } });

    // A pending link altered in the head (the link itself not written yet) breaks the chain at it.
    const { tenant: t2, u: u2 } = await activity();
    await t.stack.stream.idle();
    const h2 = (await d.store.chainHead(t2))!;
    const altered = h2.pending!.map((l) => (l.seq === h2.seq ? { ...l, entryHash: 'f'.repeat(64) } : l));
    await doc.send(new PutCommand({ TableName: t.stack.tableName, Item: { ...keys.chainHead(t2), entity: 'ChainHead', ...h2, pending: altered } }));
    await doc.send(new DeleteCommand({ TableName: t.stack.tableName, Key: keys.chainLink(t2, h2.seq) }));
    expect(await verify(u2.viewer)).toMatchObject({ ok: false, firstBroken: { seq: 7 } });
  });
});
