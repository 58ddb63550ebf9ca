import { createEnvironment } from '#domain/config/environments';
import { createEnvironment as envSchema, createItem as createItemSchema } from '#domain/kernel/schemas';
import { createItem } from '#domain/config/items';
import { LocalWorkflow } from '../workflow.ts';
import { api, ctxOf, expectStatus } from './api.ts';
import { totalRequests } from './counter.ts';
import type { Harness } from './harness.ts';
import { usersOf } from './tenants.ts';

/** What one promotion through an environment's targets costs, in counts (bench/waves.ts prints them). */
export interface RolloutCounts {
  targets: number;
  waves: number;
  transitions: number;
  stepInvocations: number;
  requests: number;
  wru: number;
  rru: number;
  wallMs: number;
  status: string;
}

/**
 * Setup (not measured): dev, and production with `targets` immediate targets spread over `waves` waves
 * (none when `targets` is 1: the implicit target, today's one-step execution), no bake; one config key in
 * dev. Measured: the dev → production config promotion requested, approved (production is the last
 * environment: one approver), and its whole rollout to COMPLETED (or, with `alarmInWave`, to its rollback).
 */
export async function rolloutFlow(b: Harness, tenant: string, targets: number, waves: number): Promise<RolloutCounts> {
  const u = usersOf(tenant);
  const ctx = ctxOf(u.admin);
  await createEnvironment(b.deps, ctx, envSchema.parse({ name: 'dev', position: 0, reason: 'bench' }));
  const declared =
    targets > 1
      ? Array.from({ length: targets }, (_, i) => ({
          name: `t-${String(i + 1).padStart(3, '0')}`,
          wave: Math.min(waves, 1 + Math.floor((i * waves) / targets)),
        }))
      : undefined;
  await createEnvironment(
    b.deps,
    ctx,
    envSchema.parse({ name: 'production', position: 1, reason: 'bench', ...(declared ? { targets: declared, rollout: { maxParallel: 10 } } : {}) }),
  );
  await createItem(b.deps, ctxOf(u.deployer), 'config', 'dev', createItemSchema.parse({ key: 'feature.x', value: true }));
  await b.stream.idle();
  b.counter.reset();
  b.calls.length = 0;
  const t0 = performance.now();
  const created = await api(b, u.deployer, 'POST', '/api/v1/promotions', { sourceEnvironment: 'dev', targetEnvironment: 'production' }, 'request');
  expectStatus(created, 201, 'dev → production');
  const id = String(created.body.id);
  await b.signals.wait(`${id}:decide`);
  expectStatus(await api(b, u.approver, 'POST', `/api/v1/promotions/${id}/approve`, {}, 'approve'), 200, 'approve');
  await b.workflow.done(LocalWorkflow.executionId({ tenant, promotionId: id }));
  const wallMs = performance.now() - t0;
  await b.stream.idle();
  const counts = b.counter.take();
  const p = await b.deps.store.getPromotion(tenant, id);
  return {
    targets,
    waves: declared ? waves : 1,
    transitions: b.workflow.transitions(LocalWorkflow.executionId({ tenant, promotionId: id })),
    stepInvocations: b.calls.filter((c) => c.kind === 'step').length,
    requests: totalRequests(counts),
    wru: b.calls.reduce((n, c) => n + c.wru, 0),
    rru: b.calls.reduce((n, c) => n + c.rru, 0),
    wallMs,
    status: p?.status ?? 'missing',
  };
}
