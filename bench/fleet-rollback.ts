import { fmt, int, sub } from './common.ts';
import { table } from '../scripts/build.ts';
import type { Harness } from '../local/measure/harness.ts';
import { api, ctxOf, expectStatus } from '../local/measure/api.ts';
import { newInvocation, type Invocation } from '../local/measure/attribution.ts';
import { fleetTargets } from '../local/measure/config-write.ts';
import { usersOf } from '../local/measure/tenants.ts';
import { LocalWorkflow } from '../local/workflow.ts';
import { createEnvironment } from '#domain/config/environments';
import { createItem } from '#domain/config/items';
import { createEnvironment as envSchema, createItem as createItemSchema } from '#domain/kernel/schemas';
import type { WriteOp } from '#domain/kernel/deps';
import type { Promotion, RolloutTarget } from '#domain/kernel/promotion-model';
import { approvePromotion } from '#domain/promotion/decide/approve';
import { ENGINE, patched } from '#domain/promotion/aggregate';
import { writePromotion } from '#domain/promotion/write';
import { changeTarget } from '#domain/promotion/rollout/apply';
import { rolloutStartStep } from '#domain/promotion/rollout/begin';
import { ROLLBACK_BATCH } from '#domain/promotion/rollout/rollback';
import { runStep, type StepInput } from '#domain/promotion/step/step-table';

/** DynamoDB's largest item, and EventBridge's largest event. */
const ITEM_LIMIT = 400 * 1024;
const EVENT_LIMIT = 256 * 1024;

const requestsOf = (inv: Invocation) => Object.values(inv.requests).reduce((a, x) => a + x, 0);
const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x), 'utf8');

