import { deploymentOp } from '../artifacts/deployments.ts';
import { randomUUID } from 'node:crypto';
import { rootsDigest } from '../config/commit.ts';
import { artifactSubject, configSubject, targetMonitors, targetsOf, wavesOf } from '../config/targets.ts';
import { applyChanges, memoSource, NodeSink } from '../config/tree.ts';
import { monitorRefusal, monitorsBlock, type AlarmState } from '../freeze/monitors.ts';
import { auditEntry } from '../audit/audit.ts';
import { TargetNotFound, TransitionNotAllowed } from '../kernel/errors.ts';
import type { Environment, Roots, TargetHead } from '../kernel/model.ts';
import type { Actor, MonitorAlarm, Promotion, RolloutState, RolloutTarget } from '../kernel/promotion-model.ts';
import type { StartWindow, Target } from '../kernel/target-schemas.ts';
import type { Ctx, Deps, WriteOp, With } from '../ports.ts';
import { ENGINE, moved, patched } from './aggregate.ts';
import { LOCK_SECONDS, type Next } from './deadlines.ts';
import { completeRollout, waveCompletion } from './finish.ts';
import { freezeHold } from './freeze-hold.ts';
import { activeWindowOf, nextAllowedOf } from '../freeze/windows.ts';
import { freezeOverridden } from '../freeze/break-glass.ts';
import { monitorCheck } from './monitor-watch.ts';
import { notQueued, queueBehind } from './queue.ts';
import { configChanges } from './release.ts';
import { scheduleName } from './schedule-name.ts';
import { PromotionFailed } from './target-change.ts';
import { deliverTarget } from './target-delivery.ts';
import { auditDraft, loadPromotion, promotionEvent, writePromotion } from './write.ts';

/**
 * Waves: executing a promotion into an environment with targets (domain/config/targets.ts). The flow
 * (statemachines/promotion.asl.json: Rollout → Waves (a Map, one wave at a time) → per wave WaveStart,
 * then WaveTargets (a Map over the wave's targets, at most maxParallel at once) → per target
 * TargetApply, TargetBake, TargetBaked → RolloutComplete) passes ids only; what each target did is its
 * RolloutTarget item. A target's change is its own head (TargetHead); the environment's head moves
 * only when every target has the release (RolloutComplete). A failure anywhere rolls every changed
 * target back (waves-rollback.ts, through the fail step).
 */

/** What the flow's Waves map iterates: per wave, its targets (name and how long its confirmation may take), bake and parallelism. */
export interface FlowWave {
  wave: number;
  targets: { name: string; timeoutSeconds: number; intervalSeconds: number }[];
  bakeSeconds: number;
  maxParallel: number;
}

/** How long a target's apply task may wait for its confirmation (immediate: the apply itself). */
const confirmSeconds = (t: Target | undefined) => (t?.confirm.mode === 'callback' || t?.confirm.mode === 'health' ? t.confirm.timeoutSeconds : 900);

/**
 * The bake a target enters once it is confirmed: from then for its wave's bake time, watching its monitors.
 * Recorded when it starts, so a rollout stopped mid-bake (an alarm) still names every bake window; the
 * bake's end (TargetBaked) writes when it really ended.
 */
const bakeWindow = (p: Promotion, env: Pick<Environment, 'monitors' | 'targets'> | null, name: string, at: Date): NonNullable<RolloutTarget['bake']> => {
  const seconds = p.rollout?.waves.find((w) => w.targets.includes(name))?.bakeSeconds ?? 0;
  return { from: at.toISOString(), until: new Date(at.getTime() + seconds * 1000).toISOString(), monitors: env ? targetMonitors(env, name) : [] };
};

const flowWaves = (env: Environment, r: RolloutState): FlowWave[] =>
  r.waves.map((w) => ({
    wave: w.wave,
    bakeSeconds: w.bakeSeconds,
    maxParallel: w.maxParallel,
    targets: w.targets.map((name) => {
      const t = targetsOf(env).find((x) => x.name === name);
      return { name, timeoutSeconds: confirmSeconds(t), intervalSeconds: t?.confirm.mode === 'health' ? t.confirm.intervalSeconds : 15 };
    }),
  }));

