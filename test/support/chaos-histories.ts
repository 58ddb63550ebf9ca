import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** A staging promotion that went PENDING → VALIDATING → APPROVED → EXECUTING → COMPLETED (at 9 s) and released `digest('n')`. */
export const completed = (id: string, over: Partial<Promotion> = {}): Promotion =>
  promotion(id, {
    path: [
      ['PENDING', 0],
      ['VALIDATING', 1],
      ['APPROVED', 2],
      ['EXECUTING', 3],
      ['COMPLETED', 9],
    ],
    result: { digest: digest('n') } as Promotion['result'],
    ...over,
  });

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

/** The rows of a JSON Lines file of a history on disk (a blank line is skipped). */
export const jsonLines = (dir: string, file: string): Record<string, any>[] =>
  readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, any>);

/**
 * What the Python reader of docs/architecture/guarantees.md ("A history anyone can check") computes, the same way in
 * TypeScript and from the same files only (run.json, promotions.jsonl, table.jsonl): each promotion requested whose
 * item in the table is not in a final state, and the line it ends with.
 */
export function finalStateFromFiles(dir: string): { unended: { tenant: string; id: string; kind: string; status: string }[]; summary: string } {
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  if (run.format !== 1) throw new Error(`run.json: format ${run.format}, this reader reads format 1`);
  const status = new Map<string, string>();
  for (const item of jsonLines(dir, 'table.jsonl'))
    if (item.entity === 'Promotion' && item.sk === 'P') {
      const [, tenant, , ...id] = String(item.pk).split('#');
      status.set(`${tenant}\n${id.join('#')}`, item.status);
    }
  const FINAL = new Set(['COMPLETED', 'ROLLED_BACK', 'FAILED', 'REJECTED', 'CANCELLED', 'EXPIRED']);
  const requested = jsonLines(dir, 'promotions.jsonl');
  const unended = requested
    .map((p) => ({ tenant: p.tenant, id: p.id, kind: p.kind, status: status.get(`${p.tenant}\n${p.id}`) ?? 'not in the table' }))
    .filter((p) => !FINAL.has(p.status));
  const summary = `final-state: ${requested.length} promotions requested (seed ${run.seed}), ${requested.length - unended.length} ended, ${unended.length} did not`;
  return { unended, summary };
}
