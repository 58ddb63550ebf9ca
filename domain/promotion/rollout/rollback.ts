import { deploymentOp } from '../../artifacts/deployments.ts';
import { artifactSubject, configSubject } from '../../config/targets.ts';
import { firstOf, TARGETS_NAMED, targetsNamed } from '../../kernel/display.ts';
import type { TargetHead } from '../../kernel/model.ts';
import type { Promotion, RolloutTarget } from '../../kernel/promotion-model.ts';
import type { Deps, With, WriteOp } from '../../kernel/deps.ts';
import { retryOnConflict, WriteConflict } from '../../kernel/retry.ts';
import { ENGINE, moved } from '../aggregate.ts';
import { wakeQueued } from '../run/queue.ts';
import { revertTarget } from '../deliver/target-delivery.ts';
import { planNames } from '../terms/stored-plan.ts';
import { promotionEvent, writePromotion } from '../write.ts';
import { decideToStop } from './stop.ts';
import { doraOps } from '../run/end.ts';

/** The most targets one run of the fail step puts back (each its own transaction, and its git or registry call): well inside a Lambda's 15 minutes. */
export const ROLLBACK_BATCH = 200;

/**
 * Where a rollback stands between runs of the fail step, carried in its answer (the flow's MarkFailed hands it back as
 * `{ Payload }`, the sweep as the answer itself): the wave being put back, how many of its names (in the order they
 * are put back) were read, and per wave walked which of its names are back (a bitmap in that order, base64). With it a
 * run reads only the targets it has not read yet, by name: each target is read once however large the fleet.
 */
export interface RollbackCursor {
  wave: number;
  at: number;
  back: { wave: number; bits: string }[];
}

/**
 * How a rollout through targets ends when it goes wrong (a confirmation that did not come in time, a
 * monitor in ALARM while a wave bakes, any failed step): every target already changed is put back to
 * what it ran before, in reverse wave order, each in one transaction (its head, its item, its
 * deployment record); then the promotion ends ROLLED_BACK (FAILED when no target had changed) with
 * the targets named in its event (`promotion.rolled_back` to webhooks). Idempotent: a target already
 * put back is skipped, a finished promotion is left alone.
 *
 * In batches: one run puts back at most {@link ROLLBACK_BATCH} targets (newest wave first, and within a wave
 * the last target first) and answers `more` while names remain to be read, with the reason and the cursor to carry to
 * the next run (the flow's MarkFailed runs again: statemachines/promotion.asl.json). The names come from the stored
 * plan, the targets' items are read by name (batch reads), from the cursor on; a run that is repeated (a retry, a lost
 * answer) reads from the same cursor and finds what it put back ROLLED_BACK, so nothing is put back twice. A cursor
 * that is missing or not one (the first run, an older flow) starts from the newest wave started.
 */
