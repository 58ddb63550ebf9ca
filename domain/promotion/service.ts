import { randomBytes } from 'node:crypto';
import { awsName } from '../aws-names.ts';
import { auditEntry } from '../audit.ts';
import { inGroups, requireRole, type Principal } from '../auth.ts';
import { digestOf } from '../canonical.ts';
import {
  AlreadyExists,
  ArtifactNotFound,
  DeploymentNotFound,
  EnvironmentNotFound,
  SnapshotNotFound,
  NotAnApprover,
  PromotionNotFound,
  RuleViolation,
  SelfApprovalForbidden,
  TargetBusy,
  TransitionNotAllowed,
  ValidationFailed,
} from '../errors.ts';
import type { AuditDraft } from '../audit.ts';
import type { ActedVia, Environment } from '../model.ts';
import type { Ctx, Deps, WriteOp } from '../ports.ts';
import { retryOnConflict } from '../retry.ts';
import { memoSource } from '../tree.ts';
import { eventOp, type EventType } from './events.ts';
import { evaluateGates } from './gates.ts';
import { assertAction, assertTransition, isTerminal, type Status } from './lifecycle.ts';
import type { Actor, Approval, Evidence, Promotion, Subject } from './model.ts';
import { checkForward, contentChoosers, evidenceAccepted, GO_WAIT_SECONDS, lineOf, pendingExpirySeconds, policyDigest, resolvePolicy } from './policy.ts';
import { changeSummary, changeView, configChanges } from './release.ts';
import { armSweep, sweepGraceSeconds } from './sweep.ts';
import { approvalDeadline, validationDeadline } from './deadlines.ts';
import { freezeOverridden, requestedBreakGlass, type BreakGlassUse } from '../break-glass.ts';
import { breakGlassEvent } from '../items.ts';
import { activeWindow, activeWindowOf, nextAllowed, occurrenceView, upcomingWindowOf } from '../freeze.ts';
import { ownSnapshot } from '../snapshots.ts';
import type { CreateAgentPromotion, CreatePromotion, EvidenceBody, ListPromotionsQuery } from './schemas.ts';

/** Time-ordered, unguessable id. */
export function newPromotionId(now: Date): string {
  return `prm_${now.getTime().toString(36).padStart(9, '0')}${randomBytes(5).toString('hex')}`;
}

export const actorOf = (p: Principal): Actor => ({ id: p.id, name: p.name });

export function subjectLabel(s: Subject): string {
  return s.type === 'artifact' ? `${s.name}@${s.version}` : `config:${s.promotionType.toLowerCase()}@${s.sourceSnapshot.seq}`;
}

/** Evidence owners a promotion's gates read: the promotion's own and its release's. */
export function evidenceOwners(p: Pick<Promotion, 'id' | 'subject' | 'sourceEnvironment'>): string[] {
  const release = p.subject.type === 'artifact' ? `artifact:${p.subject.name}@${p.subject.version}` : `snapshot:${p.sourceEnvironment}@${p.subject.sourceSnapshot.seq}`;
  return [`promotion:${p.id}`, release];
}

export function auditDraft(ctx: Ctx | { principal: Actor & { tenant?: string } }, p: Promotion, action: string, before: string | null, after: string | null, reason?: string): AuditDraft {
  const principal = ctx.principal;
  return {
    actor: principal.id,
    actorName: principal.name,
    action,
    entityType: 'promotion',
    entityId: p.id,
    reason,
    before,
    after,
    requestId: 'requestId' in ctx ? ctx.requestId : undefined,
    ...('via' in ctx && ctx.via ? { via: ctx.via } : {}),
  };
}

/** Writes a promotion change with its audit entry in one transaction (plus any extra ops). */
export async function savePromotion(
  deps: Deps,
  actor: Actor,
  next: Promotion,
  previous: Promotion | null,
  action: string,
  extra: WriteOp[] = [],
  reason?: string,
  requestId?: string,
  /** the actor acted from Slack: the identity and link, recorded on the entry */
  via?: ActedVia,
): Promise<void> {
  const audit = auditEntry(next.tenant, {
      actor: actor.id,
      actorName: actor.name,
      action,
      entityType: 'promotion',
      entityId: next.id,
      reason,
      before: previous ? `${previous.status}:${previous.releaseDigest}` : null,
      after: `${next.status}:${next.releaseDigest}`,
      requestId,
      ...(via ? { via } : {}),
    },
    deps.clock(),
  );
  await deps.store.commit(next.tenant, [
    { kind: 'promotion', promotion: next, expectedVersion: previous ? previous.version : null, gatesChanged: next.gates !== (previous?.gates ?? null) },
    ...extra,
    { kind: 'audit', entry: audit },
  ]);
}

/** Seconds since the promotion started waiting for approval (the last time it entered AWAITING_APPROVAL). */
function approvalWait(p: Promotion, now: Date): number | undefined {
  const since = p.transitions.findLast((t) => t.status === 'AWAITING_APPROVAL')?.at;
  return since ? Math.max(0, Math.round((now.getTime() - new Date(since).getTime()) / 1000)) : undefined;
}

/** A status change through the one transition table. */
export function moved(p: Promotion, to: Status, by: Actor, now: Date, patch: Partial<Promotion> = {}): Promotion {
  assertTransition(p.status, to, p.id);
  const at = now.toISOString();
  return {
    ...p,
    ...patch,
    status: to,
    version: p.version + 1,
    updatedAt: at,
    completedAt: isTerminal(to) ? at : p.completedAt,
    transitions: [...p.transitions, { status: to, at, by: by.name }].slice(-30),
  };
}

