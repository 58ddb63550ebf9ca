import { expect } from 'vitest';
import { createEnvironment } from '../../domain/config/environments.ts';
import { createItem } from '../../domain/config/items.ts';
import { createPromotion as promotionSchema, createRule as ruleSchema } from '../../domain/kernel/promotion-schemas.ts';
import { createEnvironment as envSchema, createItem as itemSchema } from '../../domain/kernel/schemas.ts';
import { createPromotion } from '../../domain/promotion/request/request.ts';
import { createRule } from '../../domain/promotion/request/rules.ts';
import { decideStep } from '../../domain/promotion/step/steps.ts';
import { userCtx, type memoryDeps } from './memory-deps.ts';

const admin = userCtx('acme', 'alice', 'admin');
const bob = userCtx('acme', 'bob', 'deployer', 'approver');

/**
 * On the memory deps `m` (tenant acme): dev → prod made by alice (with `prod`'s settings when given), one config in dev (query.timeout), a rule
 * for dev → prod when given, and bob's promotion of it (`whenFrozen` when given) decided as far as waiting for
 * approval (the flow's token: token-1). The promotion's id.
 */
export async function awaitingApproval(
  m: ReturnType<typeof memoryDeps>,
  opts: { rule?: Record<string, unknown>; whenFrozen?: 'wait' | 'fail'; prod?: Record<string, unknown> } = {},
): Promise<string> {
  await createEnvironment(m.deps, admin, envSchema.parse({ name: 'dev', position: 0, reason: 'test' }));
  await createEnvironment(m.deps, admin, await envSchema.parseAsync({ name: 'prod', position: 1, reason: 'test', ...opts.prod }));
  if (opts.rule) await createRule(m.deps, admin, ruleSchema.parse({ name: 'prod', sourceEnvironment: 'dev', targetEnvironment: 'prod', ...opts.rule }));
  await createItem(m.deps, bob, 'config', 'dev', itemSchema.parse({ key: 'query.timeout', value: '30s' }));
  const p = await createPromotion(
    m.deps,
    bob,
    promotionSchema.parse({ sourceEnvironment: 'dev', targetEnvironment: 'prod', ...(opts.whenFrozen ? { whenFrozen: opts.whenFrozen } : {}) }),
  );
  if ('dryRun' in p) throw new Error('not a dry run');
  expect(await decideStep(m.deps, 'acme', p.id, 'token-1')).toEqual({ next: 'await-approval' });
  return p.id;
}

/** The error `p` is refused with (the test fails if it succeeds). */
export const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e as Error & { details?: Record<string, unknown> };
  }
  throw new Error('not refused');
};
