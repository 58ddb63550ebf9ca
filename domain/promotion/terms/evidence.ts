import { randomBytes } from 'node:crypto';
import { ArtifactNotFound, EnvironmentNotFound, SnapshotNotFound, TransitionNotAllowed } from '../../kernel/errors.ts';
import type { Ctx, Deps } from '../../kernel/deps.ts';
import { ownSnapshot } from '../../config/snapshots.ts';
import { eventOp } from '../../kernel/events.ts';
import { isTerminal } from '../../kernel/lifecycle.ts';
import type { Evidence, Promotion } from '../../kernel/promotion-model.ts';
import type { EvidenceBody } from '../../kernel/promotion-schemas.ts';
import { loadPromotion } from '../write.ts';
import { evidenceOwners, memberEvidenceOwner } from '../aggregate.ts';
import type { MemberEvidence } from './gate-verdicts.ts';

/** What a promotion's gates and decision read: its own evidence and its release's, and a bundle's members' (each on its version). */
export interface PromotionEvidence {
  own: Evidence[];
  /** empty but for a bundle */
  members: MemberEvidence[];
}

/**
 * A promotion's evidence by owner. `release`: how evidence of a release is read (a replay of many promotions reads each
 * release once); the promotion's own is always read.
 */
export async function readEvidence(
  deps: Deps,
  p: Pick<Promotion, 'id' | 'tenant' | 'subject' | 'sourceEnvironment'>,
  release: (owner: string) => Promise<Evidence[]> = (owner) => deps.store.listEvidence(p.tenant, [owner]),
): Promise<PromotionEvidence> {
  const [ownKey, releaseKey] = evidenceOwners(p) as [string, string];
  const members = p.subject.type === 'bundle' ? p.subject.members : [];
  const [own, released, ...each] = await Promise.all([
    deps.store.listEvidence(p.tenant, [ownKey]),
    release(releaseKey),
    ...members.map((m) => release(memberEvidenceOwner(m))),
  ]);
  return { own: [...own, ...released], members: members.map((m, i) => ({ member: `${m.name}@${m.version}`, evidence: each[i]! })) };
}

/** Every piece of a promotion's evidence, its own first. */
export const everyEvidence = (e: PromotionEvidence): Evidence[] => [...e.own, ...e.members.flatMap((m) => m.evidence)];

/** Typed evidence about a promotion, an artifact release or a config release (a snapshot). */
export async function addEvidence(
  deps: Deps,
  ctx: Ctx,
  owner: { promotionId?: string; artifact?: { name: string; version: string }; snapshot?: { environment: string; seq: number } },
  body: EvidenceBody,
): Promise<Evidence> {
  const { tenant } = ctx.principal;
  let ownerKey: string;
  // Evidence on a promotion is about the release it has now; a snapshot's or an artifact version's is bound by its owner.
  let releaseDigest: string | undefined;
  if (owner.promotionId) {
    const p = await loadPromotion(deps, tenant, owner.promotionId);
    // Alarms and metrics are what post-deploy verification reads during the bake time.
    const during = p.status === 'EXECUTING' && (body.type === 'alarm' || body.type === 'metrics');
    if (isTerminal(p.status) || (p.status === 'EXECUTING' && !during)) {
      throw new TransitionNotAllowed(`Promotion ${p.id} is ${p.status}; evidence is taken before execution (alarms and metrics also while it executes)`, {
        status: p.status,
      });
    }
    ownerKey = `promotion:${p.id}`;
    releaseDigest = p.releaseDigest;
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
  const evidence: Evidence = {
    id: `ev_${randomBytes(6).toString('hex')}`,
    type: body.type,
    payload: body.payload as Record<string, unknown>,
    submittedBy: ctx.principal.name,
    submittedAt: deps.clock().toISOString(),
    source: { id: ctx.principal.id, kind: ctx.principal.kind, groups: ctx.principal.groups ?? ctx.principal.roles },
    ...(releaseDigest ? { releaseDigest } : {}),
  };
  // New evidence can make a release eligible for auto-promotion: the auto-promoter listens to the event.
  await deps.store.commit(tenant, [
    { kind: 'evidence', owner: ownerKey, evidence },
    eventOp('Evidence Added', tenant, { tenant, owner: ownerKey, type: body.type, at: evidence.submittedAt }),
  ]);
  return evidence;
}