export function promotionEvent(deps: Deps, type: EventType, p: Promotion, extra: { actor?: string; reason?: string; approvalsNeeded?: number; approverGroups?: string[]; approvalWaitSeconds?: number } = {}): WriteOp {
  return eventOp(type, p.tenant, {
    tenant: p.tenant,
    promotionId: p.id,
    status: p.status,
    sourceEnvironment: p.sourceEnvironment,
    targetEnvironment: p.targetEnvironment,
    subject: subjectLabel(p.subject),
    releaseDigest: p.releaseDigest,
    ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
    at: deps.clock().toISOString(),
  });
}

export async function loadPromotion(deps: Deps, tenant: string, id: string): Promise<Promotion> {
  const p = await deps.store.getPromotion(tenant, id);
  if (!p) throw new PromotionNotFound(id);
  return p;
}

// ---------------------------------------------------------------- create / dry-run

/** Bound to the exact release: the source content digest plus the selection. */
export function configReleaseDigest(subject: Subject & { type: 'config' }): string {
  return digestOf({ source: subject.sourceSnapshot.digest, type: subject.promotionType, configIds: subject.configIds, flagIds: subject.flagIds, keyPatterns: subject.keyPatterns });
}

interface Prepared {
  source: Environment;
  target: Environment;
  subject: Subject;
  releaseDigest: string;
  preview: Record<string, unknown>;
  changeSummary?: Promotion['changeSummary'];
}

async function prepare(deps: Deps, tenant: string, input: CreatePromotion, line: Environment[], rules: Awaited<ReturnType<Deps['store']['listRules']>>): Promise<Prepared> {
  const { source, target } = checkForward(line, rules, input.sourceEnvironment, input.targetEnvironment);
  if ('artifact' in input) {
    const [version, inSource, inTarget] = await Promise.all([
      deps.store.getArtifactVersion(tenant, input.artifact, input.version),
      deps.store.getPointer(tenant, source.name, input.artifact),
      deps.store.getPointer(tenant, target.name, input.artifact),
    ]);
    if (!version) throw new ArtifactNotFound(`${input.artifact}@${input.version} has not been published`, { artifact: input.artifact, version: input.version });
    if (!inSource || inSource.version !== input.version) {
      throw new RuleViolation(
        `${input.artifact}@${input.version} is not what '${source.name}' runs (it runs ${inSource ? inSource.version : 'nothing'}); a release is promoted from where it runs`,
      );
    }
    if (inTarget?.version === input.version) throw new RuleViolation(`'${target.name}' already runs ${input.artifact}@${input.version}`);
    const subject: Subject = { type: 'artifact', name: input.artifact, version: input.version, digest: version.digest };
    return { source, target, subject, releaseDigest: version.digest, preview: { artifact: input.artifact, from: inTarget?.version ?? null, to: input.version, digest: version.digest } };
  }
  const subject: Subject = {
    type: 'config',
    sourceSnapshot: { seq: source.head.seq, digest: source.head.digest },
    promotionType: input.promotionType,
    configIds: [...input.configIds].sort(),
    flagIds: [...input.flagIds].sort(),
    keyPatterns: [...input.keyPatterns].sort(),
  };
  const { changes, unchanged } = await configChanges(memoSource(deps.store.nodes(tenant)), target.head.roots, source.head.roots, subject);
  if (changes.length === 0) throw new RuleViolation(`Nothing to promote: '${target.name}' already has what this ${subject.promotionType} promotion would bring from '${source.name}'`);
  const releaseDigest = configReleaseDigest(subject);
  return { source, target, subject, releaseDigest, preview: { changes: changes.map(changeView), unchanged }, changeSummary: changeSummary(changes, subject) };
}

/** Seed 002's agent promotion as the artifact promotion it is: the source deployment names release and source environment. */
async function fromAgent(deps: Deps, tenant: string, input: CreateAgentPromotion): Promise<CreatePromotion & { sourceDeploymentId: string; targetGateway: string }> {
  const dep = await deps.store.findDeployment(tenant, input.sourceDeploymentId);
  if (!dep) throw new DeploymentNotFound(`Deployment '${input.sourceDeploymentId}' does not exist; source_deployment_id names a deployment record (see /platform/deployments/history)`);
  if (dep.artifact && dep.artifact !== input.agentId) {
    throw new RuleViolation(`Deployment '${dep.id}' deployed '${dep.artifact}', not '${input.agentId}'`);
  }
  if (dep.status !== 'DEPLOYED') throw new RuleViolation(`Deployment '${dep.id}' is ${dep.status}; only a DEPLOYED release is promoted`);
  const { agentId, sourceDeploymentId, targetGatewayId, ...rest } = input;
  return { ...rest, sourceEnvironment: dep.environment, artifact: agentId, version: dep.imageTag, sourceDeploymentId, targetGateway: targetGatewayId };
}