export async function rollBackRollout(
  deps: With<'git' | 'registry' | 'scheduler' | 'workflow'>,
  p: Promotion,
  raw: string,
  given?: unknown,
): Promise<{ more: boolean; reason: string; cursor?: RollbackCursor }> {
  // The reason as a sentence: the flow's own error names are told by what the targets show (one listing, on that path only).
  const message = stopReason(raw, FLOW_ERROR.test(raw.trim()) ? await deps.store.listRolloutTargets(p.tenant, p.id) : []);
  // The decision to stop first, on the promotion: a step that would start a wave or change a target and read the
  // promotion before this write loses its own (conditioned on the version it read), so every target changed is in a
  // wave the rollout had started when it was written, and none changes after it. (A later run's promotion has decided already.)
  if (!p.rollout?.stopping) await decideToStop(deps, p, message);
  const waves = (p.rollout?.waves ?? []).map((w) => w.wave).sort((a, b) => b - a);
  let cursor: RollbackCursor = cursorOf(given, waves) ?? {
    // the newest wave started, read after the decision (no wave starts after it)
    wave: Math.max((await deps.store.getPromotion(p.tenant, p.id))?.rollout?.wave ?? 0, p.rollout?.wave ?? 0),
    at: 0,
    back: [],
  };
  const from = cursor;
  const marks = new Map(cursor.back.map((b) => [b.wave, Buffer.from(b.bits, 'base64')]));
  const namesOf = new Map<number, string[]>();
  const names = async (wave: number) => namesOf.get(wave) ?? namesOf.set(wave, (await planNames(deps.store, p, wave)).sort(lastFirst)).get(wave)!;
  const bitsOf = async (wave: number) => {
    const n = (await names(wave)).length;
    const have = marks.get(wave);
    if (have && have.length === Math.ceil(n / 8)) return have;
    return marks.set(wave, Buffer.alloc(Math.ceil(n / 8))).get(wave)!;
  };
  const mark = (bits: Buffer, i: number) => (bits[i >> 3]! |= 1 << (i & 7));
  const now = deps.clock().toISOString();
  let put = 0;
  let more = false;
  for (const wave of waves.filter((w) => w <= from.wave && w > 0)) {
    const list = await names(wave);
    const bits = await bitsOf(wave);
    let i: number = wave === from.wave ? from.at : 0;
    while (i < list.length && put < ROLLBACK_BATCH) {
      // As many names as the batch has room for (at most a batch read's 100), so the cursor stops exactly after the last read.
      const chunk = list.slice(i, i + Math.min(100, ROLLBACK_BATCH - put));
      const got = new Map((await deps.store.getRolloutTargets(p.tenant, p.id, chunk)).map((t) => [t.name, t]));
      for (const [j, name] of chunk.entries()) {
        const t = got.get(name);
        if (!t) continue;
        if (t.state === 'ROLLED_BACK') mark(bits, i + j);
        else if (t.appliedAt) {
          await putBack(deps, p, t, now, message);
          mark(bits, i + j);
          put++;
        }
      }
      i += chunk.length;
    }
    cursor = { wave, at: i, back: [] };
    if (put >= ROLLBACK_BATCH) {
      more = i < list.length || waves.some((w) => w < wave && w > 0);
      break;
    }
  }
  if (more) {
    const back = [...marks].map(([wave, bits]) => ({ wave, bits: bits.toString('base64') }));
    return { more, reason: message, cursor: { ...cursor, back } };
  }
  // Every changed target is back (this run's and the earlier runs'), named newest wave first.
  const back: { name: string; wave: number }[] = [];
  for (const wave of waves.filter((w) => w > 0 && marks.has(w))) {
    const bits = marks.get(wave)!;
    for (const [i, name] of (await names(wave)).entries()) if ((bits[i >> 3]! >> (i & 7)) & 1) back.push({ name, wave });
  }
  const rolledBack = back.map((t) => t.name);
  const backWaves = [...new Set(back.map((t) => t.wave))];
  const outcome = rolledBack.length ? 'ROLLED_BACK' : 'FAILED';
  // Its config heads put back run the environment's head: the environment's item stops naming their targets (one write for all).
  const unlist = writesConfigHeads(p) && rolledBack.length ? [{ kind: 'ownHeadsBack' as const, environment: p.targetEnvironment, targets: rolledBack }] : [];
  // A few are named each with its wave; a fleet's are counted, the first few named (newest wave first, as put back).
  const named = back.slice(0, TARGETS_NAMED).map((t) => `${t.name} (wave ${t.wave})`);
  const why = !rolledBack.length
    ? `${message}; no target had changed`
    : back.length <= TARGETS_NAMED
      ? `${message}; targets rolled back in reverse wave order: ${named.join(', ')}`
      : `${message}; ${back.length} targets rolled back in reverse wave order: ${firstOf(named, back.length)}`;
  await writePromotion(deps, p.tenant, p.id, async (cur) => {
    if (cur.status !== 'EXECUTING') return null;
    const next = moved(cur, outcome, ENGINE, deps.clock(), {
      taskToken: null,
      error: { code: 'EXECUTION_FAILED', message: why.slice(0, 2000) },
      rollout: { ...cur.rollout!, waiting: null, outcome: 'ROLLED_BACK' },
    });
    // As a promotion rolled back after its bake (run/end.ts): a failed change of the environment, and a rollback of it.
    const failure: WriteOp = {
      kind: 'metrics',
      delta: {
        environment: cur.targetEnvironment,
        day: now.slice(0, 10),
        add: { failed: 1, deployments: 1, changeFailed: 1, ...(outcome === 'ROLLED_BACK' ? { rolledBack: 1 } : {}) },
      },
    };
    const dora = await doraOps(deps, cur, outcome, [failure]);
    const ops: WriteOp[] = [
      ...unlist,
      promotionEvent(deps, outcome === 'ROLLED_BACK' ? 'Promotion Rolled Back' : 'Promotion Failed', next, {
        reason: why.slice(0, 1000),
        targets: rolledBack,
        ...(backWaves.length ? { waves: backWaves } : {}),
        // the wave it failed in (the one running or last started)
        wave: cur.rollout?.wave || undefined,
        dora: dora.detail,
      }),
      failure,
      ...dora.ops,
    ];
    return { next, action: outcome === 'ROLLED_BACK' ? 'promotion.rollback.auto' : 'promotion.fail', by: ENGINE, ops, reason: why.slice(0, 1000) };
  });
  await deps.store.releaseLock(p.tenant, p.targetEnvironment, p.id);
  await wakeQueued(deps, p.tenant, p.targetEnvironment);
  return { more: false, reason: message };
}

