import { deploymentOp } from '../../artifacts/deployments.ts';
import { randomUUID } from 'node:crypto';
import { rootsDigest } from '../../config/commit.ts';
import { artifactSubject, configSubject, targetsOf } from '../../config/targets.ts';
import { applyChanges, memoSource, NodeSink } from '../../config/tree.ts';
import { auditEntry } from '../../audit/audit.ts';
import type { Environment, Roots, TargetHead } from '../../kernel/model.ts';
import type { ConfigSubject, Promotion, RolloutTarget } from '../../kernel/promotion-model.ts';
import type { Deps, WriteOp, With } from '../../kernel/deps.ts';
import { isPolled } from '../../kernel/target-schemas.ts';
import { ENGINE } from '../aggregate.ts';
import { WriteConflict } from '../../kernel/retry.ts';
import { type Next } from '../terms/deadlines.ts';
import { bundleConfigSubject, configChanges } from '../terms/release.ts';
import { PromotionFailed } from '../deliver/target-change.ts';
import { deliverTarget } from '../deliver/target-delivery.ts';
import { registriesOf } from '../../kernel/rollout-model.ts';
import { auditDraft, loadPromotion, promotionEvent } from '../write.ts';
import { confirmSeconds } from './plan.ts';
import { bakeWindow } from './bake.ts';
import { POLLED_MODES } from '../../kernel/target-schemas.ts';
import { planWaveOf } from '../terms/stored-plan.ts';

/**
 * A target is applied (TargetApply): its own head, its registry tags and git delivery, and how it is confirmed.
 */

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
  if (p.subject.type === 'bundle') throw new PromotionFailed('a bundle changes a target through bundleHeadsFor');
  return configHeadFor(deps, p, env, p.subject, p.sourceEnvironment);
}

/** A target's config head with a selection applied: the environment's head and the changes from `from`'s snapshot. */
async function configHeadFor(
  deps: Deps,
  p: Promotion,
  env: Environment,
  subject: ConfigSubject,
  from: string,
): Promise<Pick<TargetHead, 'snapshot' | 'artifact' | 'base' | 'subject'>> {
  const snap = await deps.store.getSnapshot(p.tenant, from, subject.sourceSnapshot.seq);
  if (!snap) throw new PromotionFailed('source snapshot is gone');
  const source = memoSource(deps.store.nodes(p.tenant));
  const { changes } = await configChanges(source, env.head.roots, snap.roots, subject);
  const sink = new NodeSink();
  const roots: Roots = { ...env.head.roots };
  for (const kind of ['config', 'flag'] as const) {
    const mine = changes.filter((c) => c.kind === kind);
    if (mine.length) roots[kind] = await applyChanges(source, roots[kind], new Map(mine.map((c) => [c.key, c.entry])), sink);
  }
  await deps.store.putNodes(p.tenant, sink.nodes);
  return { subject: configSubject, snapshot: { seq: env.head.seq + 1, digest: rootsDigest(roots), roots }, base: env.head.seq };
}

type HeadRelease = Pick<TargetHead, 'snapshot' | 'artifact' | 'base' | 'subject'>;

/**
 * A bundle on one target: a head per member the target does not run yet (what it ran before is kept on the target's
 * item, put back together on a rollback) and its configuration head; each head names the bundle.
 */
async function bundleHeadsFor(deps: Deps, p: Promotion & { subject: { type: 'bundle' } }, env: Environment, name: string) {
  const b = p.subject;
  const heads: { own: TargetHead | null; head: HeadRelease }[] = [];
  const members: NonNullable<RolloutTarget['members']> = [];
  for (const m of b.members) {
    const subject = artifactSubject(m.name);
    const [ptr, own] = await Promise.all([deps.store.getPointer(p.tenant, env.name, m.name), deps.store.getTargetHead(p.tenant, env.name, name, subject)]);
    const base = ptr?.version_ ?? 0;
    const runs = own && own.base === base && own.artifact ? own.artifact : ptr ? { version: ptr.version, digest: ptr.digest } : null;
    if (runs?.digest === m.digest) continue;
    members.push({ name: m.name, before: runs ? { version: runs.version, digest: runs.digest } : null });
    heads.push({ own, head: { subject, artifact: { name: m.name, version: m.version, digest: m.digest }, base } });
  }
  if (b.config) {
    const head = await configHeadFor(deps, p, env, bundleConfigSubject(b.config), b.config.environment);
    heads.push({ own: await deps.store.getTargetHead(p.tenant, env.name, name, configSubject), head });
  }
  return { heads, members };
}

