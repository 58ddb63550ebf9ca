import { inject, describe, expect, it } from 'vitest';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readView } from '../../domain/config/effective.ts';
import type { Environment, TargetHead } from '../../domain/kernel/model.ts';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';
import { openHarness } from '../../local/measure/harness.ts';
import { rolloutFlow } from '../../local/measure/rollout-flow.ts';
import { RequestCounter } from '../../local/measure/counter.ts';

/**
 * What an application's unchanged poll of a target's config reads, counted on the DynamoDB client the read goes
 * through (the real store on DynamoDB Local): the environment's item (eventually consistent, as the effective and
 * OFREP handlers read it; its targets item is cached by its digest), then the target's head ONLY when the
 * environment's item names the target (a rollout changed it and the environment has not caught up). Steady state:
 * one GetItem; a target that diverges: two. Real rollouts through the flow (completed, and rolled back by an alarm)
 * name their targets while they diverge and leave none named when they end.
 */

/** Every key a GetItem or BatchGetItem asks for, by sort key, since the last take. */
function keysRead(db: DynamoDBDocumentClient) {
  let read: string[] = [];
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: { sk?: string }; RequestItems?: Record<string, { Keys?: { sk?: string }[] }> };
      if (context.commandName === 'GetItemCommand') read.push(String(input.Key?.sk));
      if (context.commandName === 'BatchGetItemCommand')
        for (const r of Object.values(input.RequestItems ?? {})) read.push(...(r.Keys ?? []).map((k) => String(k.sk)));
      return next(args);
    },
    { step: 'initialize', name: 'keysRead' },
  );
  return () => {
    const out = read;
    read = [];
    return out;
  };
}

async function reader(endpoint: string, tableName: string) {
  const db = documentClient({ endpoint, region: LOCAL_REGION, credentials: localCredentials });
  const counter = new RequestCounter();
  counter.attach(db);
  const take = keysRead(db);
  const store = new DynamoStore(db, tableName);
  /** One poll of `environment` as `target` (as the handlers make it once the app key is cached): the requests it sends and the keys it reads. */
  const poll = async (tenant: string, environment: string, target: string) => {
    counter.reset();
    take();
    const env = (await store.getEnvironment(tenant, environment, { consistent: false }))!;
    const view = await readView(store, env, { tenant, environment, principal: 'app-key:test' } as never, target);
    const counts = counter.take();
    return { requests: Object.values(counts).reduce((n, c) => n + c.requests, 0), keys: take(), view, env };
  };
  /** What `read` alone sends: its requests and the keys it reads. */
  const count = async (read: () => Promise<unknown>) => {
    counter.reset();
    take();
    await read();
    return { requests: Object.values(counter.take()).reduce((n, c) => n + c.requests, 0), keys: take() };
  };
  return { db, store, poll, count };
}

