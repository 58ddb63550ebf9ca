import { describe, expect, it } from 'vitest';
import { createEnvironment } from '../../domain/config/environments.ts';
import { createItem } from '../../domain/config/items.ts';
import { createPromotion as promotionSchema, createRule as ruleSchema } from '../../domain/kernel/promotion-schemas.ts';
import { createEnvironment as envSchema, createItem as itemSchema } from '../../domain/kernel/schemas.ts';
import { exportManifest, planManifest } from '../../domain/manifest/service.ts';
import { lookBackSeconds, promotionsSince } from '../../domain/manifest/simulate.ts';
import type { Deps } from '../../domain/kernel/deps.ts';
import type { Promotion } from '../../domain/kernel/promotion-model.ts';
import { createPromotion } from '../../domain/promotion/request/request.ts';
import { createRule } from '../../domain/promotion/request/rules.ts';
import { memoryDeps, userCtx } from '../support/memory-deps.ts';
import { awaitingApproval } from '../support/memory-promotions.ts';

/** A plan's simulation on the memory store: the current setup reproduces the stored decisions, a rule change shows, nothing is written. */

const admin = userCtx('acme', 'alice', 'admin');
const bob = userCtx('acme', 'bob', 'deployer', 'approver');

async function history() {
  const m = memoryDeps();
  return { ...m, id: await awaitingApproval(m) };
}

describe('manifest plan with a simulation', () => {
  it('takes look-backs in days or hours', () => {
    expect(lookBackSeconds('90d')).toBe(90 * 86_400);
    expect(lookBackSeconds('24h')).toBe(86_400);
    for (const bad of ['0d', '90', '1w', ' 9d', '9d ', '-1d']) expect(lookBackSeconds(bad)).toBeNull();
  });

  it('reproduces the stored decision under the current setup, shows a rule that asks for two approvers, and writes nothing', async () => {
    const m = await history();
    const { text } = await exportManifest(m.deps, admin, 'json');
    const commits: unknown[] = [];
    const commit = m.store.commit.bind(m.store);
    m.store.commit = async (...args: Parameters<typeof commit>) => {
      commits.push(args);
      return commit(...args);
    };
    const same = await planManifest(m.deps, admin, text, { simulateSeconds: 86_400 });
    expect(same.simulation).toMatchObject({ promotions: 1, truncated: false, changes: [], summary: { changed: 0, digestsReproduced: 1 } });
    const doc = JSON.parse(text);
    doc.artifacts.promotion.approval_rules = [
      { name: 'two for prod', sourceEnvironment: 'dev', targetEnvironment: 'prod', requiresApproval: true, requiredApprovers: 2 },
    ];
    const two = await planManifest(m.deps, admin, JSON.stringify(doc), { simulateSeconds: 86_400 });
    expect(two.simulation!.changes).toHaveLength(1);
    expect(two.simulation!.changes[0]).toMatchObject({
      id: m.id,
      outcome: { old: 'AWAITING_APPROVAL', new: 'AWAITING_APPROVAL' },
      approvalsRequired: { old: 1, new: 2 },
      changed: true,
    });
    // A look-back that ends before the promotion replays nothing.
    const none = await planManifest(m.deps, admin, JSON.stringify(doc), { simulateSeconds: 0 });
    expect(none.simulation).toMatchObject({ promotions: 0, changes: [] });
    expect(commits).toEqual([]);
  });

  it('reads the look-back newest first, page by page, stops at the first older promotion and says when the bound cut it', async () => {
    // Five promotions, one an hour, newest first, in pages of two.
    const all = Array.from({ length: 5 }, (_, i) => ({ id: `p${5 - i}`, requestedAt: new Date(Date.UTC(2030, 0, 1, 10 - i)).toISOString() }) as Promotion);
    const pages: string[] = [];
    const deps = {
      store: {
        async listPromotions(_t: string, _f: unknown, limit: number, cursor?: string) {
          pages.push(cursor ?? 'first');
          const at = cursor ? Number(cursor) : 0;
          const n = Math.min(2, limit);
          return { items: all.slice(at, at + n), ...(at + n < all.length ? { nextCursor: String(at + n) } : {}) };
        },
      },
    } as unknown as Deps;
    const since = (h: number) => new Date(Date.UTC(2030, 0, 1, h)).toISOString();
    expect(await promotionsSince(deps, 'acme', since(8), 10)).toEqual({ items: all.slice(0, 3), next: null, olderStored: true });
    expect(pages).toEqual(['first', '2']);
    expect(await promotionsSince(deps, 'acme', since(0), 10)).toEqual({ items: all, next: null, olderStored: false });
    // At the limit: `next` continues exactly after the last one returned.
    expect(await promotionsSince(deps, 'acme', since(0), 3)).toEqual({ items: all.slice(0, 3), next: '3', olderStored: true });
    expect(await promotionsSince(deps, 'acme', since(0), 2, '3')).toEqual({ items: all.slice(3, 5), next: null, olderStored: false });
    expect(await promotionsSince(deps, 'acme', since(0), 5)).toEqual({ items: all, next: null, olderStored: false });
  });

  it('a document without the rule that let a promotion skip an environment shows it refused, with no new digest', async () => {
    const m = memoryDeps();
    for (const [position, name] of ['dev', 'staging', 'prod'].entries())
      await createEnvironment(m.deps, admin, envSchema.parse({ name, position, reason: 'test' }));
    await createRule(m.deps, admin, ruleSchema.parse({ name: 'hotfix', sourceEnvironment: 'dev', targetEnvironment: 'prod', allowSkip: true }));
    await createItem(m.deps, bob, 'config', 'dev', itemSchema.parse({ key: 'query.timeout', value: '30s' }));
    const p = await createPromotion(m.deps, bob, promotionSchema.parse({ sourceEnvironment: 'dev', targetEnvironment: 'prod' }));
    if ('dryRun' in p) throw new Error('not a dry run');
    const doc = JSON.parse((await exportManifest(m.deps, admin, 'json')).text);
    expect((await planManifest(m.deps, admin, JSON.stringify(doc), { simulateSeconds: 3600 })).simulation!.summary.changed).toBe(0);
    doc.artifacts.promotion.approval_rules = [];
    const sim = (await planManifest(m.deps, admin, JSON.stringify(doc), { simulateSeconds: 3600 })).simulation!;
    expect(sim.changes).toHaveLength(1);
    expect(sim.changes[0]).toMatchObject({ id: p.id, outcome: { new: 'REFUSED' }, allowed: { new: false }, changed: true });
    expect(sim.changes[0]!.decisionDigest.new).toBeNull();
    expect(sim.changes[0]!.refused).toContain("'prod' is not the next environment after 'dev'");
  });
});