export async function createPromotion(deps: Deps, ctx: Ctx, given: CreatePromotion | CreateAgentPromotion, opts: { autoPromoted?: boolean } = {}) {
  requireRole(ctx.principal, 'deployer');
  const asked = requestedBreakGlass(ctx, 'freeze-window', 'promotion.create', deps.clock());
  const { tenant } = ctx.principal;
  const input = 'agentId' in given ? await fromAgent(deps, tenant, given) : given;
  const [envs, rules] = await Promise.all([deps.store.listEnvironments(tenant), deps.store.listRules(tenant)]);
  const line = lineOf(envs);
  // What is already on its way to the target is read beside the preparation (a dry run needs neither).
  const [prepared, active] = await Promise.all([
    prepare(deps, tenant, input, line, rules),
    input.dryRun ? Promise.resolve([]) : deps.store.activePromotions(tenant, input.targetEnvironment),
  ]);
  const policy = resolvePolicy(rules, line, prepared.source, prepared.target);
  const now = deps.clock();
  if (input.dryRun) {
    const gates = evaluateGates(prepared.target.gates, [], { violations: [] }, [], new Set());
    return {
      dryRun: true as const,
      sourceEnvironment: prepared.source.name,
      targetEnvironment: prepared.target.name,
      releaseDigest: prepared.releaseDigest,
      ...prepared.preview,
      ...(prepared.changeSummary ? { changeSummary: prepared.changeSummary } : {}),
      gates: gates.map((g) => ({ gate: g.gate, enabled: g.verdict !== 'SKIPPED', blocking: g.blocking })),
      webhookGates: (prepared.target.webhookGates ?? []).map((h) => ({ name: h.name, blocking: h.blocking })),
      approval: { required: policy.requiresApproval, approvers: policy.requiredApprovers, groups: policy.approverGroups, separationOfDuties: policy.separationOfDuties, expirySeconds: policy.approvalExpirySeconds },
      policyDigest: policyDigest(policy),
    };
  }
  const twin = active.find((a) => a.releaseDigest === prepared.releaseDigest && a.sourceEnvironment === prepared.source.name);
  if (twin) throw new AlreadyExists(`The same release is already on its way to '${prepared.target.name}' as ${twin.id} (${twin.status})`, { promotionId: twin.id });
  const mode = prepared.target.concurrency ?? 'queue';
  if (mode === 'reject' && active.length > 0) {
    throw new TargetBusy(`'${prepared.target.name}' accepts one promotion at a time and ${active[0]!.id} is ${active[0]!.status}; wait for it or cancel it`, { blockedBy: active[0]!.id });
  }
  const id = newPromotionId(now);
  const at = now.toISOString();
  const requester = actorOf(ctx.principal);
  const promotion = newPromotion({
    tenant,
    id,
    subject: prepared.subject,
    sourceEnvironment: prepared.source.name,
    targetEnvironment: prepared.target.name,
    releaseDigest: prepared.releaseDigest,
    notes: input.notes,
    requestedBy: requester,
    at,
    policy,
    trigger: input.trigger,
    autoPromoted: opts.autoPromoted ?? false,
  });
  if (prepared.changeSummary) promotion.changeSummary = prepared.changeSummary;
  if ('agentId' in given) Object.assign(promotion, { sourceDeploymentId: given.sourceDeploymentId, targetGateway: given.targetGatewayId });
  const autoStart = input.autoStart ?? true;
  if (autoStart) promotion.flowStartedAt = promotion.requestedAt;
  promotion.whenFrozen = input.whenFrozen ?? 'fail';
  // Break-glass past freeze windows: an admin's reason, bound to this release, recorded on the promotion and the environment, audited as break-glass and evented.
  const glass = asked && (await hasFreezeWindows(deps, tenant, prepared.target.name)) ? { ...asked, releaseDigest: prepared.releaseDigest } : null;
  if (glass) promotion.freezeOverride = glass;
  await retryOnConflict(async () => {
    const extra: WriteOp[] = [promotionEvent(deps, 'Promotion Requested', promotion, { actor: requester.name })];
    if (glass) extra.push(...(await freezeGlassOps(deps, tenant, prepared.target.name, glass, id)));
    await savePromotion(deps, requester, promotion, null, glass ? 'breakglass.promotion.create' : 'promotion.create', extra, glass ? `break-glass (freeze-window): ${glass.reason}` : input.notes || undefined, ctx.requestId);
  });
  if (mode === 'supersede') {
    for (const older of active.filter((p) => p.status !== 'EXECUTING')) {
      await cancelPromotion(deps, { ...ctx, principal: { ...ctx.principal, roles: [...ctx.principal.roles, 'deployer'] } }, older.id, `superseded by ${id}`).catch(() => undefined);
    }
  }
  if (autoStart) await startFlow(deps, promotion);
  // Waiting for `validate`: its deadline schedule expires it if nobody validates it in time.
  else await armSweep(deps, promotion, validationDeadline(promotion));
  return deps.store.getPromotion(tenant, id) as Promise<Promotion>;
}

/** A new PENDING promotion record (requests and rollbacks alike). */
export function newPromotion(f: {
  tenant: string;
  id: string;
  subject: Subject;
  sourceEnvironment: string;
  targetEnvironment: string;
  releaseDigest: string;
  notes: string;
  requestedBy: Actor;
  at: string;
  policy: Promotion['policy'];
  trigger: Promotion['trigger'];
  autoPromoted?: boolean;
  rollback?: Promotion['rollback'];
}): Promotion {
  return {
    tenant: f.tenant,
    id: f.id,
    subject: f.subject,
    sourceEnvironment: f.sourceEnvironment,
    targetEnvironment: f.targetEnvironment,
    status: 'PENDING',
    releaseDigest: f.releaseDigest,
    notes: f.notes,
    requestedBy: f.requestedBy,
    requestedAt: f.at,
    policy: f.policy,
    policyDigest: policyDigest(f.policy),
    approvedBy: [],
    gates: null,
    trigger: f.trigger,
    scheduledAt: null,
    taskToken: null,
    executionId: null,
    rejection: null,
    result: null,
    error: null,
    autoPromoted: f.autoPromoted ?? false,
    ...(f.rollback ? { rollback: f.rollback } : {}),
    version: 1,
    updatedAt: f.at,
    completedAt: null,
    transitions: [{ status: 'PENDING', at: f.at, by: f.requestedBy.name }],
  };
}

/** Whether freeze windows cover an environment (now or later): a break-glass past them is worth recording. */
export async function hasFreezeWindows(deps: Deps, tenant: string, env: string): Promise<boolean> {
  return (await deps.store.listFreezeWindows(tenant)).some((w) => w.scope === '*' || w.scope === env);
}

