import type { Approval, Promotion } from '../../kernel/promotion-model.ts';
import { heldByChange, heldByHours, heldByPromotion, heldBySoak } from '../../kernel/promotion-model.ts';
import type { FreezeWindow } from '../../freeze/model.ts';
import { digestOf } from '../../kernel/canonical.ts';
import { activeWindowOf, occurrenceView, upcomingWindowOf } from '../../freeze/windows.ts';
import type { Ctx, Deps } from '../../kernel/deps.ts';
import { countable, forCurrentRelease } from '../aggregate.ts';
import { loadPromotion } from '../write.ts';
import { rolloutView } from './rollout-view.ts';
import { standing } from './standing.ts';
import { readEvidence, type PromotionEvidence } from './evidence.ts';
import { contentChoosers, evidenceAccepted } from './policy.ts';

/** The decision record: deterministic for the same inputs (no evaluation timestamps inside `record`). */
export async function decisionRecord(deps: Deps, ctx: Ctx, id: string) {
  return decisionRecordOf(deps, await loadPromotion(deps, ctx.principal.tenant, id));
}

/**
 * The decision record of a promotion already read (the attestation reads it once for both). What the caller read
 * already is not read again: its evidence, its approvals, the tenant's freeze windows (a plan's simulation decides
 * each promotion twice).
 */
export async function decisionRecordOf(
  deps: Deps,
  p: Promotion,
  evidenceRead?: PromotionEvidence,
  read: { approvals?: Approval[]; windows?: FreezeWindow[] } = {},
) {
  const id = p.id;
  const approvals = [...(read.approvals ?? (await deps.store.listApprovals(p.tenant, id)))].sort((a, b) => (a.by < b.by ? -1 : 1));
  // An approver who lost their access since (removed, deactivated by SCIM) no longer counts: as the approval path counts.
  const counted = countable(p, await standing(deps, p.tenant, approvals, null));
  const blockingFailed = (p.gates ?? []).filter((g) => g.blocking && g.verdict === 'FAIL');
  const outcome =
    p.gates === null
      ? 'PENDING_VALIDATION'
      : blockingFailed.length
        ? 'BLOCKED_BY_GATES'
        : p.monitorBlock
          ? 'BLOCKED_BY_MONITORS'
          : p.policy.requiresApproval && counted.length < p.policy.requiredApprovers
            ? p.status === 'REJECTED'
              ? 'REJECTED'
              : 'AWAITING_APPROVAL'
            : 'ALLOWED';
  // Where each piece of evidence came from, and whether the policy lets it count.
  // A bundle member's evidence (on its version) names the member.
  const found = evidenceRead ?? (await readEvidence(deps, p));
  const evidence = [
    ...found.own.map((e) => ({ e, member: undefined as string | undefined })),
    ...found.members.flatMap((m) => m.evidence.map((e) => ({ e, member: m.member }))),
  ]
    .sort((a, b) => (a.e.id < b.e.id ? -1 : 1))
    .map(({ e, member }) => ({
      id: e.id,
      type: e.type,
      submittedBy: e.submittedBy,
      source: e.source ? { kind: e.source.kind, id: e.source.id } : null,
      accepted: forCurrentRelease(e, p) && evidenceAccepted(e, p.policy, contentChoosers(p)),
      ...(member ? { member } : {}),
    }));
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
    // Each approval names the right it was given under: a token's tenant-wide role or the role binding (grantedBy).
    approvals: approvals.map((a) => ({
      by: a.name,
      digest: a.digest,
      counted: counted.includes(a),
      ...(a.via ? { via: a.via } : {}),
      ...(a.grantedBy ? { grantedBy: a.grantedBy } : {}),
    })),
    approvalsRequired: p.policy.requiredApprovers,
    outcome,
    // Freeze windows over the target (domain/freeze/windows.ts): the one holding it now, a hold, a break-glass.
    freeze: {
      whenFrozen: p.whenFrozen ?? 'fail',
      // A freeze window's hold only: a hold behind another promotion is the queue, not a freeze (the promotion's heldBy says it).
      heldBy: p.heldBy && !heldByPromotion(p.heldBy) && !heldBySoak(p.heldBy) && !heldByChange(p.heldBy) && !heldByHours(p.heldBy) ? p.heldBy : null,
      override: p.freezeOverride ?? null,
    },
    // The release waited to soak in the source environment (domain/promotion/run/soak.ts): how long, since when, until when.
    ...(heldBySoak(p.heldBy) ? { soak: p.heldBy } : {}),
    // A monitored alarm that rolled it back while it baked (domain/freeze/monitors.ts): name, reason, time.
    ...(p.monitorAlarm ? { monitorAlarm: p.monitorAlarm } : {}),
    // The target's monitors refused the execution (alarms in ALARM: name, reason; or a check that could not be made).
    ...(p.monitorBlock ? { monitorBlock: p.monitorBlock } : {}),
    // A rollout through targets: per target its confirmation, bake window, alarm evidence and outcome.
    ...(p.rollout ? { rollout: await rolloutView(deps, p) } : {}),
  };
  const windows = read.windows ?? (await deps.store.listFreezeWindows(p.tenant));
  const now = deps.clock();
  return {
    ...record,
    decisionDigest: digestOf(record),
    status: p.status,
    frozenNow: occurrenceView(await activeWindowOf(windows, p.targetEnvironment, now)),
    nextFreeze: occurrenceView(await upcomingWindowOf(windows, p.targetEnvironment, now)),
  };
}