/**
 * TargetApply (a task-token wait, once per target): changes the target (its head, its item, its
 * deployment record, in one transaction), then the confirmation: immediate answers the token at once,
 * callback keeps it on the target's item for the deployer (POST .../targets/{target}/confirm), a polled mode
 * (health, argocd, flux, fleet: isPolled) fails it with CheckHealth, which the flow catches into its bounded poll.
 */
export async function targetApplyStep(
  deps: With<'workflow' | 'git' | 'registry'>,
  tenant: string,
  id: string,
  name: string,
  token: string,
): Promise<{ next: Next }> {
  // A target changes only while the rollout goes on and its wave has started: the change is written conditioned on
  // the promotion as read here, so a decision to stop written since (rollback.ts) makes it lose, and it reads again.
  let p: Promotion;
  let item: RolloutTarget | null;
  let lost = 0;
  for (;;) {
    p = await loadPromotion(deps, tenant, id);
    const stopped = stoppedFor(p, name, await planWaveOf(deps.store, p, name));
    if (stopped) {
      await deps.workflow.sendTaskFailure(token, 'RolloutStopped', stopped);
      return { next: 'done' };
    }
    item = await deps.store.getRolloutTarget(tenant, id, name);
    if (item) break;
    try {
      item = await changeTarget(deps, p, name, token);
      break;
    } catch (err) {
      // Another run of this step wrote it first (a retried execution): go on from what it wrote.
      const again = await deps.store.getRolloutTarget(tenant, id, name);
      if (again) {
        item = again;
        break;
      }
      // The promotion was written since it was read (a decision to stop, a halt): read it again and decide again.
      if (!(err instanceof WriteConflict) || ++lost > 10) throw err;
    }
  }
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  const target = env ? targetsOf(env).find((t) => t.name === name) : undefined;
  if (!env || !target) throw new PromotionFailed(`target '${name}' of '${p.targetEnvironment}' no longer exists`);
  const mode = target.confirm.mode;
  if (item.state === 'CONFIRMING' && mode === 'callback' && item.taskToken !== token) {
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
  if (item.state === 'CONFIRMING' && isPolled(target.confirm)) {
    await deps.workflow.sendTaskFailure(token, 'CheckHealth', `poll ${name} (${mode}) until it confirms`);
    return { next: 'execute' };
  }
  await deps.workflow.sendTaskSuccess(token, { target: name });
  return { next: 'execute' };
}

/**
 * Why a target of the rollout may not change now (null: it may): the promotion no longer executes, the flow decided
 * to stop, or the target's wave has not started (a step of a wave that never began).
 */
export function stoppedFor(p: Promotion, name: string, wave: number | undefined): string | null {
  if (p.status !== 'EXECUTING' || !p.rollout) return `promotion is ${p.status}`;
  if (p.rollout.stopping) return `the rollout stopped: ${p.rollout.stopping.reason}`;
  if (wave === undefined) return `'${name}' is no target of this rollout`;
  if (p.rollout.wave < wave) return `wave ${wave} of '${name}' has not started (the rollout is at wave ${p.rollout.wave})`;
  return null;
}

/**
 * The change of one target, in one transaction conditioned on the promotion's version as `p` says: its head(s), its
 * item, its deployment record, its audit entry (unless `audit: false`: a child wave audits the wave once) and its
 * event (its git file and registry tag are delivered before). `byWave`: the target of a child wave, whose callback
 * waits on no task token (its wave's confirm loop reads the confirmation).
 */
export async function changeTarget(
  deps: With<'git' | 'registry'>,
  p: Promotion,
  name: string,
  token: string,
  opts: { audit?: boolean; byWave?: boolean } = {},
): Promise<RolloutTarget> {
  const tenant = p.tenant;
  const id = p.id;
  const env = await deps.store.getEnvironment(tenant, p.targetEnvironment);
  const target = env ? targetsOf(env).find((t) => t.name === name) : undefined;
  if (!env || !target) throw new PromotionFailed(`target '${name}' of '${p.targetEnvironment}' no longer exists`);
  const wave = (await planWaveOf(deps.store, p, name)) ?? 0;
  const mode = target.confirm.mode;
  const now = deps.clock();
  const at = now.toISOString();
  const bundle = p.subject.type === 'bundle' ? await bundleHeadsFor(deps, p as Promotion & { subject: { type: 'bundle' } }, env, name) : null;
  const release = bundle ? null : await releaseFor(deps, p, env);
  const ptr = p.subject.type === 'artifact' ? await deps.store.getPointer(tenant, env.name, p.subject.name) : null;
  const own = release ? await deps.store.getTargetHead(tenant, env.name, name, release.subject) : null;
  const deploymentId = randomUUID();
  const deadline = new Date(now.getTime() + confirmSeconds(target) * 1000).toISOString();
  const before: RolloutTarget['before'] = !release
    ? null
    : p.subject.type === 'artifact'
      ? own && own.base === release.base && own.artifact
        ? { version: own.artifact.version, digest: own.artifact.digest }
        : ptr
          ? { version: ptr.version, digest: ptr.digest }
          : null
      : { seq: env.head.seq, digest: env.head.digest };
  // Delivery per target (artifact promotions): its registry tag and its own git file, before its transaction.
  const delivered = await deliverTarget(deps, p, env, before, { target: name, wave }, bundle?.members);
  const item: RolloutTarget = {
    promotionId: id,
    name,
    wave,
    state: mode === 'immediate' ? 'BAKING' : 'CONFIRMING',
    before,
    appliedAt: at,
    appliedOn: p.version,
    deploymentId,
    confirm:
      mode === 'immediate'
        ? { mode, at, by: ENGINE.name, detail: 'served by Stageline' }
        : { mode, deadline, ...(mode === 'callback' && opts.byWave ? { byWave: true as const } : {}) },
    taskToken: mode === 'callback' && !opts.byWave ? token : null,
    bake: mode === 'immediate' ? bakeWindow(p, env, name, wave, now) : null,
    alarm: null,
    error: null,
    rolledBackAt: null,
    ...(bundle ? { members: delivered.members } : {}),
    ...(delivered.git ? { git: delivered.git } : {}),
    ...(delivered.registry ? { registry: delivered.registry } : {}),
    version: 1,
    updatedAt: at,
  };
  const headOf = (r: HeadRelease, was: TargetHead | null): WriteOp => ({
    kind: 'targetHead',
    head: {
      environment: env.name,
      target: name,
      ...r,
      promotionId: id,
      wave,
      updatedAt: at,
      version: (was?.version ?? 0) + 1,
      ...(p.subject.type === 'bundle' ? { bundle: { name: p.subject.name, digest: p.subject.digest } } : {}),
    },
    expectedVersion: was ? was.version : null,
  });
  const heads = bundle ? bundle.heads.map((h) => headOf(h.head, h.own)) : [headOf(release!, own)];
  const dep = {
    id: deploymentId,
    environment: env.name,
    target: name,
    imageTag:
      p.subject.type === 'artifact'
        ? p.subject.version
        : p.subject.type === 'bundle'
          ? `${p.subject.name}@${p.subject.digest.slice(7, 19)}`
          : `${env.name}@${release!.snapshot!.seq}`,
    gitCommit: delivered.git?.commit ?? '',
    gitBranch: '',
    ...(p.subject.type === 'artifact' ? { artifact: p.subject.name } : {}),
    status: 'DEPLOYED' as const,
    deployedAt: at,
    completedAt: at,
    promotionId: id,
    digest: p.subject.type === 'config' ? release!.snapshot!.digest : p.subject.digest,
    deployedBy: p.requestedBy.name,
  };
  const audit = auditEntry(
    tenant,
    {
      ...auditDraft({ principal: ENGINE }, p, 'promotion.target.apply', null, `${name}:${dep.digest}`, `wave ${wave}: ${name} changed (${mode} confirmation)`),
    },
    now,
  );
  await deps.store.commit(tenant, [
    ...heads,
    { kind: 'rolloutTarget', target: item, expectedVersion: null, promotionVersion: p.version },
    deploymentOp(dep, null, at),
    // A child wave's targets are audited as one entry per wave (rollout/wave-run.ts), not one per target.
    ...(opts.audit === false ? [] : [{ kind: 'audit' as const, entry: audit }]),
    targetApplied(deps, p, item, dep),
  ]);
  return item;
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
    ...(registriesOf(item).length
      ? { registries: registriesOf(item).map((r) => ({ artifact: r.artifact, registry: r.registry, tag: r.tag, digest: r.digest })) }
      : {}),
  });
}
