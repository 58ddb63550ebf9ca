import { expect } from 'vitest';
import { makeLine, type TestStack } from './stack.ts';

/**
 * The rollout line the wave tests share: a canary (wave 1), two regions (wave 2) and three cells (wave 3).
 * `lineTargets` gives each target of it, with what a test adds per target (monitors, confirmation, registry).
 */
export const WAVE_OF = { canary: 1, 'us-east-1': 2, 'eu-west-1': 2, 'cell-1': 3, 'cell-2': 3, 'cell-3': 3 } as const;

export type LineTarget = keyof typeof WAVE_OF;

export const LINE_TARGETS = Object.keys(WAVE_OF) as LineTarget[];

export const lineTargets = (extra: (name: LineTarget) => Record<string, unknown> = () => ({})) =>
  LINE_TARGETS.map((name) => ({ name, wave: WAVE_OF[name], ...extra(name) }));

/**
 * A tenant's line dev → production, production made with `production` (its targets, bake, rollout …; name and
 * position are given) and checked created: the tenant (`tenant` when a test names its alarms after it first),
 * its users, and the created environment as the API answered.
 */
export async function productionLine(t: TestStack, production: Record<string, unknown>, tenant = t.tenant()) {
  const u = await t.users(tenant);
  await makeLine(t, u.admin, ['dev']);
  const created = await t.call('POST', '/api/v1/environments', { token: u.admin, body: { name: 'production', position: 1, ...production } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { tenant, u, created };
}