/** What a break-glass past a freeze writes besides the promotion: the environment's `lastBreakGlass` and the `Break Glass Used` event. */
export async function freezeGlassOps(deps: Deps, tenant: string, envName: string, glass: BreakGlassUse, promotionId: string): Promise<WriteOp[]> {
  const ops: WriteOp[] = [];
  const env = await deps.store.getEnvironment(tenant, envName);
  if (env) ops.push({ kind: 'environment', env: { ...env, lastBreakGlass: glass, version: env.version + 1, updatedAt: glass.at, updatedBy: glass.by }, expectedVersion: env.version });
  ops.push({ kind: 'event', event: breakGlassEvent(tenant, envName, glass, promotionId) });
  return ops;
}

/**
 * An admin's break-glass sent with an action on an existing promotion (approve, execute, schedule,
 * rebase): once the role is checked (`requestedBreakGlass`, before anything else), it is recorded on
 * the promotion for its current release when freeze windows cover the target, audited as
 * `breakglass.<action>`. Returns the promotion as it is now.
 */
export async function stampFreezeOverride(deps: Deps, ctx: Ctx, id: string, glass: BreakGlassUse | null): Promise<Promotion> {
  const { tenant } = ctx.principal;
  if (!glass) return loadPromotion(deps, tenant, id);
  return retryOnConflict(async () => {
    const p = await loadPromotion(deps, tenant, id);
    if (isTerminal(p.status) || p.status === 'EXECUTING' || !(await hasFreezeWindows(deps, tenant, p.targetEnvironment))) return p;
    const override: BreakGlassUse = { ...glass, releaseDigest: p.releaseDigest };
    const next: Promotion = { ...p, freezeOverride: override, version: p.version + 1, updatedAt: glass.at };
    const me = actorOf(ctx.principal);
    await savePromotion(deps, me, next, p, `breakglass.${glass.action}`, await freezeGlassOps(deps, tenant, p.targetEnvironment, override, id), `break-glass (freeze-window): ${glass.reason}`, ctx.requestId);
    return next;
  });
}

/** Starts (or re-starts, idempotently) the state machine for a promotion. */
export async function startFlow(deps: Deps, p: Promotion): Promise<void> {
  // Its deadline schedule: if the flow is gone, the sweeper fails the promotion with a reason (sweep.ts).
  await armSweep(deps, p, new Date(deps.clock().getTime() + sweepGraceSeconds() * 1000));
  await deps.workflow.start({ tenant: p.tenant, promotionId: p.id, ...(p.attempt ? { attempt: p.attempt } : {}) });
}

/**
 * The approval policy as the rules say NOW: resolved when validation starts, so a rule
 * tightened after the request (but before validation) applies. Returns a patch for `moved()`.
 */
export async function currentPolicy(deps: Deps, p: Promotion): Promise<Pick<Promotion, 'policy' | 'policyDigest'>> {
  if (p.rollback) return { policy: p.policy, policyDigest: p.policyDigest };
  const [envs, rules] = await Promise.all([deps.store.listEnvironments(p.tenant), deps.store.listRules(p.tenant)]);
  const line = lineOf(envs);
  const source = line.find((e) => e.name === p.sourceEnvironment);
  const target = line.find((e) => e.name === p.targetEnvironment);
  if (!source || !target) return { policy: p.policy, policyDigest: p.policyDigest };
  const policy = resolvePolicy(rules, line, source, target);
  return { policy, policyDigest: policyDigest(policy) };
}

// ---------------------------------------------------------------- reads

export async function getPromotion(deps: Deps, ctx: Ctx, id: string): Promise<Promotion> {
  requireRole(ctx.principal, 'viewer');
  return loadPromotion(deps, ctx.principal.tenant, id);
}

export async function listPromotions(deps: Deps, ctx: Ctx, q: ListPromotionsQuery, onlyConfig = false) {
  requireRole(ctx.principal, 'viewer');
  return deps.store.listPromotions(ctx.principal.tenant, { status: q.status, source: q.source, target: q.target, subject: onlyConfig ? 'config' : q.subject }, q.limit, q.cursor);
}

export function promotionView(p: Promotion) {
  return {
    id: p.id,
    status: p.status,
    waitingFor: p.taskToken ? (p.status === 'AWAITING_APPROVAL' ? ('approval' as const) : ('execution' as const)) : null,
    sourceEnvironment: p.sourceEnvironment,
    targetEnvironment: p.targetEnvironment,
    subject: p.subject,
    releaseDigest: p.releaseDigest,
    notes: p.notes,
    requestedBy: p.requestedBy,
    requestedAt: p.requestedAt,
    /** who rebased it onto its current release (chose its content; cannot approve under separation of duties) */
    rebasedBy: p.rebasedBy ?? null,
    trigger: p.trigger,
    scheduledAt: p.scheduledAt,
    whenFrozen: p.whenFrozen ?? 'fail',
    /** held by a freeze window until it ends */
    heldBy: p.heldBy ?? null,
    /** an admin's break-glass past freeze windows */
    freezeOverride: p.freezeOverride ?? null,
    monitorAlarm: p.monitorAlarm ?? null,
    policy: p.policy,
    policyDigest: p.policyDigest,
    gates: p.gates,
    approvedBy: p.approvedBy,
    rejection: p.rejection,
    result: p.result,
    error: p.error,
    autoPromoted: p.autoPromoted,
    changeSummary: p.changeSummary ?? null,
    sourceDeploymentId: p.sourceDeploymentId ?? null,
    targetGateway: p.targetGateway ?? null,
    rollback: p.rollback ?? null,
    version: p.version,
    updatedAt: p.updatedAt,
    completedAt: p.completedAt,
    transitions: p.transitions,
  };
}

