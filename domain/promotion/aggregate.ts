import { randomBytes } from 'node:crypto';
import type { Principal } from '../access/auth.ts';
import { digestOf } from '../kernel/canonical.ts';
import { assertAction, assertTransition, isTerminal, type Action, type Status } from '../kernel/lifecycle.ts';
import type { Actor, Approval, Evidence, Policy, Promotion, Subject } from '../kernel/promotion-model.ts';

/**
 * Who chose what this promotion's release contains: its requester, and whoever rebased it onto
 * another release since. Separation of duties treats each of them as the requester (no approval,
 * no evidence where the policy wants someone else's).
 */
export function contentChoosers(p: Pick<Promotion, 'requestedBy' | 'rebasedBy'>): string[] {
  return p.rebasedBy ? [p.requestedBy.id, p.rebasedBy.id] : [p.requestedBy.id];
}

export const policyDigest = (p: Policy) => digestOf(p);

/**
 * The promotion aggregate: its state and its moves. Every status change goes through `moved`
 * (the one transition table in lifecycle.ts) and every API action is guarded by `guard` (the
 * actions table there). Pure: no reads, no writes — write.ts loads and saves, the use cases
 * (request.ts, approve.ts, …) decide.
 */

/** The engine's own identity in audit entries and transitions (the steps act as it too). */
export const ENGINE: Actor = { id: 'stageline', name: 'stageline' };

/** Time-ordered, unguessable id. */
export function newPromotionId(now: Date): string {
  return `prm_${now.getTime().toString(36).padStart(9, '0')}${randomBytes(5).toString('hex')}`;
}

export const actorOf = (p: Principal): Actor => ({ id: p.id, name: p.name });

export function subjectLabel(s: Subject): string {
  return s.type === 'artifact'
    ? `${s.name}@${s.version}`
    : s.type === 'bundle'
      ? `bundle:${s.name}@${s.digest.slice(0, 19)}`
      : `config:${s.promotionType.toLowerCase()}@${s.sourceSnapshot.seq}`;
}

/** Evidence owners a promotion's gates read: the promotion's own and its release's. */
export function evidenceOwners(p: Pick<Promotion, 'id' | 'subject' | 'sourceEnvironment'>): string[] {
  const release =
    p.subject.type === 'artifact'
      ? `artifact:${p.subject.name}@${p.subject.version}`
      : p.subject.type === 'bundle'
        ? `bundle:${p.subject.name}@${p.subject.digest}`
        : `snapshot:${p.sourceEnvironment}@${p.subject.sourceSnapshot.seq}`;
  return [`promotion:${p.id}`, release];
}

/** Where a bundle member's own evidence is: on its artifact version (its tests, its scan and signature check). */
export const memberEvidenceOwner = (m: { name: string; version: string }): string => `artifact:${m.name}@${m.version}`;

/** Evidence speaks for the promotion's current release: what was posted on it for an earlier one (before a rebase) does not. */
export function forCurrentRelease(e: Pick<Evidence, 'releaseDigest'>, p: Pick<Promotion, 'releaseDigest'>): boolean {
  return e.releaseDigest === undefined || e.releaseDigest === p.releaseDigest;
}

/** Bound to the exact release: the source content digest plus the selection. */
export function configReleaseDigest(subject: Subject & { type: 'config' }): string {
  return digestOf({
    source: subject.sourceSnapshot.digest,
    type: subject.promotionType,
    configIds: subject.configIds,
    flagIds: subject.flagIds,
    keyPatterns: subject.keyPatterns,
  });
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

/** An API action is allowed from the promotion's status (the actions table); 409 naming what is allowed now otherwise. */
export function guard(action: Action, p: Pick<Promotion, 'status' | 'id'>): void {
  assertAction(action, p.status, p.id);
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

/** Approved (or scheduled) and not yet executing: what the holds, the pull-request gate and an execution's first write look for. */
export const waitsToExecute = (p: Pick<Promotion, 'status'>): boolean => p.status === 'APPROVED' || p.status === 'SCHEDULED';

/** A change that keeps the status (a stamp, a recorded result): the next version, updated now. */
export function patched(p: Promotion, now: Date | string, patch: Partial<Promotion>): Promotion {
  return { ...p, ...patch, version: p.version + 1, updatedAt: typeof now === 'string' ? now : now.toISOString() };
}

/** The approvals that count: for the current release, and (under separation of duties) not from whoever chose its content. */
export function countable(p: Promotion, approvals: Approval[]): Approval[] {
  return approvals.filter((a) => a.digest === p.releaseDigest && !(p.policy.separationOfDuties && contentChoosers(p).includes(a.by)));
}

/** Seconds since the promotion started waiting for approval (the last time it entered AWAITING_APPROVAL). */
export function approvalWait(p: Promotion, now: Date): number | undefined {
  const since = p.transitions.findLast((t) => t.status === 'AWAITING_APPROVAL')?.at;
  return since ? Math.max(0, Math.round((now.getTime() - new Date(since).getTime()) / 1000)) : undefined;
}

/** Where the flow goes once approved: straight to execution, or waiting for its go. */
export function afterApproval(p: Pick<Promotion, 'trigger'>): 'execute' | 'await-go' {
  return p.trigger === 'on_approval' ? 'execute' : 'await-go';
}