/** Rollout: the freeze hold and the environment's monitors as any execution, the lease, EXECUTING with the wave plan. */
export async function rolloutStartStep(deps: With<'alarms' | 'scheduler'>, tenant: string, id: string): Promise<{ next: Next; waves: FlowWave[] }> {
  const { held, read } = await freezeHold(deps, tenant, id);
  if (held) return { ...held, waves: [] };
  await monitorCheck(deps, read);
  const env = await deps.store.getEnvironment(tenant, read.targetEnvironment);
  if (!env) throw new PromotionFailed(`target environment '${read.targetEnvironment}' no longer exists`);
  if (read.status !== 'APPROVED' && read.status !== 'SCHEDULED' && read.status !== 'EXECUTING') return { next: 'done', waves: [] };
  // Another promotion holds the lease: wait behind it (held, when it is long) or retry (TargetBusy).
  if (!(await deps.store.acquireLock(tenant, read.targetEnvironment, id, deps.clock(), rolloutLockSeconds(env)))) await queueBehind(deps, read);
  const { before, after } = await writePromotion(
    deps,
    tenant,
    id,
    (cur) => {
      if (cur.status === 'EXECUTING') return null;
      const rollout: RolloutState = {
        waves: wavesOf(env).map((w) => ({
          wave: w.wave,
          targets: w.targets.map((t) => t.name),
          bakeSeconds: w.bakeSeconds,
          maxParallel: w.maxParallel,
          ...(w.pause ? { pause: true } : {}),
        })),
        wave: 0,
        halted: null,
        waiting: null,
        outcome: null,
      };
      const n = rollout.waves.reduce((s, w) => s + w.targets.length, 0);
      return {
        next: moved(cur, 'EXECUTING', ENGINE, deps.clock(), { taskToken: null, rollout, ...notQueued(cur) }),
        action: 'promotion.execute.start',
        by: ENGINE,
        reason: `rolling out through ${n} targets in ${rollout.waves.length} waves`,
      };
    },
    { read },
  );
  const p = after ?? before;
  if (p.status !== 'EXECUTING' || !p.rollout) return { next: 'done', waves: [] };
  return { next: 'execute', waves: flowWaves(env, p.rollout) };
}

/**
 * How long a rollout holds its environment's lease: a wave may wait a day for a callback and bake; every
 * wave start renews it (a halted or waiting rollout renews it when it goes on), so another promotion into
 * the environment waits for this one instead of taking over mid-rollout.
 */
const rolloutLockSeconds = (env: Pick<Environment, 'targets' | 'rollout' | 'bakeSeconds'>) =>
  86_400 + Math.max(0, ...wavesOf(env).map((w) => w.bakeSeconds)) + LOCK_SECONDS;

/** Whether `now` is inside one of the windows (none: any time), and if not, the next time one opens. */
export function windowAt(windows: readonly StartWindow[], now: Date): { open: boolean; opens: Date | null } {
  if (!windows.length) return { open: true, opens: null };
  const inside = (at: Date) => windows.some((w) => insideWindow(w, at));
  if (inside(now)) return { open: true, opens: null };
  // The next minute one opens, within a week (windows are by the minute).
  const start = Math.ceil(now.getTime() / 60_000) * 60_000;
  for (let m = 0; m <= 7 * 24 * 60; m++) {
    const at = new Date(start + m * 60_000);
    if (inside(at)) return { open: false, opens: at };
  }
  return { open: false, opens: null };
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

function insideWindow(w: StartWindow, at: Date): boolean {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: w.timezone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = get('weekday').toLowerCase().slice(0, 3);
  const minute = Number(get('hour')) * 60 + Number(get('minute'));
  const [sh, sm] = w.start.split(':').map(Number);
  const [eh, em] = w.end.split(':').map(Number);
  const from = sh! * 60 + sm!;
  const to = eh! * 60 + em!;
  if (from <= to) return w.days.includes(day as (typeof DAYS)[number]) && minute >= from && minute < to;
  // Spans midnight: the part after midnight belongs to the day before.
  if (minute >= from) return w.days.includes(day as (typeof DAYS)[number]);
  const before = DAYS[(DAYS.indexOf(day as (typeof DAYS)[number]) + 6) % 7]!;
  return minute < to && w.days.includes(before);
}

/**
 * WaveStart (a task-token wait, once per wave): a halted rollout keeps the token for resume; outside the
 * start windows the promotion says why and until when, and a schedule answers the token when a window
 * opens; otherwise the wave starts at once (the step answers its own token).
 */
export async function waveStartStep(deps: With<'workflow' | 'scheduler'>, tenant: string, id: string, wave: number, token: string): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING' || !p.rollout) {
    await deps.workflow.sendTaskFailure(token, 'RolloutStopped', `promotion is ${p.status}`);
    return { next: 'done' };
  }
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  const now = deps.clock();
  // The lease is renewed with every wave (and kept through a halt or a start window: the renewal covers a day more).
  if (env) await deps.store.acquireLock(tenant, p.targetEnvironment, id, now, rolloutLockSeconds(env));
  const gate = await waveGate(deps, p, env, wave, now);
  const { after } = await writePromotion(deps, tenant, id, (cur) => {
    if (cur.status !== 'EXECUTING' || !cur.rollout) return null;
    // This step runs when the wave before has ended (every target of it confirmed and baked): that wave is
    // complete now, whether this one starts, waits for a resume or waits for a start window or a freeze.
    // When this wave does not start now, the completion of the one before says why (its event's reason).
    const halted = cur.rollout.halted;
    const waits = halted
      ? `the rollout is halted by ${halted.by}${halted.reason ? ` (${halted.reason})` : ''}: wave ${wave} waits for a resume`
      : gate.open
        ? undefined
        : gate.reason;
    const done = waveCompletion(deps, cur, [...cur.rollout.waves].reverse().find((w) => w.wave < wave)?.wave, waits);
    const base: Promotion = done ? { ...cur, rollout: done.rollout } : cur;
    const rollout = base.rollout!;
    const ops = done?.ops ?? [];
    if (rollout.halted) return { next: { ...base, taskToken: token }, action: null, by: ENGINE, ops };
    if (!gate.open) {
      const waiting = { reason: gate.reason, until: gate.until, for: gate.for };
      return {
        next: patched(base, now, { taskToken: token, rollout: { ...rollout, waiting } }),
        action: 'promotion.wave.wait',
        by: ENGINE,
        reason: gate.for === 'start-window' ? `${waiting.reason}; opens ${waiting.until}` : waiting.reason,
        ops,
      };
    }
    // A retried step finds its wave started already: no second start (nor its event).
    if (rollout.wave >= wave && !rollout.waiting && !cur.taskToken) return null;
    // A wave planned to pause: the rollout halts here, keeping the token for the release manager's resume.
    const paused = pausedBefore(base, wave, now, token);
    if (paused) return { ...paused, ops: [...ops, ...paused.ops] };
    const start = waveStarted(deps, base, wave, now);
    const prev = done?.rollout.completedWaves?.at(-1);
    return { ...start, reason: done ? `wave ${prev} complete; ${start.reason}` : start.reason, ops: [...ops, ...start.ops] };
  });
  const cur = after ?? p;
  if (cur.rollout?.halted) return { next: 'await-go' };
  if (!gate.open) {
    await deps.scheduler.scheduleOnce(scheduleName(cur), new Date(cur.rollout!.waiting!.until), { tenant, promotionId: id });
    return { next: 'await-go' };
  }
  await deps.workflow.sendTaskSuccess(token, { wave });
  return { next: 'execute' };
}

