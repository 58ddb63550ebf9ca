import { expect } from 'vitest';
import { DynamoStore, documentClient } from '../../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../../local/dynamodb.ts';
import { alarmArn as arn } from './alarms.ts';
import { approveIfAsked } from './promotions.ts';
import { lineTargets, productionLine } from './line.ts';
import type { TestStack } from './stack.ts';

/** Waits (at most `ms`) until `ok` holds. */
export async function waitUntil(ok: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

/** What a promotion's rollout reports: the state of each target, by name. */
export const states = (d: any) => Object.fromEntries(d.rollout.waves.flatMap((w: any) => w.targets.map((x: any) => [x.name, x.state])));

/**
 * What the wave tests share, on the test stack `t` (test/support/stack.ts useTestStack): the rollout
 * line, a promotion through it, and reading how the rollout goes.
 */
export function rollouts(t: TestStack) {
  const store = () =>
    new DynamoStore(documentClient({ endpoint: t.stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials }), t.stack.tableName);

  /** dev → production, production in 1 + 2 + 3 targets over three waves; the canary confirms by callback. */
  async function line(opts: { wave2Bake?: number; canary?: 'callback' | 'immediate'; timeoutSeconds?: number; pauseBefore3?: boolean } = {}) {
    const tenant = t.tenant();
    const alarms = { canary: arn(`${tenant}/canary-5xx`), us: arn(`${tenant}/us-east-1-5xx`) };
    const { u } = await productionLine(
      t,
      {
        bakeSeconds: 1,
        targets: [
          ...lineTargets((name) =>
            name === 'canary'
              ? {
                  monitors: [alarms.canary],
                  confirm: opts.canary === 'immediate' ? { mode: 'immediate' } : { mode: 'callback', timeoutSeconds: opts.timeoutSeconds ?? 600 },
                }
              : name === 'us-east-1'
                ? { monitors: [alarms.us] }
                : {},
          ),
        ],
        rollout: { maxParallel: 2, waves: [{ wave: 2, bakeSeconds: opts.wave2Bake ?? 1 }, ...(opts.pauseBefore3 ? [{ wave: 3, pause: true }] : [])] },
      },
      tenant,
    );
    expect((await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } })).status).toBe(201);
    return { tenant, u, alarms };
  }

  /** Requests dev → production and approves it when the policy asks for an approver (production is the last, protected environment). */
  async function promote(u: Awaited<ReturnType<TestStack['users']>>): Promise<string> {
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const id = p.body.id as string;
    await approveIfAsked(t, u, id, ['EXECUTING', 'COMPLETED', 'APPROVED']);
    return id;
  }

  const detail = async (token: string, id: string) => (await t.call('GET', `/api/v1/promotions/${id}`, { token })).body;

  /** The wave events of a promotion the outbox relayed to the bus, in order: "<type> <wave> <targets>". */
  async function waveEvents(id: string) {
    await t.stack.stream.idle();
    const read = () =>
      t.stack.bus.published
        .filter((e) => e.detail.promotionId === id && /^Promotion Wave /.test(e['detail-type']))
        .map((e) => `${e['detail-type']} ${e.detail.wave} ${[...((e.detail.targets as string[]) ?? [])].sort().join(',')}`);
    return { read };
  }

  /** Polls the promotion until `ok` holds of it. */
  async function until(token: string, id: string, ok: (d: any) => boolean, what: string, ms = 20_000) {
    const end = Date.now() + ms;
    for (;;) {
      const d = await detail(token, id);
      if (d.rollout && ok(d)) return d;
      if (Date.now() > end) throw new Error(`${what}: never; promotion is ${JSON.stringify(d.status)} ${JSON.stringify(d.rollout)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return { store, line, promote, detail, waveEvents, until };
}