/** The flow's own error names (States.Timeout, States.Runtime, …): no reason a person can act on. */
const FLOW_ERROR = /^States\.[A-Za-z]+$/;

/** A target's names in the order they are put back: the last first (reverse order of their names). */
const lastFirst = (a: string, b: string) => b.localeCompare(a);

/** The cursor handed back, when it is one for this rollout's waves (data from the flow: read as data, nothing walked). */
function cursorOf(given: unknown, waves: readonly number[]): RollbackCursor | null {
  if (!given || typeof given !== 'object' || !Object.hasOwn(given, 'cursor')) return null;
  const c = (given as { cursor: unknown }).cursor;
  if (!c || typeof c !== 'object') return null;
  const { wave, at, back } = c as Record<string, unknown>;
  const whole = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!whole(wave) || !whole(at) || !waves.includes(wave) || !Array.isArray(back)) return null;
  const marks: RollbackCursor['back'] = [];
  for (const b of back) {
    if (!b || typeof b !== 'object') return null;
    const { wave: w, bits } = b as Record<string, unknown>;
    if (!whole(w) || !waves.includes(w) || typeof bits !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(bits)) return null;
    marks.push({ wave: w, bits });
  }
  return { wave, at, back: marks };
}

/** One target put back; a target still measuring (or polled) when the rollout stopped may write its item once more in flight: on a lost race it is read again and put back from what it is now (one already put back is left as it is). */
async function putBack(deps: With<'git' | 'registry'>, p: Promotion, t: RolloutTarget, now: string, message: string): Promise<void> {
  let cur = t;
  await retryOnConflict(deps.tunables, async () => {
    try {
      await restoreTarget(deps, p, cur, now, message);
    } catch (err) {
      if (err instanceof WriteConflict) cur = (await deps.store.getRolloutTarget(p.tenant, p.id, t.name)) ?? cur;
      if (err instanceof WriteConflict && cur.state === 'ROLLED_BACK') return;
      throw err;
    }
  });
}

/** Whether a promotion's rollout writes config heads (a config release, or a bundle with a configuration). */
const writesConfigHeads = (p: Promotion) => p.subject.type === 'config' || (p.subject.type === 'bundle' && !!p.subject.config);

/**
 * One target back to what it ran before: its deliveries (its git file, its registry tag: each says what was done or
 * why not, never throwing), then in one transaction its head (the environment's again), its item ROLLED_BACK and its
 * deployment record ROLLED_BACK.
 */
async function restoreTarget(deps: With<'git' | 'registry'>, p: Promotion, t: RolloutTarget, now: string, message: string): Promise<void> {
  const subject = p.subject.type === 'config' ? configSubject : p.subject.type === 'bundle' ? null : artifactSubject(p.subject.name);
  const head = subject ? await deps.store.getTargetHead(p.tenant, p.targetEnvironment, t.name, subject) : null;
  const reverted = await revertTarget(deps, p, t, message.slice(0, 500));
  const ops: WriteOp[] = [
    {
      kind: 'rolloutTarget',
      target: {
        ...t,
        ...reverted,
        state: 'ROLLED_BACK',
        rolledBackAt: now,
        taskToken: null,
        error: t.error ?? (t.state === 'CONFIRMING' ? notConfirmed(t) : `the rollout stopped: ${message}`.slice(0, 500)),
        version: t.version + 1,
        updatedAt: now,
      },
      expectedVersion: t.version,
    },
  ];
  if (head && head.promotionId === p.id) {
    // What it ran before: for a config, the environment's head (which a rollout never moves before it completes);
    // for an artifact, the version recorded when it was changed.
    const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
    const back: TargetHead =
      p.subject.type === 'config'
        ? { ...head, snapshot: env ? env.head : head.snapshot, promotionId: `rollback:${p.id}`, updatedAt: now, version: head.version + 1 }
        : {
            ...head,
            artifact: t.before?.version ? { name: p.subject.name, version: t.before.version, digest: t.before.digest ?? '' } : undefined,
            base: t.before?.version ? head.base : -1,
            promotionId: `rollback:${p.id}`,
            updatedAt: now,
            version: head.version + 1,
          };
    // A config head put back runs the environment's head: the rollout's end unlists it (rollBackRollout), once for all its targets.
    ops.push({ kind: 'targetHead', head: back, expectedVersion: head.version, ...(p.subject.type === 'config' ? { putBack: true as const } : {}) });
  }
  if (p.subject.type === 'bundle') ops.push(...(await bundleHeadsBack(deps, p as Promotion & { subject: { type: 'bundle' } }, t, now)));
  if (t.deploymentId && t.appliedAt) {
    const dep = await deps.store.getDeployment(p.tenant, p.targetEnvironment, t.appliedAt, t.deploymentId);
    if (dep && dep.status !== 'ROLLED_BACK') ops.push(deploymentOp({ ...dep, status: 'ROLLED_BACK', completedAt: now }, dep.status, now));
  }
  await deps.store.commit(p.tenant, ops);
}