/**
 * Whether a wave may start now, the one check every path that starts a wave goes through (WaveStart, a
 * resume, a start window's schedule): no freeze window over the environment (unless an admin broke glass
 * for this promotion) and inside the environment's start windows, if it has any. When it may not, the
 * reason a person reads and when to look again (the freeze's end, or the next start window).
 */
export async function waveGate(
  deps: Deps,
  p: Promotion,
  env: Environment | null,
  wave: number,
  now: Date,
  opts: { windowOpened?: boolean } = {},
): Promise<{ open: true } | { open: false; reason: string; until: string; for: 'start-window' | 'freeze' }> {
  if (!freezeOverridden(p)) {
    const windows = await deps.store.listFreezeWindows(p.tenant);
    const frozen = await activeWindowOf(windows, p.targetEnvironment, now);
    if (frozen) {
      const until = (await nextAllowedOf(windows, p.targetEnvironment, now)).toISOString();
      const reason = `wave ${wave} waits: '${p.targetEnvironment}' is frozen by window ${frozen.window.id} (${frozen.window.reason}) until ${until}`;
      return { open: false, reason, until, for: 'freeze' };
    }
  }
  // The schedule of a start window fires when the window opens: what the wave waited for is over.
  if (opts.windowOpened) return { open: true };
  const starts = env?.rollout?.startWindows ?? [];
  const window = windowAt(starts, now);
  if (window.open) return { open: true };
  const until = (window.opens ?? new Date(now.getTime() + 3600_000)).toISOString();
  return { open: false, reason: `wave ${wave} waits for a start window (${describeWindows(starts)})`, until, for: 'start-window' };
}

/** The wave a parked WaveStart task waits to start (halted, or outside the start windows): the one after the rollout's current wave. */
export const parkedWave = (r: RolloutState): number => r.waves.find((w) => w.wave > r.wave)?.wave ?? r.wave;

/**
 * The move that starts a wave: the rollout's wave, its audit entry and its event (`Promotion Wave Started`,
 * with the wave's targets). WaveStart makes it, and so do resume and a start window's schedule when they
 * answer a parked WaveStart task: `waited` says what the wave waited for (the event's reason, which the
 * wave-started notification shows).
 */
