import type { Observed, ObservedPromotion, ObservedTenant } from '../../chaos/checker.ts';
import type { Promotion, RolloutTarget } from '../../domain/kernel/promotion-model.ts';
import type { AuditEntry } from '../../domain/kernel/model.ts';

/**
 * Histories of a chaos run built as data, as the checker reads them (chaos/checker.ts `Observed`): a promotion by
 * the statuses it went through (seconds after a fixed start), a rollout target, an audit entry, one tenant's Observed.
 */
export const TENANT = 'acme';
export const at = (s: number) => new Date(Date.UTC(2026, 10, 27, 10, 0, s)).toISOString();
export const digest = (c: string) => `sha256:${c.repeat(64)}`;

export function promotion(id: string, over: Partial<Promotion> & { path: [Promotion['status'], number][] }): Promotion {
  const { path, ...rest } = over;
  return {
    tenant: TENANT,
    id,
    subject: { type: 'config' },
    sourceEnvironment: 'dev',
    targetEnvironment: 'staging',
    status: path.at(-1)![0],
    releaseDigest: digest('r'),
    requestedAt: at(path[0]![1]),
    policy: { requiresApproval: false, requiredApprovers: 0, approverGroups: [], approvalExpirySeconds: 86_400 },
    approvedBy: [],
    transitions: path.map(([status, s]) => ({ status, at: at(s), by: 'stageline' })),
    rollout: null,
    rollback: null,
    result: null,
    ...rest,
  } as unknown as Promotion;
}

export const target = (name: string, wave: number, state: RolloutTarget['state'], appliedAt?: number, before = digest('0')): RolloutTarget =>
  ({
    promotionId: 'p',
    name,
    wave,
    state,
    before: { seq: 1, digest: before },
    ...(appliedAt === undefined ? {} : { appliedAt: at(appliedAt) }),
  }) as RolloutTarget;

export const entry = (id: string, action: string, s: number, reason?: string, after: string | null = null): AuditEntry =>
  ({
    tenant: TENANT,
    id: `a-${action}-${s}`,
    at: at(s),
    actor: 'stageline',
    actorName: 'Stageline',
    action,
    entityType: 'promotion',
    entityId: id,
    before: null,
    after,
    ...(reason ? { reason } : {}),
  }) as AuditEntry;

export function observed(promotions: ObservedPromotion[], audit: AuditEntry[], environments: ObservedTenant['environments'] = []): Observed {
  return {
    seed: 7,
    history: [],
    requested: promotions.map((x) => ({ tenant: TENANT, id: x.promotion.id, kind: 'test', environment: x.promotion.targetEnvironment })),
    tenants: [{ tenant: TENANT, promotions, audit, verify: { ok: true }, environments }],
    events: [],
  };
}