/** A bundle's heads on one target back together: each member to what it ran before (none: the environment's again), its configuration to the environment's head. */
async function bundleHeadsBack(deps: Deps, p: Promotion & { subject: { type: 'bundle' } }, t: RolloutTarget, now: string): Promise<WriteOp[]> {
  const ops: WriteOp[] = [];
  const back = (head: TargetHead, patch: Partial<TargetHead>): WriteOp => ({
    kind: 'targetHead',
    head: { ...head, ...patch, bundle: null, promotionId: `rollback:${p.id}`, updatedAt: now, version: head.version + 1 },
    expectedVersion: head.version,
    ...(head.subject === configSubject ? { putBack: true as const } : {}),
  });
  for (const m of t.members ?? []) {
    const head = await deps.store.getTargetHead(p.tenant, p.targetEnvironment, t.name, artifactSubject(m.name));
    if (head?.promotionId !== p.id) continue;
    ops.push(back(head, m.before ? { artifact: { name: m.name, ...m.before } } : { artifact: undefined, base: -1 }));
  }
  if (p.subject.config) {
    const head = await deps.store.getTargetHead(p.tenant, p.targetEnvironment, t.name, configSubject);
    const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
    if (head?.promotionId === p.id) ops.push(back(head, { snapshot: env ? env.head : head.snapshot }));
  }
  return ops;
}

const NOT_CONFIRMED = new Map([
  ['health', ' (its health URL never answered as expected)'],
  ['callback', ' (no confirmation came)'],
  ['argocd', ' (its Argo CD application was never Synced at the delivered commit and Healthy)'],
  ['flux', ' (its Flux Kustomization was never Ready at the delivered commit)'],
]);
/** Why a target waiting for its confirmation was put back: its deadline passed without one (a fleet says how far it got). */
const notConfirmed = (t: RolloutTarget) =>
  `not confirmed by ${t.confirm?.deadline ?? 'its deadline'}${
    t.confirm?.mode === 'fleet'
      ? ` (its fleet did not converge${t.confirm.detail ? `: ${t.confirm.detail}` : ''})`
      : (NOT_CONFIRMED.get(t.confirm?.mode ?? '') ?? '')
  }`;

/**
 * The reason a rollout stopped, as a sentence: the flow's own error names (States.Timeout when a
 * confirmation's wait ran out, States.Runtime, …) are no reason a person can act on, so they are told
 * by what the targets show (the one whose confirmation did not come, and by when).
 */
export function stopReason(raw: string, items: RolloutTarget[]): string {
  if (!FLOW_ERROR.test(raw.trim())) return raw;
  const waiting = items.filter((t) => t.state === 'CONFIRMING');
  if (/Timeout$/.test(raw.trim()))
    return !waiting.length
      ? 'a step of the rollout did not finish in time'
      : waiting.length <= TARGETS_NAMED
        ? waiting.map((t) => `${t.name} was ${notConfirmed(t)}`).join('; ')
        : `${targetsNamed(waiting)} were not confirmed in time; ${waiting[0]!.name} was ${notConfirmed(waiting[0]!)}`;
  return 'the rollout could not go on (the flow stopped on an internal error; see the execution history)';
}