export function waveStarted(deps: Deps, cur: Promotion, wave: number, now: Date, rollout: Partial<RolloutState> = {}, waited?: string) {
  const targets = cur.rollout!.waves.find((w) => w.wave === wave)?.targets ?? [];
  const next = patched(cur, now, { taskToken: null, rollout: { ...cur.rollout!, ...rollout, wave, waiting: null } });
  return {
    next,
    action: 'promotion.wave.start',
    by: ENGINE,
    reason: `wave ${wave}: ${targets.join(', ')}`,
    ops: [promotionEvent(deps, 'Promotion Wave Started', next, { wave, targets, reason: waited })],
  };
}

/**
 * A wave the environment's rollout options pause before (`rollout.waves[].pause`): instead of starting,
 * the rollout halts (by Stageline, saying why) with the parked WaveStart token; resume starts the wave.
 * Null when the wave does not pause. Resume answers the token and starts the wave itself, so a paused
 * wave pauses once.
 */
export function pausedBefore(cur: Promotion, wave: number, now: Date, token: string) {
  if (!cur.rollout?.waves.find((w) => w.wave === wave)?.pause) return null;
  const reason = `wave ${wave} of ${cur.rollout.waves.length} is planned to pause before it starts: resume to start it`;
  const halted = { by: ENGINE.name, at: now.toISOString(), reason };
  return {
    next: patched(cur, now, { taskToken: token, rollout: { ...cur.rollout, waiting: null, halted } }),
    action: 'promotion.halt',
    by: ENGINE,
    reason,
    ops: [] as WriteOp[],
  };
}

const describeWindows = (ws: readonly StartWindow[]) => ws.map((w) => `${w.days.join(',')} ${w.start}-${w.end} ${w.timezone}`).join('; ');

/** The release as one target runs it: for a config, the environment's head with the promotion's changes; for an artifact, its version. */
async function releaseFor(deps: Deps, p: Promotion, env: Environment): Promise<Pick<TargetHead, 'snapshot' | 'artifact' | 'base' | 'subject'>> {
  if (p.subject.type === 'artifact') {
    const ptr = await deps.store.getPointer(p.tenant, env.name, p.subject.name);
    return {
      subject: artifactSubject(p.subject.name),
      artifact: { name: p.subject.name, version: p.subject.version, digest: p.subject.digest },
      base: ptr?.version_ ?? 0,
    };
  }
  const snap = await deps.store.getSnapshot(p.tenant, p.sourceEnvironment, p.subject.sourceSnapshot.seq);
  if (!snap) throw new PromotionFailed('source snapshot is gone');
  const source = memoSource(deps.store.nodes(p.tenant));
  const { changes } = await configChanges(source, env.head.roots, snap.roots, p.subject);
  const sink = new NodeSink();
  const roots: Roots = { ...env.head.roots };
  for (const kind of ['config', 'flag'] as const) {
    const mine = changes.filter((c) => c.kind === kind);
    if (mine.length) roots[kind] = await applyChanges(source, roots[kind], new Map(mine.map((c) => [c.key, c.entry])), sink);
  }
  await deps.store.putNodes(p.tenant, sink.nodes);
  return { subject: configSubject, snapshot: { seq: env.head.seq + 1, digest: rootsDigest(roots), roots }, base: env.head.seq };
}

/**
 * TargetApply (a task-token wait, once per target): changes the target (its head, its item, its
 * deployment record, in one transaction), then the confirmation: immediate answers the token at once,
 * callback keeps it on the target's item for the deployer (POST .../targets/{target}/confirm), health
 * fails it with CheckHealth, which the flow catches into its bounded poll.
 */