describe('a target poll: one read in steady state, two while that target diverges', () => {
  it('after a completed rollout: one read; a simulated next rollout (the TargetApply op through the store): the named target reads its head, the others do not; put back and unlisted, one read again', async () => {
    const endpoint = inject('dynamoEndpoint');
    const { b, tableName, close } = await openHarness(endpoint);
    const r = await reader(endpoint, tableName);
    try {
      // A real rollout that completed: production's head moved, and no target is named.
      const done = await rolloutFlow(b, 'trc-done', 6, 3);
      expect(done.status).toBe('COMPLETED');
      await r.poll('trc-done', 'production', 't-001'); // loads the targets item once (then cached by its digest)
      const steady = await r.poll('trc-done', 'production', 't-001');
      expect(steady.env.ownHeads).toEqual({ at: steady.env.head.seq, targets: [] });
      expect(steady.keys).toEqual(['ENV#production']);
      expect(steady.requests).toBe(1);
      expect(steady.view).toMatchObject({ target: 't-001', head: { digest: steady.env.head.digest } });
      // The target heads the rollout wrote are still there, over the head before: the read never needed them.
      expect((await r.store.listTargetHeads('trc-done', 'production')).length).toBe(6);

      // Wave 1 of the next rollout changes t-001 (the op TargetApply commits): t-001 reads its own head, t-002 does not.
      const env = steady.env;
      const own: TargetHead = {
        environment: 'production',
        target: 't-001',
        subject: 'config',
        snapshot: { seq: env.head.seq + 1, digest: 'sha256:next', roots: env.head.roots },
        base: env.head.seq,
        promotionId: 'prm_next',
        wave: 1,
        updatedAt: new Date().toISOString(),
        version: 2,
      };
      await r.store.commit('trc-done', [{ kind: 'targetHead', head: own, expectedVersion: 1 }]);
      const diverging = await r.poll('trc-done', 'production', 't-001');
      expect(diverging.keys).toEqual(['ENV#production', 'TH#production#t-001#config']);
      expect(diverging.requests).toBe(2);
      expect(diverging.view.head.digest).toBe('sha256:next');
      const other = await r.poll('trc-done', 'production', 't-002');
      expect(other.keys).toEqual(['ENV#production']);
      expect(other.view.head.digest).toBe(env.head.digest);
      // An untargeted poll's validator is the head's digest: naming a target changed nothing of it.
      expect((await readView(r.store, diverging.env, { tenant: 'trc-done', environment: 'production' } as never)).digest).toBe(env.head.digest);

      // Put back (a rollback) and unlisted at its end: one read again, the environment's head.
      await r.store.commit('trc-done', [{ kind: 'targetHead', head: { ...own, snapshot: env.head, version: 3 }, expectedVersion: 2, putBack: true }]);
      await r.store.commit('trc-done', [{ kind: 'ownHeadsBack', environment: 'production', targets: ['t-001'] }]);
      const back = await r.poll('trc-done', 'production', 't-001');
      expect(back.keys).toEqual(['ENV#production']);
      expect(back.view.head.digest).toBe(env.head.digest);
    } finally {
      r.db.destroy();
      await close();
    }
  }, 120_000);

  it('a real rollout names every target it changed while they diverge, and a rollback by an alarm leaves none named: one read again', async () => {
    const endpoint = inject('dynamoEndpoint');
    const { b, tableName, close } = await openHarness(endpoint);
    const r = await reader(endpoint, tableName);
    try {
      // The moment the sixth target is changed (wave 3's targets apply in parallel, in any order; before the alarm the
      // flow then raises): the environment as a poll reads it.
      let during: Promise<Environment | null> | undefined;
      const applied = new Set<string>();
      const fire = b.signals.fire.bind(b.signals);
      b.signals.fire = (key: string) => {
        const m = /:target-apply:(t-\d+)$/.exec(key);
        if (m) applied.add(m[1]!);
        if (!during && applied.size === 6) during = r.store.getEnvironment('trc-back', 'production', { consistent: true });
        fire(key);
      };
      const rolled = await rolloutFlow(b, 'trc-back', 6, 3, { waveSizes: [1, 2, 3], alarmInWave: 3 });
      expect(rolled.status).toBe('ROLLED_BACK');
      const mid = (await during)!;
      expect(mid.ownHeads).toEqual({ at: mid.head.seq, targets: ['t-001', 't-002', 't-003', 't-004', 't-005', 't-006'] });
      // Mid-rollout, a changed target's poll reads its head beside the environment's item (read above): two reads.
      const scope = { tenant: 'trc-back', environment: 'production' } as never;
      expect(await r.count(() => readView(r.store, mid, scope, 't-001'))).toEqual({ requests: 1, keys: ['TH#production#t-001#config'] });
      // Rolled back: every target put back, none named, the environment's head unchanged; one read per poll.
      await r.poll('trc-back', 'production', 't-001');
      const after = await r.poll('trc-back', 'production', 't-001');
      expect(after.env.head.seq).toBe(mid.head.seq);
      expect(after.env.ownHeads).toEqual({ at: mid.head.seq, targets: [] });
      expect(after.keys).toEqual(['ENV#production']);
      expect(after.requests).toBe(1);
      expect(after.view.head.digest).toBe(mid.head.digest);
    } finally {
      r.db.destroy();
      await close();
    }
  }, 120_000);
});