/**
 * The promotion as an approver needs to see it: the view plus the approvals so far (who, when,
 * comment, whether it counts), how many are still needed, who may give them, and until when.
 */
export async function promotionDetail(deps: Deps, p: Promotion) {
  const approvals = await deps.store.listApprovals(p.tenant, p.id);
  const counted = new Set(countable(p, approvals).map((a) => a.by));
  const deadline = approvalDeadline(p);
  return {
    ...promotionView(p),
    approvals: {
      given: approvals
        .sort((a, b) => (a.at < b.at ? -1 : 1))
        .map((a) => ({
          by: a.name,
          at: a.at,
          comment: a.comment ?? null,
          counts: counted.has(a.by),
          ...(counted.has(a.by) ? {} : { why: a.digest !== p.releaseDigest ? 'given for an earlier release' : 'whoever requested or rebased it cannot approve (separation of duties)' }),
        })),
      required: p.policy.requiredApprovers,
      remaining: Math.max(0, p.policy.requiredApprovers - counted.size),
      approverGroups: p.policy.approverGroups,
      separationOfDuties: p.policy.separationOfDuties,
      expiresAt: deadline ? deadline.toISOString() : null,
    },
    // Each notification delivery: where, whether it left, and why not.
    notifications: (await deps.store.listDeliveries(p.tenant, p.id)).map((n) => ({ channel: n.channel, target: n.target, kind: n.kind, status: n.status, at: n.at, ...(n.error ? { error: n.error } : {}) })),
  };
}

// ---------------------------------------------------------------- actions

/**
 * Starts the gates: the first time from PENDING, or again from VALIDATION_FAILED once new
 * evidence arrived (a new run of the flow). A promotion left waiting past its deadline expires
 * instead (409 says so).
 */
export async function validatePromotion(deps: Deps, ctx: Ctx, id: string): Promise<Promotion> {
  requireRole(ctx.principal, 'deployer');
  const me = actorOf(ctx.principal);
  const p = await retryOnConflict(async () => {
    const p = await loadPromotion(deps, ctx.principal.tenant, id);
    assertAction('validate', p.status, id);
    const now = deps.clock();
    if (now > validationDeadline(p)) {
      await expireWaiting(deps, p.tenant, p.id);
      return loadPromotion(deps, p.tenant, p.id);
    }
    if (p.status === 'PENDING') {
      // The flow starts now: from here the sweeper gives it its grace, not the validation window.
      const started: Promotion = { ...p, flowStartedAt: now.toISOString(), version: p.version + 1, updatedAt: now.toISOString() };
      await savePromotion(deps, me, started, p, 'promotion.validate', [], undefined, ctx.requestId);
      return started;
    }
    const next = moved(p, 'VALIDATING', me, now, { ...(await currentPolicy(deps, p)), attempt: (p.attempt ?? 0) + 1, error: null, gates: null });
    await savePromotion(deps, me, next, p, 'promotion.revalidate', [], undefined, ctx.requestId);
    return next;
  });
  if (p.status === 'EXPIRED') throw new TransitionNotAllowed(`Promotion ${id} expired: ${p.error!.message}; request it again`, { status: p.status, allowedActions: [] });
  await startFlow(deps, p);
  return p;
}

/** The engine's own identity in audit entries and transitions (the steps act as it too). */
export const ENGINE: Actor = { id: 'stageline', name: 'stageline' };

/** A promotion still waiting for `validate` (PENDING or VALIDATION_FAILED) past its deadline expires (schedule-fire). */
export async function expireWaiting(deps: Deps, tenant: string, id: string): Promise<{ expired: boolean; status: string }> {
  return retryOnConflict(async () => {
    const p = await deps.store.getPromotion(tenant, id);
    if (!p) return { expired: false, status: 'GONE' };
    if ((p.status !== 'PENDING' && p.status !== 'VALIDATION_FAILED') || deps.clock() < validationDeadline(p)) return { expired: false, status: p.status };
    const next = moved(p, 'EXPIRED', ENGINE, deps.clock(), { taskToken: null, error: { code: 'EXPIRED', message: `not validated before ${validationDeadline(p).toISOString()}` } });
    await savePromotion(deps, ENGINE, next, p, 'promotion.expire', [promotionEvent(deps, 'Promotion Expired', next, { reason: next.error!.message })], next.error!.message);
    return { expired: true, status: next.status };
  });
}

function countable(p: Promotion, approvals: Approval[]): Approval[] {
  return approvals.filter((a) => a.digest === p.releaseDigest && !(p.policy.separationOfDuties && contentChoosers(p).includes(a.by)));
}