export async function targetApplyStep(
  deps: With<'workflow' | 'git' | 'registry'>,
  tenant: string,
  id: string,
  name: string,
  token: string,
): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING' || !p.rollout) {
    await deps.workflow.sendTaskFailure(token, 'RolloutStopped', `promotion is ${p.status}`);
    return { next: 'done' };
  }
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  const target = env ? targetsOf(env).find((t) => t.name === name) : undefined;
  if (!env || !target) throw new PromotionFailed(`target '${name}' of '${p.targetEnvironment}' no longer exists`);
  const wave = p.rollout.waves.find((w) => w.targets.includes(name))?.wave ?? 0;
  const mode = target.confirm.mode;
  let item = await deps.store.getRolloutTarget(tenant, id, name);
  if (!item) {
    const now = deps.clock();
    const at = now.toISOString();
    const release = await releaseFor(deps, p, env);
    const ptr = p.subject.type === 'artifact' ? await deps.store.getPointer(tenant, env.name, p.subject.name) : null;
    const own = await deps.store.getTargetHead(tenant, env.name, name, release.subject);
    const deploymentId = randomUUID();
    const deadline = new Date(now.getTime() + confirmSeconds(target) * 1000).toISOString();
    const before: RolloutTarget['before'] =
      p.subject.type === 'artifact'
        ? own && own.base === release.base && own.artifact
          ? { version: own.artifact.version, digest: own.artifact.digest }
          : ptr
            ? { version: ptr.version, digest: ptr.digest }
            : null
        : { seq: env.head.seq, digest: env.head.digest };
    // Delivery per target (artifact promotions): its registry tag and its own git file, before its transaction.
    const delivered = await deliverTarget(deps, p, env, before, { target: name, wave });
    item = {
      promotionId: id,
      name,
      wave,
      state: mode === 'immediate' ? 'BAKING' : 'CONFIRMING',
      before,
      appliedAt: at,
      deploymentId,
      confirm: mode === 'immediate' ? { mode, at, by: ENGINE.name, detail: 'served by Stageline' } : { mode, deadline },
      taskToken: mode === 'callback' ? token : null,
      bake: mode === 'immediate' ? bakeWindow(p, env, name, now) : null,
      alarm: null,
      error: null,
      rolledBackAt: null,
      ...(delivered.git ? { git: delivered.git } : {}),
      ...(delivered.registry ? { registry: delivered.registry } : {}),
      version: 1,
      updatedAt: at,
    };
    const head: TargetHead = { environment: env.name, target: name, ...release, promotionId: id, wave, updatedAt: at, version: (own?.version ?? 0) + 1 };
    const dep = {
      id: deploymentId,
      environment: env.name,
      target: name,
      imageTag: p.subject.type === 'artifact' ? p.subject.version : `${env.name}@${release.snapshot!.seq}`,
      gitCommit: delivered.git?.commit ?? '',
      gitBranch: '',
      ...(p.subject.type === 'artifact' ? { artifact: p.subject.name } : {}),
      status: 'DEPLOYED' as const,
      deployedAt: at,
      completedAt: at,
      promotionId: id,
      digest: p.subject.type === 'artifact' ? p.subject.digest : release.snapshot!.digest,
      deployedBy: p.requestedBy.name,
    };
    const audit = auditEntry(
      tenant,
      {
        ...auditDraft(
          { principal: ENGINE },
          p,
          'promotion.target.apply',
          null,
          `${name}:${dep.digest}`,
          `wave ${wave}: ${name} changed (${mode} confirmation)`,
        ),
      },
      now,
    );
    try {
      await deps.store.commit(tenant, [
        { kind: 'targetHead', head, expectedVersion: own ? own.version : null },
        { kind: 'rolloutTarget', target: item, expectedVersion: null },
        deploymentOp(dep, null, at),
        { kind: 'audit', entry: audit },
        targetApplied(deps, p, item, dep),
      ]);
    } catch (err) {
      // Another run of this step wrote it first (a retried execution): go on from what it wrote.
      const again = await deps.store.getRolloutTarget(tenant, id, name);
      if (!again) throw err;
      item = again;
    }
  } else if (item.state === 'CONFIRMING' && mode === 'callback' && item.taskToken !== token) {
    // This run's token replaces an earlier run's.
    await deps.store.commit(tenant, [
      {
        kind: 'rolloutTarget',
        target: { ...item, taskToken: token, version: item.version + 1, updatedAt: deps.clock().toISOString() },
        expectedVersion: item.version,
      },
    ]);
    return { next: 'await-approval' };
  }
  if (item.state === 'ROLLED_BACK' || item.state === 'FAILED') {
    await deps.workflow.sendTaskFailure(token, 'RolloutStopped', `target ${name} is ${item.state}`);
    return { next: 'done' };
  }
  if (item.state === 'CONFIRMING' && mode === 'callback') return { next: 'await-approval' };
  if (item.state === 'CONFIRMING' && mode === 'health') {
    await deps.workflow.sendTaskFailure(token, 'CheckHealth', `poll ${name} until it is healthy`);
    return { next: 'execute' };
  }
  await deps.workflow.sendTaskSuccess(token, { target: name });
  return { next: 'execute' };
}

/**
 * `Promotion Target Applied` (webhook `promotion.target_applied`), in the transaction that changes the target: which
 * target of which wave runs what now, how it confirms — for a callback, by when and the path the deployer answers
 * (`POST /api/v1/promotions/{id}/targets/{target}/confirm`) — and what was delivered for it.
 */
function targetApplied(deps: Deps, p: Promotion, item: RolloutTarget, dep: { imageTag: string; digest: string }): WriteOp {
  const c = item.confirm!;
  return promotionEvent(deps, 'Promotion Target Applied', p, {
    target: item.name,
    wave: item.wave,
    version: dep.imageTag,
    digest: dep.digest,
    confirm: {
      mode: c.mode,
      ...(c.deadline ? { deadline: c.deadline } : {}),
      ...(c.mode === 'callback' ? { url: `/api/v1/promotions/${encodeURIComponent(p.id)}/targets/${encodeURIComponent(item.name)}/confirm` } : {}),
    },
    ...(item.git ? { git: { file: item.git.file, commit: item.git.commit, changed: item.git.changed } } : {}),
    ...(item.registry ? { registry: { registry: item.registry.registry, tag: item.registry.tag, digest: item.registry.digest } } : {}),
  });
}

