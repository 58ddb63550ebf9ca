import { auditEntry, type AuditDraft } from '../audit/audit.ts';
import { PromotionNotFound } from '../kernel/errors.ts';
import type { ActedVia } from '../kernel/model.ts';
import type { Ctx, Deps, WriteOp } from '../kernel/deps.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import { subjectLabel } from './aggregate.ts';
import { eventOp, type EventType } from '../kernel/events.ts';
import type { Actor, Promotion } from '../kernel/promotion-model.ts';

/**
 * The one way a promotion is written. `writePromotion` runs a write use case: load → decide
 * (guard and move, in the use case) → save the move with its events and audit entry in one
 * transaction, conditioned on the version read; a lost condition (WriteConflict) runs it all
 * again on a fresh read (domain/kernel/retry.ts). `writeNewPromotion` does the same for a request.
 */

export async function loadPromotion(deps: Deps, tenant: string, id: string): Promise<Promotion> {
  const p = await deps.store.getPromotion(tenant, id);
  if (!p) throw new PromotionNotFound(id);
  return p;
}

export function promotionEvent(
  deps: Deps,
  type: EventType,
  p: Promotion,
  extra: {
    actor?: string;
    reason?: string;
    approvalsNeeded?: number;
    approverGroups?: string[];
    approvalWaitSeconds?: number;
    targets?: string[];
    wave?: number;
    waves?: number[];
    /** Promotion Target Applied (targetAppliedEventDetail) */
    target?: string;
    version?: string;
    digest?: string;
    confirm?: { mode: string; deadline?: string; url?: string };
    git?: { file: string; commit: string | null; changed: boolean };
    registry?: { registry: string; tag: string; digest: string };
    /** Promotion Analysis Decided */
    analysis?: {
      template: string;
      scope: 'bake' | 'canary';
      phase: 'Successful' | 'Failed' | 'Inconclusive' | 'Error';
      message?: string;
      thresholds?: { success?: string; failure?: string };
      measurements: { at: string; phase: string; value: number | null; error?: string }[];
    };
    /** Promotion Attested */
    attestation?: { verificationResult: 'PASSED' | 'FAILED'; keyId: string; subjectDigest: string; url: string };
    /** a promotion's end: its DORA figures (domain/artifacts/dora.ts) */
    dora?: { deployed: number; changeFailed: number; rework: number; recoverySeconds?: number; leadTimeSeconds?: number };
    /** when it happened, when that is not now (an attestation: when it was signed) */
    at?: string;
  } = {},
): WriteOp {
  return eventOp(type, p.tenant, {
    tenant: p.tenant,
    promotionId: p.id,
    status: p.status,
    sourceEnvironment: p.sourceEnvironment,
    targetEnvironment: p.targetEnvironment,
    subject: subjectLabel(p.subject),
    releaseDigest: p.releaseDigest,
    ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
    // An event stays small whatever the fleet: a page of the targets it covers, and how many there are in all.
    ...(extra.targets && extra.targets.length > EVENT_TARGETS ? { targets: extra.targets.slice(0, EVENT_TARGETS), targetCount: extra.targets.length } : {}),
    at: extra.at ?? deps.clock().toISOString(),
  });
}

/** Target names an event lists at most (the rest are counted in `targetCount`). */
export const EVENT_TARGETS = 100;

/** An audit entry about a promotion that does not change (an approval that does not meet the policy yet). */
export function auditDraft(
  ctx: Ctx | { principal: Actor & { tenant?: string } },
  p: Promotion,
  action: string,
  before: string | null,
  after: string | null,
  reason?: string,
): AuditDraft {
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

/** A promotion's change as a use case decides it; the helper writes it. */
export interface Move {
  /** the promotion after the change: written as the read version + 1, on the condition that the read version is still stored */
  next: Promotion;
  /** the audit action; null for bookkeeping the trail does not show (the flow's task token) */
  action: string | null;
  by: Actor;
  /** events and other items written in the same transaction */
  ops?: WriteOp[];
  reason?: string;
  requestId?: string;
  /** the actor acted from Slack: the identity and link, recorded on the entry */
  via?: ActedVia;
}

/** Items written beside a promotion that does not change. */
export interface Beside {
  beside: WriteOp[];
}

/** What a use case decides for the promotion it is given: a move, items beside it, or nothing to write. */
export type Decision = Move | Beside | null;

export interface Written {
  /** the promotion as the deciding attempt read it */
  before: Promotion;
  /** the promotion as written; null when the decision wrote no change to it */
  after: Promotion | null;
}

/**
 * Runs a write use case until its conditional write wins. `decide` gets the promotion as stored
 * (the first attempt may start from `read`, the caller's own fresh read: a stale one loses the
 * condition and the next attempt reads again) and the attempt number; it throws to refuse.
 */
export async function writePromotion(
  deps: Deps,
  tenant: string,
  id: string,
  decide: (p: Promotion, attempt: number) => Decision | Promise<Decision>,
  opts: { read?: Promotion } = {},
): Promise<Written> {
  let read = opts.read;
  let attempt = 0;
  return retryOnConflict(deps.tunables, async () => {
    const before = read ?? (await loadPromotion(deps, tenant, id));
    read = undefined;
    const d = await decide(before, ++attempt);
    if (!d) return { before, after: null };
    if ('beside' in d) {
      await deps.store.commit(tenant, d.beside);
      return { before, after: null };
    }
    const next: Promotion = { ...d.next, version: before.version + 1 };
    if (d.action === null) await deps.store.commit(tenant, [{ kind: 'promotion', promotion: next, expectedVersion: before.version }, ...(d.ops ?? [])]);
    else await save(deps, next, before, d as Move & { action: string });
    return { before, after: next };
  });
}

/** Writes a new promotion (a request, a rollback) with its events and audit entry; `decide` runs again on a lost condition. */
export async function writeNewPromotion(deps: Deps, promotion: Promotion, decide: () => NewMove | Promise<NewMove>): Promise<void> {
  await retryOnConflict(deps.tunables, async () => save(deps, promotion, null, await decide()));
}

/** A new promotion's write; `claim`: it takes its release's claim from that holder (domain/promotion/request/request.ts). */
type NewMove = Omit<Move, 'next' | 'action'> & { action: string; claim?: { source: string; previous: string | null } };

/** The promotion, the decision's items and the audit entry in one transaction. */
async function save(deps: Deps, next: Promotion, previous: Promotion | null, m: NewMove): Promise<void> {
  const audit = auditEntry(
    next.tenant,
    {
      actor: m.by.id,
      actorName: m.by.name,
      action: m.action,
      entityType: 'promotion',
      entityId: next.id,
      reason: m.reason,
      before: previous ? `${previous.status}:${previous.releaseDigest}` : null,
      after: `${next.status}:${next.releaseDigest}`,
      requestId: m.requestId,
      ...(m.via ? { via: m.via } : {}),
    },
    deps.clock(),
  );
  await deps.store.commit(next.tenant, [
    {
      kind: 'promotion',
      promotion: next,
      expectedVersion: previous ? previous.version : null,
      gatesChanged: next.gates !== (previous?.gates ?? null),
      ...(m.claim ? { claim: m.claim } : {}),
    },
    ...(m.ops ?? []),
    { kind: 'audit', entry: audit },
  ]);
}