export async function approvePromotion(deps: Deps, ctx: Ctx, id: string, comment?: string): Promise<Promotion> {
  requireRole(ctx.principal, 'approver');
  const glass = requestedBreakGlass(ctx, 'freeze-window', 'promotion.approve', deps.clock());
  const { tenant } = ctx.principal;
  const me = actorOf(ctx.principal);
  let p = await loadPromotion(deps, tenant, id);
  if (glass && p.status === 'AWAITING_APPROVAL') p = await stampFreezeOverride(deps, ctx, id, glass);
  const mine = (await deps.store.listApprovals(tenant, id)).find((a) => a.by === me.id && a.digest === p.releaseDigest);
  // Approving twice is idempotent: the same state, counted once.
  if (mine) return p;
  assertAction('approve', p.status, id);
  if (!inGroups(ctx.principal, p.policy.approverGroups)) {
    throw new NotAnApprover(`Approvals for ${p.sourceEnvironment} → ${p.targetEnvironment} come from: ${p.policy.approverGroups.join(', ')}`);
  }
  if (p.policy.separationOfDuties && contentChoosers(p).includes(me.id)) {
    throw new SelfApprovalForbidden(`${p.requestedBy.id === me.id ? 'You requested this promotion' : 'You rebased this promotion onto its current release'}; separation of duties needs someone else to approve it`);
  }
  const expiresAt = approvalDeadline(p);
  if (expiresAt && deps.clock() > expiresAt) throw new TransitionNotAllowed(`The approval window of ${id} closed at ${expiresAt.toISOString()}`, { status: p.status });
  const approval: Approval = { by: me.id, name: me.name, at: deps.clock().toISOString(), digest: p.releaseDigest, ...(comment ? { comment } : {}), ...(ctx.via ? { via: ctx.via } : {}) };
  const approved = (cur: Promotion, counted: Approval[]) => {
    const next = moved(cur, 'APPROVED', me, deps.clock(), { approvedBy: counted.map((a) => a.name).sort(), taskToken: null });
    return { next, event: promotionEvent(deps, 'Promotion Approved', next, { actor: me.name, approvalWaitSeconds: approvalWait(cur, deps.clock()) }) };
  };
  // The approval that meets the policy moves the promotion in the same transaction (one write, one
  // audit entry); one that does not is stored alone. The promotion's version condition picks one winner.
  let done: { next: Promotion; resume: string | null } | null = null;
  await retryOnConflict(async () => {
    const cur = await loadPromotion(deps, tenant, id);
    const others = (await deps.store.listApprovals(tenant, id)).filter((a) => a.by !== me.id);
    const counted = countable(cur, [...others, approval]);
    const completes = cur.status === 'AWAITING_APPROVAL' && cur.releaseDigest === approval.digest && counted.length >= cur.policy.requiredApprovers;
    try {
      if (completes) {
        const { next, event } = approved(cur, counted);
        await savePromotion(deps, me, next, cur, 'promotion.approved', [{ kind: 'approval', promotionId: id, approval }, event], comment, ctx.requestId, ctx.via);
        done = { next, resume: cur.taskToken };
      } else {
        const audit = auditEntry(tenant, { ...auditDraft(ctx, cur, 'promotion.approve', null, cur.releaseDigest, comment) }, deps.clock());
        await deps.store.commit(tenant, [{ kind: 'approval', promotionId: id, approval }, { kind: 'audit', entry: audit }]);
      }
    } catch (err) {
      // Our approval is already stored (a concurrent retry of the same request): nothing more to write.
      if ((await deps.store.listApprovals(tenant, id)).some((a) => a.by === me.id && a.digest === p.releaseDigest)) return;
      throw err;
    }
  });
  if (done) {
    const { next, resume } = done as { next: Promotion; resume: string | null };
    // Exactly one caller gets here per promotion; the stored token (if the flow is already waiting) resumes it.
    if (resume) await deps.workflow.sendTaskSuccess(resume, { next: next.trigger === 'on_approval' ? 'execute' : 'await-go' });
    return next;
  }
  // Approvals given side by side may each have seen too few: count again, and only when the policy is met move to APPROVED.
  return retryOnConflict(async () => {
    p = await loadPromotion(deps, tenant, id);
    if (p.status !== 'AWAITING_APPROVAL') return p;
    const counted = countable(p, await deps.store.listApprovals(tenant, id));
    if (counted.length < p.policy.requiredApprovers) return p;
    const { next, event } = approved(p, counted);
    await savePromotion(deps, me, next, p, 'promotion.approved', [event], undefined, ctx.requestId, ctx.via);
    if (p.taskToken) await deps.workflow.sendTaskSuccess(p.taskToken, { next: next.trigger === 'on_approval' ? 'execute' : 'await-go' });
    return next;
  });
}

export async function rejectPromotion(deps: Deps, ctx: Ctx, id: string, reason: string): Promise<Promotion> {
  requireRole(ctx.principal, 'approver');
  const me = actorOf(ctx.principal);
  return retryOnConflict(async () => {
    const p = await loadPromotion(deps, ctx.principal.tenant, id);
    if (p.status === 'REJECTED' && p.rejection?.by === me.name) return p;
    assertAction('reject', p.status, id);
    if (!inGroups(ctx.principal, p.policy.approverGroups)) {
      throw new NotAnApprover(`Only ${p.policy.approverGroups.join(', ')} can reject this promotion`);
    }
    const next = moved(p, 'REJECTED', me, deps.clock(), { rejection: { by: me.name, reason, at: deps.clock().toISOString() }, taskToken: null });
    await savePromotion(deps, me, next, p, 'promotion.reject', [promotionEvent(deps, 'Promotion Rejected', next, { actor: me.name, reason })], reason, ctx.requestId, ctx.via);
    if (p.taskToken) await deps.workflow.sendTaskFailure(p.taskToken, 'Rejected', reason);
    return next;
  });
}

export async function cancelPromotion(deps: Deps, ctx: Ctx, id: string, reason?: string): Promise<Promotion> {
  requireRole(ctx.principal, 'deployer');
  const me = actorOf(ctx.principal);
  return retryOnConflict(async () => {
    const p = await loadPromotion(deps, ctx.principal.tenant, id);
    if (p.status === 'CANCELLED') return p;
    assertAction('cancel', p.status, id);
    const next = moved(p, 'CANCELLED', me, deps.clock(), { taskToken: null, error: reason ? { code: 'CANCELLED', message: reason } : null });
    await savePromotion(deps, me, next, p, 'promotion.cancel', [promotionEvent(deps, 'Promotion Cancelled', next, { actor: me.name, reason })], reason, ctx.requestId);
    if (p.status === 'SCHEDULED') await cancelSchedule(deps, p);
    if (p.taskToken) await deps.workflow.sendTaskFailure(p.taskToken, 'Cancelled', reason ?? 'cancelled');
    return next;
  });
}