/**
 * The deployer confirms a target (POST /promotions/{id}/targets/{target}/confirm): 404 for a promotion or
 * target that is not the rollout's, 409 when the target does not wait for a confirmation (not yet changed,
 * confirmed already, or past its deadline: then the flow rolls back).
 */
export async function confirmTarget(deps: With<'workflow'>, ctx: Ctx, id: string, name: string, note?: string): Promise<RolloutTarget> {
  const { tenant } = ctx.principal;
  const p = await loadPromotion(deps, tenant, id);
  if (!p.rollout || !p.rollout.waves.some((w) => w.targets.includes(name))) {
    throw new TargetNotFound(p.targetEnvironment, name, p.rollout?.waves.flatMap((w) => w.targets) ?? []);
  }
  if (p.status !== 'EXECUTING') throw new TransitionNotAllowed(`Promotion ${id} is ${p.status}: there is nothing to confirm`);
  const item = await deps.store.getRolloutTarget(tenant, id, name);
  if (!item || item.state !== 'CONFIRMING' || item.confirm?.mode !== 'callback' || !item.taskToken) {
    throw new TransitionNotAllowed(
      item
        ? `Target '${name}' is ${item.state}${item.confirm?.at ? ` (confirmed ${item.confirm.at} by ${item.confirm.by})` : ''}: it does not wait for a confirmation`
        : `Target '${name}' has not been changed yet (its wave has not started): confirm it once it is`,
    );
  }
  const now = deps.clock();
  if (item.confirm.deadline && now.getTime() > new Date(item.confirm.deadline).getTime()) {
    throw new TransitionNotAllowed(`The confirmation of '${name}' was due by ${item.confirm.deadline}: too late, the rollout rolls back`);
  }
  const at = now.toISOString();
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  const next: RolloutTarget = {
    ...item,
    state: 'BAKING',
    bake: bakeWindow(p, env, name, now),
    confirm: { ...item.confirm, at, by: ctx.principal.name, ...(note ? { detail: note.slice(0, 500) } : {}) },
    taskToken: null,
    version: item.version + 1,
    updatedAt: at,
  };
  const audit = auditEntry(tenant, auditDraft(ctx, p, 'promotion.target.confirm', `${name}:CONFIRMING`, `${name}:BAKING`, note), now);
  await deps.store.commit(tenant, [
    { kind: 'rolloutTarget', target: next, expectedVersion: item.version },
    { kind: 'audit', entry: audit },
  ]);
  await deps.workflow.sendTaskSuccess(item.taskToken, { target: name, confirmedBy: ctx.principal.name });
  return next;
}

/** TargetBaked: the bake is over; the target's monitors are read once more (one in ALARM, or a read that fails, fails the rollout). */
export async function targetBakedStep(deps: With<'alarms'>, tenant: string, id: string, name: string, bakeSeconds: number): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING') throw new PromotionFailed(`the rollout stopped: promotion is ${p.status}`);
  const item = await deps.store.getRolloutTarget(tenant, id, name);
  if (!item || item.state === 'ROLLED_BACK' || item.state === 'FAILED') throw new PromotionFailed(`target ${name} is ${item?.state ?? 'not changed'}`);
  if (item.state === 'DONE') return { next: 'done' };
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  const arns = env ? targetMonitors(env, name) : [];
  const now = deps.clock();
  const from = new Date(now.getTime() - bakeSeconds * 1000).toISOString();
  let firing: MonitorAlarm | null = null;
  let why: string | null = null;
  if (arns.length) {
    const foreign = arns.map((a) => monitorRefusal(tenant, a)).filter(Boolean);
    let states: AlarmState[] = [];
    if (foreign.length) why = `the monitors of '${name}' could not be checked: ${foreign.join('; ')}`;
    else {
      try {
        states = await deps.alarms.states(arns);
        why = monitorsBlock(arns, states);
      } catch (err) {
        why = `the monitors of '${name}' could not be read (fail closed): ${(err as Error).message}`;
      }
    }
    const s = states.find((x) => x.state === 'ALARM' && arns.includes(x.arn));
    if (s) firing = { arn: s.arn, name: s.name, reason: (s.reason ?? '').slice(0, 500), at: s.updatedAt ?? now.toISOString() };
  }
  const at = now.toISOString();
  const next: RolloutTarget = {
    ...item,
    state: why ? 'FAILED' : 'DONE',
    bake: { from: item.bake?.from ?? from, until: at, monitors: arns },
    ...(firing ? { alarm: firing } : {}),
    ...(why ? { error: why.slice(0, 500) } : {}),
    version: item.version + 1,
    updatedAt: at,
  };
  await deps.store.commit(tenant, [{ kind: 'rolloutTarget', target: next, expectedVersion: item.version }]);
  if (why) throw new PromotionFailed(`target '${name}' failed its bake: ${why}`);
  return { next: 'done' };
}

