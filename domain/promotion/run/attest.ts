import { createHash } from 'node:crypto';
import { canonicalJson, digestOf } from '../../kernel/canonical.ts';
import { AttestationNotFound, DomainError } from '../../kernel/errors.ts';
import type { Ctx, Deps, With } from '../../kernel/deps.ts';
import type { DomainEvent } from '../../kernel/ports.ts';
import type { Promotion } from '../../kernel/promotion-model.ts';
import type { AuditEntry } from '../../kernel/model.ts';
import { refusedByStored } from '../../kernel/retry.ts';
import { contentChoosers, evidenceAccepted } from '../terms/policy.ts';
import { ENGINE, forCurrentRelease } from '../aggregate.ts';
import { everyEvidence, readEvidence } from '../terms/evidence.ts';
import { decisionRecordOf } from '../terms/decision-record.ts';
import { loadPromotion, promotionEvent } from '../write.ts';
import { repositoryOf } from '../../artifacts/tags.ts';
import { attestationReferrer } from '../../attestation/referrer.ts';
import { envelopeOf, IN_TOTO_PAYLOAD_TYPE, pae } from '../../attestation/dsse.ts';
import type { StoredAttestation } from '../../attestation/ports.ts';
import { buildStatement, NotSha256, subjectOf, type Statement, type VerificationResult } from '../../attestation/statement.ts';
import { verifyAttestation, type AttestationVerdict } from '../../attestation/verify.ts';

/**
 * A promotion's attestation: made once, when it has ended, by the table's stream consumer — the one
 * process that signs with the audit key — on the event that says so (`Promotion Completed`: PASSED;
 * `Promotion Rolled Back`, and `Promotion Failed` after it changed the target: FAILED). An event
 * delivered again finds the attestation stored and signs nothing; two consumers racing on one event both
 * sign, and the conditional put keeps the first. An artifact copied into the target's registries gets
 * the envelope attached there too, as an OCI referrer of its digest (domain/attestation/referrer.ts),
 * on every delivery of the event: the same referrer each time.
 */

/** The events that may end a promotion with an attestation (attestable says whether this one does). */
const ENDINGS: Record<string, true> = { 'Promotion Completed': true, 'Promotion Rolled Back': true, 'Promotion Failed': true };

/** What a promotion's end says: completed (a rollback's own promotion included) passed, anything else failed. */
export const resultOf = (p: Pick<Promotion, 'status'>): VerificationResult => (p.status === 'COMPLETED' ? 'PASSED' : 'FAILED');

/**
 * Whether a promotion has ended in a way its attestation tells: completed, rolled back, or failed after it
 * changed the target (its `result` is the change; a promotion that failed before changing anything, or a
 * rollout none of whose targets had changed, leaves nothing to attest).
 */
export const attestable = (p: Pick<Promotion, 'status' | 'result'>): boolean =>
  p.status === 'COMPLETED' || p.status === 'ROLLED_BACK' || (p.status === 'FAILED' && !!p.result);

/** Where the statement's URIs point when the function knows no public URL. */
export const NO_PUBLIC_URL = 'https://stageline.invalid';

/** The statement of a promotion that has ended, from its decision record and the evidence the policy accepted. */
export async function promotionStatement(deps: Deps, p: Promotion, keyId: string, rolledBackBy?: string): Promise<Statement> {
  // The evidence is read once, for the decision record and the digests alike.
  const found = await readEvidence(deps, p);
  const record = await decisionRecordOf(deps, p, found);
  const chooser = contentChoosers(p);
  const evidence = everyEvidence(found)
    .filter((e) => forCurrentRelease(e, p) && evidenceAccepted(e, p.policy, chooser))
    .map((e) => ({
      id: e.id,
      type: e.type,
      digest: digestOf({ id: e.id, type: e.type, payload: e.payload, submittedBy: e.submittedBy, submittedAt: e.submittedAt }),
    }));
  return buildStatement({
    verifierUrl: deps.publicUrl ?? NO_PUBLIC_URL,
    tenant: p.tenant,
    keyId,
    promotion: {
      id: p.id,
      subject: p.subject,
      sourceEnvironment: p.sourceEnvironment,
      targetEnvironment: p.targetEnvironment,
      status: p.status,
      releaseDigest: p.releaseDigest,
      policyDigest: p.policyDigest,
      ...(p.rollback ? { rollbackOf: p.rollback.of ?? null } : {}),
      ...(rolledBackBy ? { rolledBackBy } : {}),
    },
    decision: {
      outcome: record.outcome,
      decisionDigest: record.decisionDigest,
      gates: record.gates,
      approvers: record.approvals.filter((a) => a.counted).map((a) => a.by),
    },
    evidence,
    result: resultOf(p),
    timeVerified: p.completedAt ?? p.updatedAt,
  });
}