/** The harness's deps with every transaction's ops also handed to `seen` (the store itself still writes them). */
function watchingCommits(b: Harness, seen: (ops: WriteOp[]) => void): Harness['deps'] {
  const store = b.deps.store;
  const watched = new Proxy(store, {
    get(target, key) {
      if (key === 'commit')
        return async (tenant: string, ops: WriteOp[]) => {
          seen(ops);
          return store.commit(tenant, ops);
        };
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { ...b.deps, store: watched };
}

/**
 * The rollback row of the fleet, on DynamoDB Local: a config promotion into an environment of `n` immediate
 * targets in 10 waves, every target changed, then rolled back by the engine's own fail step run exactly as the flow's
 * MarkFailed → PutBackMore loop runs it (`runStep('fail')`, its answer kept as `{ Payload }` and sent again while
 * `more`), each run its own attributed invocation.
 *
 * How the promotion gets there: requested through the API (the real flow decides it and waits for its approval), its
 * execution then stopped (a flow that is gone, whose rollback the sweep runs the same way), approved through the use
 * case, and its rollout started by the engine's own rollout-start step (the plan stored in pages). The targets are
 * changed as the apply step changes them, without running that step 10,000 times (about 50 ms a target here, over
 * 8 minutes): the first target by the engine's own `changeTarget`, whose transaction (its head, its rollout item, its
 * deployment record) is kept, and every other target by the same ops with its own name, wave and deployment id,
 * committed through the store's own `commit`. Not written for them: the per-target `Promotion Target Applied` event
 * (a child wave audits a wave once, not a target), which the rollback neither reads nor writes.
 *
 * Printed: runs of the fail step, targets put back, time, WRU, RRU and DynamoDB requests in all and per target, the
 * largest run's RRU; the sizes of the promotion's final item, its end event and its audit entry. Throws when a changed
 * target did not end ROLLED_BACK, the promotion did not, the targets were not put back newest wave first, or the item,
 * event or audit entry passes its limit (400 KB, 256 KB).
 */
export async function benchFleetRollback(b: Harness, n = 10_000, waves = 10) {
  const tenant = `fleet-${n}-rollback`;
  const u = usersOf(tenant);
  await createEnvironment(b.deps, ctxOf(u.admin), envSchema.parse({ name: 'dev', position: 0, reason: 'bench' }));
  await createEnvironment(
    b.deps,
    ctxOf(u.admin),
    envSchema.parse({ name: 'edge', position: 1, reason: 'bench', targets: fleetTargets(n, waves), rollout: { maxParallel: 10 } }),
  );
  await createItem(b.deps, ctxOf(u.deployer), 'config', 'dev', createItemSchema.parse({ key: 'feature.x', value: true }));
  const created = await api(b, u.deployer, 'POST', '/api/v1/promotions', { sourceEnvironment: 'dev', targetEnvironment: 'edge' }, 'request');
  expectStatus(created, 201, 'dev → edge');
  const id = String(created.body.id);
  await b.signals.wait(`${id}:decide`);
  await b.workflow.stopExecution(LocalWorkflow.executionId({ tenant, promotionId: id }));
  await approvePromotion(b.deps, ctxOf(u.approver), id);
  await rolloutStartStep(b.deps, tenant, id);

  // Every wave started (as the flow's WaveStart writes it): a rollback reads the waves the rollout reached.
  await writePromotion(b.deps, tenant, id, (cur) => ({
    next: patched(cur, b.deps.clock(), { rollout: { ...cur.rollout!, wave: waves } }),
    action: null,
    by: ENGINE,
  }));
  // Every target changed: the first by the apply step's own change, the others by the same transaction's ops.
  const p: Promotion = (await b.deps.store.getPromotion(tenant, id))!;
  if (p.status !== 'EXECUTING' || !p.rollout) throw new Error(`bench: the fleet's promotion is ${p.status} after its rollout started`);
  const t0 = performance.now();
  let applied: WriteOp[] = [];
  const names = fleetTargets(n, waves);
  await changeTarget(
    watchingCommits(b, (ops) => (applied = ops)),
    p,
    names[0]!.name,
    '',
    { audit: false },
  );
  const like = (name: string, wave: number): WriteOp[] => {
    const deploymentId = crypto.randomUUID();
    return applied.flatMap((op): WriteOp[] => {
      if (op.kind === 'rolloutTarget') return [{ ...op, target: { ...op.target, name, wave, deploymentId } }];
      if (op.kind === 'targetHead') return [{ ...op, head: { ...op.head, target: name, wave } }];
      if (op.kind === 'deployment') return [{ ...op, deployment: { ...op.deployment, id: deploymentId, target: name } }];
      return [];
    });
  };
  const rest = names.slice(1);
  for (let i = 0; i < rest.length; i += 10) await Promise.all(rest.slice(i, i + 10).map((t) => b.deps.store.commit(tenant, like(t.name, t.wave))));
  const applyMs = performance.now() - t0;
  const changed = (await b.deps.store.listRolloutTargets(tenant, id)).filter((t) => t.appliedAt);
  if (changed.length !== n) throw new Error(`bench: ${changed.length} of ${n} targets changed`);

  // The rollback: MarkFailed as the flow runs it, again while its answer says more.
  await b.stream.idle();
  let ended: WriteOp[] = [];
  const deps = watchingCommits(b, (ops) => {
    if (ops.some((o) => o.kind === 'promotion')) ended = ops;
  });
  const runs: Invocation[] = [];
  let error: unknown = { Error: 'MonitorAlarm', Cause: JSON.stringify({ errorMessage: 'bench: a monitor of the fleet went to ALARM' }) };
  for (;;) {
    const inv = newInvocation('promotion-step', 'step: fail', 'step');
    const s = performance.now();
    const out = await b.attribution.run(inv, () =>
      runStep(deps, { step: 'fail', tenant, promotionId: id, executionArn: `bench:${id}`, error } as StepInput & { step: 'fail' }),
    );
    inv.ms = performance.now() - s;
    runs.push(inv);
    error = { Payload: out };
    if ((out as { more?: boolean }).more !== true) break;
    if (runs.length > Math.ceil(n / ROLLBACK_BATCH) + 2) throw new Error(`bench: the rollback ran ${runs.length} times and still says more`);
  }
  const rollbackMs = runs.reduce((a, r) => a + r.ms, 0);

  // Every changed target back, the promotion ROLLED_BACK, newest wave first (a run's waves never newer than an earlier run's).
  const items: RolloutTarget[] = await b.deps.store.listRolloutTargets(tenant, id);
  const back = items.filter((t) => t.state === 'ROLLED_BACK').length;
  const end = (await b.deps.store.getPromotion(tenant, id))!;
  if (back !== n || end.status !== 'ROLLED_BACK')
    throw new Error(`bench: the fleet's rollback ended ${end.status} with ${back} of ${n} changed targets ROLLED_BACK`);
  // Each run stamps the targets it puts back with its own time: grouped by it, in order, the runs' waves.
  const stamps = [...new Set(items.map((t) => t.rolledBackAt ?? ''))].sort();
  const waveRuns = stamps.map((at) => items.filter((t) => t.rolledBackAt === at).map((t) => t.wave));
  for (let i = 1; i < waveRuns.length; i++)
    if (waveRuns[i]!.length && Math.max(...waveRuns[i]!) > Math.min(...waveRuns[i - 1]!))
      throw new Error(`bench: run ${i + 1} put back wave ${Math.max(...waveRuns[i]!)} after run ${i} put back wave ${Math.min(...waveRuns[i - 1]!)}`);
  if (!waveRuns[0]!.includes(waves) || waveRuns[0]!.some((w) => w < waves - 1)) throw new Error(`bench: the first run did not put back wave ${waves} first`);

  // Bounded at 10,000: the final item, its event, its audit entry.
  const item = await b.deps.store.getPromotion(tenant, id);
  const itemBytes = bytes(item);
  const event = ended.find((o) => o.kind === 'event' && o.event.type === 'Promotion Rolled Back');
  const audit = ended.find((o) => o.kind === 'audit');
  const eventBytes = event ? bytes(event) : 0;
  const auditBytes = audit ? bytes(audit) : 0;
  if (!event || !audit) throw new Error(`bench: the promotion's end wrote ${ended.map((o) => o.kind).join(', ')}: no event or no audit entry`);
  if (itemBytes >= ITEM_LIMIT || auditBytes >= ITEM_LIMIT || eventBytes >= EVENT_LIMIT)
    throw new Error(`bench: at ${n} targets the promotion's item is ${itemBytes} B, its event ${eventBytes} B, its audit entry ${auditBytes} B`);

  const sum = (k: 'wru' | 'rru') => runs.reduce((a, r) => a + r[k], 0);
  const requests = runs.reduce((a, r) => a + requestsOf(r), 0);
  const largest = runs.reduce((m, r) => (r.rru > m.rru ? r : m), runs[0]!);
  const firstRru = runs[0]!.rru;
  const lastRru = runs[runs.length - 1]!.rru;
  sub(`Rollback of ${int(n)} changed targets in ${waves} waves: the fail step run as MarkFailed → PutBackMore runs it`);
  console.log(
    table(
      ['figure', 'measured', 'per target', 'goal', ''],
      [
        [`targets changed (setup: ${fmt(applyMs / 1000, 0)} s)`, int(n), '', '', ''],
        [
          `runs of the fail step (batches of ${ROLLBACK_BATCH})`,
          runs.length,
          '',
          `${Math.ceil(n / ROLLBACK_BATCH)}`,
          runs.length === Math.ceil(n / ROLLBACK_BATCH) ? 'met' : 'NOT met',
        ],
        ['targets put back (ROLLED_BACK, newest wave first)', int(back), '', `${int(n)}`, back === n ? 'met' : 'NOT met'],
        ['promotion', end.status, '', 'ROLLED_BACK', end.status === 'ROLLED_BACK' ? 'met' : 'NOT met'],
        ['time (local, all runs)', `${fmt(rollbackMs / 1000, 1)} s`, `${fmt(rollbackMs / n, 1)} ms`, '', ''],
        ['WRU', fmt(sum('wru'), 0), fmt(sum('wru') / n, 1), '', ''],
        ['RRU', fmt(sum('rru'), 0), fmt(sum('rru') / n, 1), '', ''],
        ['DynamoDB requests', fmt(requests, 0), fmt(requests / n, 1), '', ''],
        [
          'RRU of one run: largest (first, last)',
          `${fmt(largest.rru, 0)} (${fmt(firstRru, 0)}, ${fmt(lastRru, 0)})`,
          fmt(largest.rru / ROLLBACK_BATCH, 1),
          '',
          '',
        ],
        ['promotion item at the end', `${fmt(itemBytes / 1024, 1)} KB`, '', '< 400 KB', itemBytes < ITEM_LIMIT ? 'met' : 'NOT met'],
        ['its end event (Promotion Rolled Back)', `${fmt(eventBytes / 1024, 1)} KB`, '', '< 256 KB', eventBytes < EVENT_LIMIT ? 'met' : 'NOT met'],
        ['its audit entry', `${fmt(auditBytes / 1024, 1)} KB`, '', '< 400 KB', auditBytes < ITEM_LIMIT ? 'met' : 'NOT met'],
      ],
    ),
  );
  return {
    runs: runs.length,
    rolledBack: back,
    ms: rollbackMs,
    wru: sum('wru'),
    rru: sum('rru'),
    requests,
    largestRru: largest.rru,
    itemBytes,
    eventBytes,
    auditBytes,
  };
}