/**
 * A monitored alarm went to ALARM while a rollout is under way: every target that watches it (its own
 * monitors, or the environment's when it has none) and has been changed records it, and the rollout
 * stops and rolls back at once (the flow's next step finds the promotion finished). False when no
 * changed target of the promotion watches the alarm.
 */
export async function rolloutAlarm(deps: Deps, p: Promotion, alarm: MonitorAlarm, failNow: (message: string) => Promise<unknown>): Promise<boolean> {
  if (p.status !== 'EXECUTING' || !p.rollout) return false;
  const env = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  if (!env) return false;
  const items = await deps.store.listRolloutTargets(p.tenant, p.id);
  const hit = items.filter((t) => t.appliedAt && t.state !== 'ROLLED_BACK' && targetMonitors(env, t.name).includes(alarm.arn));
  if (!hit.length) return false;
  const at = deps.clock().toISOString();
  for (const t of hit) {
    await deps.store.commit(p.tenant, [
      {
        kind: 'rolloutTarget',
        target: { ...t, alarm, state: t.state === 'DONE' ? t.state : 'FAILED', version: t.version + 1, updatedAt: at },
        expectedVersion: t.version,
      },
    ]);
  }
  await writePromotion(deps, p.tenant, p.id, (cur) =>
    cur.status !== 'EXECUTING' || cur.monitorAlarm
      ? null
      : {
          next: patched(cur, at, { monitorAlarm: alarm }),
          action: 'promotion.alarm',
          by: ENGINE,
          reason: `monitor '${alarm.name}' of ${hit.map((t) => t.name).join(', ')} went to ALARM`,
        },
  );
  await failNow(
    `monitor '${alarm.name}' of ${hit.map((t) => `${t.name} (wave ${t.wave})`).join(', ')} went to ALARM at ${alarm.at}${alarm.reason ? ` (${alarm.reason})` : ''}`,
  );
  return true;
}

/** RolloutComplete: every wave done; the environment's head moves to the release in one transaction and the promotion completes. */
export async function rolloutCompleteStep(deps: With<'git' | 'registry' | 'scheduler' | 'workflow'>, tenant: string, id: string): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING' || !p.rollout) return { next: 'done' };
  const items = await deps.store.listRolloutTargets(tenant, id);
  const names = p.rollout.waves.flatMap((w) => w.targets);
  const missing = names.filter((n) => items.find((t) => t.name === n)?.state !== 'DONE');
  if (missing.length) throw new PromotionFailed(`not every target is confirmed and baked: ${missing.join(', ')}`);
  await completeRollout(deps, tenant, id, names);
  return { next: 'done' };
}

/** Halt: the release manager stops the rollout before its next wave; what is done stays. 409 for a promotion that is not rolling out. */
export async function haltRollout(deps: Deps, ctx: Ctx, id: string, reason: string): Promise<Promotion> {
  const me: Actor = { id: ctx.principal.id, name: ctx.principal.name };
  const { after } = await writePromotion(deps, ctx.principal.tenant, id, (cur) => {
    if (!cur.rollout) throw new TransitionNotAllowed(`Promotion ${id} does not roll out through targets: there are no waves to halt`);
    if (cur.status !== 'EXECUTING') throw new TransitionNotAllowed(`Promotion ${id} is ${cur.status}: only a rollout in progress can be halted`);
    if (cur.rollout.halted) return null;
    const halted = { by: me.name, at: deps.clock().toISOString(), reason };
    return { next: patched(cur, deps.clock(), { rollout: { ...cur.rollout, halted } }), action: 'promotion.halt', by: me, reason, requestId: ctx.requestId };
  });
  return after ?? (await loadPromotion(deps, ctx.principal.tenant, id));
}

/**
 * Resume: clears the halt, nothing more. A wave parked by the halt then starts through the same check as any
 * wave start (waveGate: freeze windows, break-glass, start windows): at once when it passes; otherwise the
 * parked WaveStart task is handed back (`WaveRecheck`, which the flow retries), so WaveStart itself checks the
 * wave again, says why it waits and until when, and schedules the next look.
 */
