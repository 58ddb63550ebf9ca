import { describe, expect, it } from 'vitest';
import { safeOrder, type PlanItem } from '../../domain/promotion/request/safe-order.ts';

const item = (id: string, artifact: string, version: string, pins: Record<string, string> = {}, targetEnvironment = 'staging'): PlanItem => ({
  id,
  targetEnvironment,
  status: 'PENDING',
  artifact,
  version,
  pins,
});
const running = { 'staging/platform': '1.2.3', 'staging/orders': '1.0.0' };

describe('the safe order of pending promotions', () => {
  it('runs the consumer whose new version accepts the new provider before the provider', () => {
    const plan = safeOrder([item('p', 'platform', '2.0.0'), item('o', 'orders', '1.1.0', { platform: '>=1.2.0, <3.0.0' })], {
      consumers: { platform: [{ name: 'orders', constraint: '^1.2.0', environment: 'staging' }] },
      running,
    });
    expect(plan.order.map((s) => [s.id, s.after])).toEqual([
      ['o', []],
      ['p', ['o']],
    ]);
    expect(plan.blocked).toEqual([]);
  });

  it('keeps the requested order where nothing breaks, and a consumer pinned in another environment holds nothing back', () => {
    const plan = safeOrder([item('p', 'platform', '2.0.0'), item('o', 'orders', '1.1.0')], {
      consumers: { platform: [{ name: 'orders', constraint: '^1.2.0', environment: 'production' }] },
      running,
    });
    expect(plan.order.map((s) => s.id)).toEqual(['p', 'o']);
  });

  it('reports a break nothing pending resolves, naming the consumer and its constraint', () => {
    const plan = safeOrder([item('p', 'platform', '2.0.0'), item('o', 'orders', '1.1.0', { platform: '>=1.2.0, <3.0.0' })], {
      consumers: {
        platform: [
          { name: 'orders', constraint: '^1.2.0', environment: null },
          { name: 'ledger', constraint: '~1.2.0', environment: 'staging' },
        ],
      },
      running,
    });
    expect(plan.order.map((s) => s.id)).toEqual(['o']);
    expect(plan.blocked).toEqual([
      expect.objectContaining({
        id: 'p',
        kind: 'break',
        breaks: [{ consumer: 'ledger', artifact: 'platform', constraint: '~1.2.0', reason: '2.0.0 does not satisfy it' }],
        waitsOn: [],
      }),
    ]);
    expect(plan.blocked[0]!.message).toContain("consumer 'ledger' pins platform ~1.2.0");
  });

  it('holds the pins the version an environment runs brought there over the stored one, there and nowhere else', () => {
    const consumers = { api: [{ name: 'web', constraint: '^2.0.0', environment: null }] };
    const state = { consumers, running: { 'staging/web': '3.0.0', 'production/web': '2.0.0' }, pinned: { 'staging/api': { web: '^3.0.0' } } };
    const plan = safeOrder([item('s', 'api', '3.0.1', {}, 'staging'), item('p', 'api', '3.0.1', {}, 'production')], state);
    expect(plan.order.map((s) => s.id)).toEqual(['s']);
    expect(plan.blocked.map((b) => [b.id, b.kind, b.breaks[0]?.constraint])).toEqual([['p', 'break', '^2.0.0']]);
    // Without what staging's web brought, the stored pin holds there too.
    expect(safeOrder([item('s', 'api', '3.0.1', {}, 'staging')], { consumers, running: state.running }).blocked.map((b) => b.id)).toEqual(['s']);
  });

  it('reports a cycle: the consumer needs the new provider, the provider breaks the consumer it replaces', () => {
    const plan = safeOrder([item('p', 'platform', '2.0.0'), item('o', 'orders', '2.0.0', { platform: '^2.0.0' })], {
      consumers: { platform: [{ name: 'orders', constraint: '^1.2.0', environment: null }] },
      running,
    });
    expect(plan.order).toEqual([]);
    expect(plan.blocked.map((b) => [b.id, b.kind, b.waitsOn])).toEqual([
      ['p', 'cycle', ['o']],
      ['o', 'cycle', ['p']],
    ]);
    expect(plan.blocked[1]!.breaks[0]).toEqual({
      consumer: 'orders',
      artifact: 'platform',
      constraint: '^2.0.0',
      reason: "'staging' runs platform@1.2.3, which does not satisfy it",
    });
  });

  it('suggests for a cycle the bundle that resolves it: every version of the cycle, moved together', () => {
    const plan = safeOrder([item('a', 'api', '3.0.0'), item('w', 'web', '3.0.0', { api: '^3.0.0' }), item('x', 'ledger', '1.0.0', {}, 'production')], {
      consumers: { api: [{ name: 'web', constraint: '^2.0.0', environment: null }] },
      running: { 'staging/api': '2.0.0', 'staging/web': '2.0.0' },
    });
    expect(plan.order.map((s) => s.id)).toEqual(['x']);
    for (const b of plan.blocked) {
      expect(b.kind).toBe('cycle');
      expect(b.together).toEqual([
        { id: 'a', artifact: 'api', version: '3.0.0' },
        { id: 'w', artifact: 'web', version: '3.0.0' },
      ]);
      expect(b.message).toContain('promote api@3.0.0 and web@3.0.0 together, as one bundle');
    }
  });

  it("runs a provider first when the consumer's new version needs it (and its old pin accepts it)", () => {
    const plan = safeOrder([item('o', 'orders', '1.1.0', { platform: '>=1.3.0' }), item('p', 'platform', '1.3.0')], {
      consumers: { platform: [{ name: 'orders', constraint: '^1.2.0', environment: null }] },
      running,
    });
    expect(plan.order.map((s) => [s.id, s.after])).toEqual([
      ['p', []],
      ['o', ['p']],
    ]);
  });

  it('holds a pin a planned consumer brings to its environment, though the consumer is pinned elsewhere by that name', () => {
    const plan = safeOrder([item('o', 'orders', '1.1.0', { platform: '^1.2.0' }), item('p', 'platform', '2.0.0')], {
      consumers: { platform: [{ name: 'orders', constraint: '>=1.0.0', environment: 'production' }] },
      running,
    });
    expect(plan.order.map((s) => s.id)).toEqual(['o']);
    expect(plan.blocked.map((b) => [b.id, b.kind, b.breaks.map((x) => `${x.consumer} ${x.constraint}`)])).toEqual([['p', 'break', ['orders ^1.2.0']]]);
  });
});