export async function executePromotion(deps: Deps, ctx: Ctx, id: string, dryRun: boolean) {
  requireRole(ctx.principal, 'deployer');
  const glass = requestedBreakGlass(ctx, 'freeze-window', 'promotion.execute', deps.clock());
  const { tenant } = ctx.principal;
  let p = await loadPromotion(deps, tenant, id);
  assertAction('execute', p.status, id);
  if (dryRun) return { dryRun: true as const, promotionId: id, ...(await previewExecution(deps, p)) };
  p = await stampFreezeOverride(deps, ctx, id, glass);
  // The flow waits at its "go" task for manual or scheduled promotions; an on-approval one is already executing.
  if (p.status === 'SCHEDULED') await cancelSchedule(deps, p);
  if (p.taskToken) await deps.workflow.sendTaskSuccess(p.taskToken, { next: 'execute' });
  return { accepted: true as const, promotion: p };
}

export async function previewExecution(deps: Deps, p: Promotion): Promise<Record<string, unknown>> {
  const target = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  if (!target) return { changes: [] };
  if (p.subject.type === 'artifact') {
    const cur = await deps.store.getPointer(p.tenant, p.targetEnvironment, p.subject.name);
    return { artifact: p.subject.name, from: cur?.version ?? null, to: p.subject.version, digest: p.subject.digest };
  }
  const snap = await deps.store.getSnapshot(p.tenant, p.sourceEnvironment, p.subject.sourceSnapshot.seq);
  if (!snap) return { changes: [] };
  const { changes, unchanged } = await configChanges(memoSource(deps.store.nodes(p.tenant)), target.head.roots, snap.roots, p.subject);
  return { changes: changes.map(changeView), unchanged };
}

export async function schedulePromotion(deps: Deps, ctx: Ctx, id: string, at: string): Promise<Promotion> {
  requireRole(ctx.principal, 'deployer');
  const glass = requestedBreakGlass(ctx, 'freeze-window', 'promotion.schedule', deps.clock());
  const me = actorOf(ctx.principal);
  const when = new Date(at);
  if (when.getTime() <= deps.clock().getTime()) throw new ValidationFailed([{ path: 'body.at', message: 'must be in the future' }]);
  if (glass) {
    assertAction('schedule', (await loadPromotion(deps, ctx.principal.tenant, id)).status, id);
    await stampFreezeOverride(deps, ctx, id, glass);
  }
  return retryOnConflict(async () => {
    const p = await loadPromotion(deps, ctx.principal.tenant, id);
    assertAction('schedule', p.status, id);
    if (p.trigger === 'on_approval') {
      throw new TransitionNotAllowed(`Promotion ${id} runs as soon as it is approved; create it with "trigger": "manual" to schedule it`, { status: p.status });
    }
    // The approved flow waits for its go at most GO_WAIT_SECONDS after approval: a later time would never fire.
    const approvedAt = [...p.transitions].reverse().find((x) => x.status === 'APPROVED')?.at ?? p.updatedAt;
    const latest = new Date(new Date(approvedAt).getTime() + GO_WAIT_SECONDS * 1000 - 3600 * 1000);
    if (when > latest) {
      throw new RuleViolation(`An approved promotion can be scheduled at most 7 days after its approval: no later than ${latest.toISOString()}; request a new promotion for a later date`, { latest: latest.toISOString() });
    }
    if (!freezeOverridden(p)) {
      const windows = await deps.store.listFreezeWindows(p.tenant);
      const frozen = activeWindow(windows, p.targetEnvironment, when);
      if (frozen) {
        const allowed = nextAllowed(windows, p.targetEnvironment, when);
        throw new RuleViolation(`${when.toISOString()} falls in freeze window ${frozen.window.id} (${frozen.window.reason}) over '${p.targetEnvironment}'; the next allowed time is ${allowed.toISOString()}`, { window: frozen.window.id, nextAllowed: allowed.toISOString() });
      }
    }
    const next = moved(p, 'SCHEDULED', me, deps.clock(), { scheduledAt: when.toISOString(), trigger: 'scheduled' });
    await savePromotion(deps, me, next, p, 'promotion.schedule', [], `at ${when.toISOString()}`, ctx.requestId);
    await deps.scheduler.scheduleOnce(scheduleName(next), when, { tenant: next.tenant, promotionId: next.id });
    return next;
  });
}

/** A promotion's go schedule: one per promotion, unique and within the scheduler's limits (domain/aws-names.ts). */
export function scheduleName(p: Pick<Promotion, 'tenant' | 'id'>): string {
  return awsName('stageline-', [p.tenant, p.id]);
}

/**
 * The name schedules had before names were hashed (cut to 64, so not unique for long tenant names).
 * A promotion scheduled before then still has its schedule under it: cancelling deletes both.
 */
export function legacyScheduleName(p: Pick<Promotion, 'tenant' | 'id'>): string {
  return `stageline-${p.tenant}-${p.id}`.replace(/[^0-9A-Za-z_.-]/g, '-').slice(0, 64);
}

/** Deletes a promotion's go schedule, under its name and under the one it had before names were hashed. */
async function cancelSchedule(deps: Deps, p: Pick<Promotion, 'tenant' | 'id'>): Promise<void> {
  await deps.scheduler.cancel(scheduleName(p));
  await deps.scheduler.cancel(legacyScheduleName(p));
}

/**
 * A schedule fired: resume the flow parked at its go task. If the flow is not
 * parked yet (the token is not stored), throw so the scheduler retries.
 */