/** The promotion status a stored attestation's statement tells (what it was attested as). */
function attestedStatus(a: StoredAttestation): string | undefined {
  try {
    return (JSON.parse(Buffer.from(a.envelope.payload, 'base64').toString('utf8')) as Statement).predicate?.stageline?.status;
  } catch {
    return undefined;
  }
}

/**
 * Signs and stores a promotion's attestation, unless it has one that still tells its end (then nothing is
 * signed) or has not ended. One signature (`anchor.signBytes`, with the tenant's own key) per promotion and
 * end: a promotion that completed (PASSED) and was put back by a rollback since (`rolledBackBy`, ROLLED_BACK)
 * gets a new summary for the same subject, FAILED and naming the rollback, which supersedes the first: every
 * reader (the API, the gate, the registry's newest referrer) takes the latest.
 */
export async function attestPromotion(
  deps: With<'anchor'>,
  tenant: string,
  promotionId: string,
  rolledBackBy?: string,
): Promise<{ outcome: 'attested' | 'exists'; promotion: Promotion; attestation: StoredAttestation } | { outcome: 'not_ended' }> {
  const p = await deps.store.getPromotion(tenant, promotionId);
  if (!p || !attestable(p)) return { outcome: 'not_ended' };
  const existing = await deps.store.getAttestation(tenant, promotionId);
  const superseded = existing && p.status === 'ROLLED_BACK' && attestedStatus(existing) === 'COMPLETED' ? existing : undefined;
  if (existing && !superseded) {
    // Signed before, and its entry perhaps lost with the batch that signed it: written now (once).
    await enterInTrail(deps, p, existing);
    return { outcome: 'exists', promotion: p, attestation: existing };
  }
  // The tenant's own key (made on its first attestation), never the deployment's: that one signs only the Merkle anchor.
  const key = await deps.anchor.tenantKey(tenant, true);
  if (!key) throw new Error(`tenant ${tenant} has no attestation key`);
  const { keyId } = key;
  const statement = await promotionStatement(deps, p, keyId, superseded ? rolledBackBy : undefined);
  const payload = Buffer.from(canonicalJson(statement), 'utf8');
  const sig = await deps.anchor.signBytes(tenant, pae(IN_TOTO_PAYLOAD_TYPE, payload));
  const subject = subjectOf(p.subject, p.sourceEnvironment);
  const stored: StoredAttestation = {
    tenant,
    promotionId,
    envelope: envelopeOf(IN_TOTO_PAYLOAD_TYPE, payload, keyId, sig),
    keyId,
    result: statement.predicate.verificationResult,
    subjectDigest: `sha256:${subject.digest.sha256}`,
    at: deps.clock().toISOString(),
    ...(superseded ? { supersedes: superseded.at } : {}),
  };
  if (await deps.store.putAttestation(stored, superseded)) {
    await enterInTrail(deps, p, stored);
    return { outcome: 'attested', promotion: p, attestation: stored };
  }
  return { outcome: 'exists', promotion: p, attestation: (await deps.store.getAttestation(tenant, promotionId)) ?? stored };
}

/**
 * The attestation in the tenant's audit trail: one entry naming its envelope's digest, so the next signed
 * Merkle checkpoint counts it (a changed or swapped envelope no longer matches the chain). Written once:
 * its id and time come from the attestation, and an entry already there is left as it is.
 */