export async function resumeRollout(deps: With<'workflow'>, ctx: Ctx, id: string, reason?: string): Promise<Promotion> {
  const me: Actor = { id: ctx.principal.id, name: ctx.principal.name };
  const { tenant } = ctx.principal;
  const read = await loadPromotion(deps, tenant, id);
  const env = await deps.store.getEnvironment(tenant, read.targetEnvironment);
  const now = deps.clock();
  const gate = read.rollout ? await waveGate(deps, read, env, parkedWave(read.rollout), now) : ({ open: true } as const);
  let token: string | null = null;
  let waits: string | null = null;
  const { after, before } = await writePromotion(
    deps,
    tenant,
    id,
    (cur) => {
      token = null;
      waits = null;
      if (!cur.rollout) throw new TransitionNotAllowed(`Promotion ${id} does not roll out through targets: there is nothing to resume`);
      if (cur.status !== 'EXECUTING') throw new TransitionNotAllowed(`Promotion ${id} is ${cur.status}: only a halted rollout can be resumed`);
      if (!cur.rollout.halted) throw new TransitionNotAllowed(`Promotion ${id} is not halted`);
      token = cur.taskToken;
      const resumed = {
        next: patched(cur, now, { taskToken: null, rollout: { ...cur.rollout, halted: null } }),
        action: 'promotion.resume',
        by: me,
        reason,
      };
      // No WaveStart task parked: the halt is cleared and the next WaveStart checks the wave as usual.
      if (!token) return { ...resumed, requestId: ctx.requestId };
      const wave = parkedWave(cur.rollout);
      if (!gate.open) {
        // The halt is cleared; the wave still may not start: it says why, and WaveStart takes it from here.
        waits = gate.reason;
        const waiting = { reason: gate.reason, until: gate.until, for: gate.for };
        return {
          next: patched(cur, now, { taskToken: null, rollout: { ...cur.rollout, halted: null, waiting } }),
          action: 'promotion.resume',
          by: me,
          reason: `${reason ? `${reason}; ` : ''}${gate.reason}`,
          requestId: ctx.requestId,
        };
      }
      // A WaveStart task parked by the halt is answered now: its wave starts (and says so) with the resume.
      const why = `it waited for a resume: halted by ${cur.rollout.halted.by}, resumed by ${me.name}${reason ? ` (${reason})` : ''}`;
      const start = waveStarted(deps, cur, wave, now, { halted: null }, why);
      return { ...resumed, next: start.next, reason: reason ?? start.reason, requestId: ctx.requestId, ops: start.ops };
    },
    { read },
  );
  if (token && waits) await deps.workflow.sendTaskFailure(token, 'WaveRecheck', waits);
  else if (token) await deps.workflow.sendTaskSuccess(token, { resumed: true, wave: before.rollout?.wave ?? 0 });
  return after!;
}

export type { WriteOp };

/**
 * TargetHealth (confirmation mode `health`): one poll of the target's health URL through the guarded
 * outbound client. The expected status confirms the target (then it bakes); another answer before the
 * deadline throws NotHealthy, which the flow catches into a wait of the target's interval and polls again;
 * past the deadline the rollout fails (and rolls back).
 */
export async function targetHealthStep(deps: With<'probe'>, tenant: string, id: string, name: string): Promise<{ next: Next }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'EXECUTING') throw new PromotionFailed(`the rollout stopped: promotion is ${p.status}`);
  const [env, item] = await Promise.all([deps.store.getEnvironment(tenant, p.targetEnvironment), deps.store.getRolloutTarget(tenant, id, name)]);
  const target = env ? targetsOf(env).find((t) => t.name === name) : undefined;
  if (!item || !target || target.confirm.mode !== 'health') throw new PromotionFailed(`target '${name}' does not confirm by a health URL`);
  if (item.state !== 'CONFIRMING') return { next: 'execute' };
  const now = deps.clock();
  const got = await deps.probe.check(target.confirm.url, 5000);
  if (got.status === target.confirm.expectStatus) {
    const at = now.toISOString();
    await deps.store.commit(tenant, [
      {
        kind: 'rolloutTarget',
        target: {
          ...item,
          state: 'BAKING',
          bake: bakeWindow(p, env, name, now),
          confirm: { ...item.confirm!, at, by: ENGINE.name, detail: `HTTP ${got.status}` },
          version: item.version + 1,
          updatedAt: at,
        },
        expectedVersion: item.version,
      },
    ]);
    return { next: 'execute' };
  }
  const seen = got.status === null ? (got.error ?? 'no answer') : `HTTP ${got.status}`;
  if (item.confirm?.deadline && now.getTime() >= new Date(item.confirm.deadline).getTime()) {
    throw new PromotionFailed(`target '${name}' was not healthy by ${item.confirm.deadline} (last answer: ${seen})`);
  }
  throw new NotHealthy(`target '${name}' is not healthy yet (${seen})`);
}

/** The target's health URL did not answer as expected yet: the flow waits its interval and polls again. */
export class NotHealthy extends Error {
  override readonly name = 'NotHealthy';
}