export async function fireSchedule(deps: Deps, tenant: string, id: string): Promise<{ fired: boolean; status: string }> {
  const p = await loadPromotion(deps, tenant, id);
  if (p.status !== 'SCHEDULED') return { fired: false, status: p.status };
  if (!p.taskToken) throw new Error(`promotion ${id} is not waiting for its go signal yet`);
  await deps.workflow.sendTaskSuccess(p.taskToken, { next: 'execute' });
  return { fired: true, status: p.status };
}

export async function addEvidence(
  deps: Deps,
  ctx: Ctx,
  owner: { promotionId?: string; artifact?: { name: string; version: string }; snapshot?: { environment: string; seq: number } },
  body: EvidenceBody,
): Promise<Evidence> {
  requireRole(ctx.principal, 'deployer');
  const { tenant } = ctx.principal;
  let ownerKey: string;
  if (owner.promotionId) {
    const p = await loadPromotion(deps, tenant, owner.promotionId);
    // Alarms and metrics are what post-deploy verification reads during the bake time.
    const during = p.status === 'EXECUTING' && (body.type === 'alarm' || body.type === 'metrics');
    if (isTerminal(p.status) || (p.status === 'EXECUTING' && !during)) {
      throw new TransitionNotAllowed(`Promotion ${p.id} is ${p.status}; evidence is taken before execution (alarms and metrics also while it executes)`, { status: p.status });
    }
    ownerKey = `promotion:${p.id}`;
  } else if (owner.snapshot) {
    // Evidence about a config release (a snapshot) serves every promotion and auto-promotion check of it.
    const s = owner.snapshot;
    const env = await deps.store.getEnvironment(tenant, s.environment);
    if (!env) throw new EnvironmentNotFound(s.environment);
    if (!ownSnapshot(env, s.seq) || !(await deps.store.getSnapshot(tenant, s.environment, s.seq))) throw new SnapshotNotFound(s.environment, s.seq);
    ownerKey = `snapshot:${s.environment}@${s.seq}`;
  } else {
    const a = owner.artifact!;
    if (!(await deps.store.getArtifactVersion(tenant, a.name, a.version))) throw new ArtifactNotFound(`${a.name}@${a.version} has not been published`);
    ownerKey = `artifact:${a.name}@${a.version}`;
  }
  const evidence: Evidence = { id: `ev_${randomBytes(6).toString('hex')}`, type: body.type, payload: body.payload as Record<string, unknown>, submittedBy: ctx.principal.name, submittedAt: deps.clock().toISOString(), source: { id: ctx.principal.id, kind: ctx.principal.kind, groups: ctx.principal.groups ?? ctx.principal.roles } };
  // New evidence can make a release eligible for auto-promotion: the auto-promoter listens to the event.
  await deps.store.commit(tenant, [{ kind: 'evidence', owner: ownerKey, evidence }, eventOp('Evidence Added', tenant, { tenant, owner: ownerKey, type: body.type, at: evidence.submittedAt })]);
  return evidence;
}

/** The decision record: deterministic for the same inputs (no evaluation timestamps inside `record`). */
export async function decisionRecord(deps: Deps, ctx: Ctx, id: string) {
  requireRole(ctx.principal, 'viewer');
  const p = await loadPromotion(deps, ctx.principal.tenant, id);
  const approvals = (await deps.store.listApprovals(p.tenant, id)).sort((a, b) => (a.by < b.by ? -1 : 1));
  const counted = countable(p, approvals);
  const blockingFailed = (p.gates ?? []).filter((g) => g.blocking && g.verdict === 'FAIL');
  const outcome =
    p.gates === null
      ? 'PENDING_VALIDATION'
      : blockingFailed.length
        ? 'BLOCKED_BY_GATES'
        : p.policy.requiresApproval && counted.length < p.policy.requiredApprovers
          ? p.status === 'REJECTED' ? 'REJECTED' : 'AWAITING_APPROVAL'
          : 'ALLOWED';
  // Where each piece of evidence came from, and whether the policy lets it count.
  const evidence = (await deps.store.listEvidence(p.tenant, evidenceOwners(p)))
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((e) => ({ id: e.id, type: e.type, submittedBy: e.submittedBy, source: e.source ? { kind: e.source.kind, id: e.source.id } : null, accepted: evidenceAccepted(e, p.policy, contentChoosers(p)) }));
  const record = {
    promotionId: p.id,
    releaseDigest: p.releaseDigest,
    subject: p.subject,
    sourceEnvironment: p.sourceEnvironment,
    targetEnvironment: p.targetEnvironment,
    policy: p.policy,
    policyDigest: p.policyDigest,
    gates: p.gates ?? [],
    evidence,
    // An approval given from Slack names the Slack workspace, user and the link it relied on.
    approvals: approvals.map((a) => ({ by: a.name, digest: a.digest, counted: counted.includes(a), ...(a.via ? { via: a.via } : {}) })),
    approvalsRequired: p.policy.requiredApprovers,
    outcome,
    // Freeze windows over the target (domain/freeze.ts): the one holding it now, a hold, a break-glass.
    freeze: {
      whenFrozen: p.whenFrozen ?? 'fail',
      heldBy: p.heldBy ?? null,
      override: p.freezeOverride ?? null,
    },
    // A monitored alarm that rolled it back while it baked (domain/monitors.ts): name, reason, time.
    ...(p.monitorAlarm ? { monitorAlarm: p.monitorAlarm } : {}),
  };
  const windows = await deps.store.listFreezeWindows(p.tenant);
  const now = deps.clock();
  return { ...record, decisionDigest: digestOf(record), status: p.status, frozenNow: occurrenceView(await activeWindowOf(windows, p.targetEnvironment, now)), nextFreeze: occurrenceView(await upcomingWindowOf(windows, p.targetEnvironment, now)) };
}