export function attestationEntry(p: Pick<Promotion, 'tenant' | 'id'>, a: StoredAttestation): AuditEntry {
  const h = createHash('sha256')
    .update(`attested\n${p.tenant}\n${p.id}${a.supersedes ? `\n${a.supersedes}` : ''}`)
    .digest('hex');
  return {
    tenant: p.tenant,
    id: `${a.at.replace(/[-:.TZ]/g, '')}-${h.slice(0, 12)}`,
    at: a.at,
    actor: ENGINE.id,
    actorName: ENGINE.name,
    action: 'promotion.attest',
    entityType: 'promotion',
    entityId: p.id,
    before: null,
    after: canonicalJson({
      envelopeDigest: digestOf(a.envelope),
      keyId: a.keyId,
      verificationResult: a.result,
      subjectDigest: a.subjectDigest,
    }),
  };
}

async function enterInTrail(deps: Deps, p: Promotion, a: StoredAttestation): Promise<void> {
  try {
    await deps.store.commit(p.tenant, [{ kind: 'audit', entry: attestationEntry(p, a) }]);
  } catch (err) {
    // In the trail already (the step ran again); a busy store saved nothing: the step is tried again.
    if (!refusedByStored(err)) throw err;
  }
}

/** An id that is the same for every publication of one promotion's `Promotion Attested` (consumers de-duplicate by it), UUID-shaped. */
function attestedEventId(tenant: string, promotionId: string, supersedes?: string): string {
  const h = createHash('sha256')
    .update(`attested\n${tenant}\n${promotionId}${supersedes ? `\n${supersedes}` : ''}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `Promotion Attested` (webhook promotion.attested): the attestation is stored; what it says and where it is. */
export function attestedEvent(deps: Deps, p: Promotion, a: StoredAttestation): DomainEvent {
  const op = promotionEvent(deps, 'Promotion Attested', p, {
    attestation: { verificationResult: a.result, keyId: a.keyId, subjectDigest: a.subjectDigest, url: `/api/v1/promotions/${p.id}/attestation` },
    at: a.at,
  });
  if (op.kind !== 'event') throw new Error('promotionEvent made no event');
  return { ...op.event, id: attestedEventId(p.tenant, p.id, a.supersedes) };
}

/** An attestation that could not be attached in a registry of its environment: the stream's batch fails and is retried. */
export class AttestationNotAttached extends DomainError {
  readonly code = 'ATTESTATION_NOT_ATTACHED';
  override readonly name = 'AttestationNotAttached';
}

/**
 * The attestation of an artifact's (or a bundle's) promotion, attached to each image's digest in each registry of the target
 * it was copied into (`result.synced`), as an OCI referrer (domain/attestation/referrer.ts); the digests of the
 * referrers, or [] when there is nothing to attach (a config release, no registry). A registry that refuses it
 * throws AttestationNotAttached naming it; attaching again makes the same referrer, so a retry is harmless.
 */
export async function attachInRegistries(deps: With<'registry'>, p: Promotion, a: StoredAttestation): Promise<{ registry: string; digest: string }[]> {
  // An artifact, or each member a bundle moved (each is an image of its own in the registries).
  const images = p.subject.type === 'artifact' ? [p.subject] : p.subject.type === 'bundle' ? (p.result?.members ?? []) : [];
  if (!images.length) return [];
  const copied = new Set((p.result?.synced ?? []).map((s) => s.registry));
  if (!copied.size) return [];
  const target = await deps.store.getEnvironment(p.tenant, p.targetEnvironment);
  const registries = (target?.registries ?? []).filter((r) => copied.has(r.name));
  if (!registries.length) return [];
  const out: { registry: string; digest: string }[] = [];
  for (const image of images) {
    const version = await deps.store.getArtifactVersion(p.tenant, image.name, image.version);
    const attached = await deps.registry.attach({
      tenant: p.tenant,
      repository: version ? repositoryOf(version) : image.name,
      digest: image.digest,
      targets: registries,
      ...attestationReferrer(a, p),
    });
    const failed = attached.filter((r) => !r.digest);
    if (failed.length)
      throw new AttestationNotAttached(
        `the attestation of promotion ${p.id} could not be attached to ${image.digest} in ${failed.map((f) => `${f.registry} (${f.reason ?? 'no reason given'})`).join('; ')}`,
      );
    out.push(...attached.map((r) => ({ registry: r.registry, digest: r.digest! })));
  }
  return out;
}

/** The promotions a batch of events ended (each once), for attestPromotion. */
export function endedPromotions(events: DomainEvent[]): { tenant: string; promotionId: string }[] {
  const out = new Map<string, { tenant: string; promotionId: string }>();
  for (const e of events) {
    const id = e.detail.promotionId;
    if (ENDINGS[e.type] && typeof id === 'string') out.set(`${e.tenant}\n${id}`, { tenant: e.tenant, promotionId: id });
  }
  return [...out.values()];
}

/**
 * Each promotion a batch of the stream's events ended gets its attestation (the stream consumer calls
 * this after relaying the batch): once — a redelivered event finds it stored and signs nothing — and, for
 * an artifact in registries, attached there (again on a redelivery: the same referrer). A promotion whose
 * statement cannot be built (a digest that is not sha256) is told to `skipped` and left, never retried
 * forever; a failure to sign, store or attach throws, and the batch is retried (its events are relayed
 * again under their ids, which consumers de-duplicate by; what is left lands in the consumer's DLQ).
 */
export async function attestEnded(
  deps: With<'anchor' | 'events' | 'registry'>,
  events: DomainEvent[],
  skipped: (tenant: string, promotionId: string, reason: string) => void,
): Promise<number> {
  let attested = 0;
  const news: DomainEvent[] = [];
  const failures: Error[] = [];
  const attest = async (tenant: string, promotionId: string, rolledBackBy?: string) => {
    try {
      const r = await attestPromotion(deps, tenant, promotionId, rolledBackBy);
      if (r.outcome === 'not_ended') return null;
      if (r.outcome === 'attested') attested++;
      // Told again with the same id when its end event comes again (a publication lost after the attestation was stored is not lost for good).
      news.push(attestedEvent(deps, r.promotion, r.attestation));
      await attachInRegistries(deps, r.promotion, r.attestation);
      return r.promotion;
    } catch (err) {
      if (err instanceof NotSha256) skipped(tenant, promotionId, err.message);
      // The batch's other promotions are attested (and told) before it fails.
      else failures.push(err as Error);
      return null;
    }
  };
  for (const { tenant, promotionId } of endedPromotions(events)) {
    const p = await attest(tenant, promotionId);
    // A completed rollback marked what it put back ROLLED_BACK (run/end.ts): each gets its new, FAILED summary naming it.
    if (p?.rollback && p.status === 'COMPLETED')
      for (const undone of new Set([p.rollback.of, p.result?.replaced?.promotionId].filter((id): id is string => !!id && id !== p.id)))
        await attest(tenant, undone, p.id);
  }
  if (news.length) await deps.events.publish(news);
  if (failures.length) throw failures[0]!;
  return attested;
}

/**
 * GET /promotions/{id}/attestation: the envelope, its statement, the key's id and whether it verifies
 * now with the public half of the tenant's attestation key (the same check a CLI or a gate makes: verifyAttestation).
 */
export async function getAttestation(
  deps: With<'anchor'>,
  ctx: Ctx,
  id: string,
): Promise<{
  envelope: StoredAttestation['envelope'];
  statement: Statement;
  keyId: string;
  verified: boolean;
  verification: { reason: string; message: string } | null;
}> {
  const p = await loadPromotion(deps, ctx.principal.tenant, id);
  const a = await deps.store.getAttestation(p.tenant, p.id);
  if (!a) throw new AttestationNotFound(p.id, p.status);
  const key = await deps.anchor.tenantKey(p.tenant);
  const verdict: AttestationVerdict = key
    ? verifyAttestation(a.envelope, key.publicKeyPem, { tenant: p.tenant, promotionId: p.id, subjectDigest: a.subjectDigest })
    : { ok: false, reason: 'another_key', message: `tenant ${p.tenant} has no attestation key`, keyId: null };
  const statement = verdict.ok ? verdict.statement : (JSON.parse(Buffer.from(a.envelope.payload, 'base64').toString('utf8')) as Statement);
  return {
    envelope: a.envelope,
    statement,
    keyId: a.keyId,
    verified: verdict.ok,
    verification: verdict.ok ? null : { reason: verdict.reason, message: verdict.message },
  };
}
