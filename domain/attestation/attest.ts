import { canonicalJson, digestOf } from '../kernel/canonical.ts';
import { AttestationNotFound } from '../kernel/errors.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import type { DomainEvent } from '../kernel/ports.ts';
import type { Promotion } from '../kernel/promotion-model.ts';
import { contentChoosers, evidenceAccepted } from '../promotion/request/policy.ts';
import { evidenceOwners, forCurrentRelease } from '../promotion/aggregate.ts';
import { decisionRecord } from '../promotion/views.ts';
import { loadPromotion } from '../promotion/write.ts';
import { envelopeOf, IN_TOTO_PAYLOAD_TYPE, pae } from './dsse.ts';
import type { StoredAttestation } from './ports.ts';
import { buildStatement, NotSha256, subjectOf, type Statement, type VerificationResult } from './statement.ts';
import { verifyAttestation, type AttestationVerdict } from './verify.ts';

/**
 * A promotion's attestation: made once, when it has ended, by the table's stream consumer — the one
 * process that signs with the audit key — on the event that says so (`Promotion Completed`: PASSED;
 * `Promotion Rolled Back`: FAILED). An event delivered again finds the attestation stored and signs
 * nothing; two consumers racing on one event both sign, and the conditional put keeps the first.
 */

/** The events that end a promotion with an attestation, and the result each gives. */
const ENDINGS: Record<string, true> = { 'Promotion Completed': true, 'Promotion Rolled Back': true };

/** What a promotion's end says: completed (a rollback's own promotion included) passed, anything else failed. */
export const resultOf = (p: Pick<Promotion, 'status'>): VerificationResult => (p.status === 'COMPLETED' ? 'PASSED' : 'FAILED');

const ENDED = new Set(['COMPLETED', 'ROLLED_BACK', 'FAILED']);

/** Where the statement's URIs point when the function knows no public URL. */
export const NO_PUBLIC_URL = 'https://stageline.invalid';

const machine = (tenant: string): Ctx => ({ principal: { tenant, id: 'stageline', name: 'stageline', roles: ['viewer'], kind: 'machine' } }) as Ctx;

/** The statement of a promotion that has ended, from its decision record and the evidence the policy accepted. */
export async function promotionStatement(deps: Deps, p: Promotion): Promise<Statement> {
  const record = await decisionRecord(deps, machine(p.tenant), p.id);
  const chooser = contentChoosers(p);
  const evidence = (await deps.store.listEvidence(p.tenant, evidenceOwners(p)))
    .filter((e) => forCurrentRelease(e, p) && evidenceAccepted(e, p.policy, chooser))
    .map((e) => ({
      id: e.id,
      type: e.type,
      digest: digestOf({ id: e.id, type: e.type, payload: e.payload, submittedBy: e.submittedBy, submittedAt: e.submittedAt }),
    }));
  return buildStatement({
    verifierUrl: deps.publicUrl ?? NO_PUBLIC_URL,
    tenant: p.tenant,
    promotion: {
      id: p.id,
      subject: p.subject,
      sourceEnvironment: p.sourceEnvironment,
      targetEnvironment: p.targetEnvironment,
      status: p.status,
      releaseDigest: p.releaseDigest,
      policyDigest: p.policyDigest,
      ...(p.rollback ? { rollbackOf: p.rollback.of ?? null } : {}),
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

/**
 * Signs and stores a promotion's attestation, unless it has one (then nothing is signed) or has not
 * ended. One signature (`anchor.signBytes`) per promotion.
 */
export async function attestPromotion(deps: With<'anchor'>, tenant: string, promotionId: string): Promise<'attested' | 'exists' | 'not_ended'> {
  if (await deps.store.getAttestation(tenant, promotionId)) return 'exists';
  const p = await deps.store.getPromotion(tenant, promotionId);
  if (!p || !ENDED.has(p.status)) return 'not_ended';
  const statement = await promotionStatement(deps, p);
  const payload = Buffer.from(canonicalJson(statement), 'utf8');
  const { keyId } = await deps.anchor.publicKey();
  const sig = await deps.anchor.signBytes(pae(IN_TOTO_PAYLOAD_TYPE, payload));
  const subject = subjectOf(p.subject, p.sourceEnvironment);
  const stored: StoredAttestation = {
    tenant,
    promotionId,
    envelope: envelopeOf(IN_TOTO_PAYLOAD_TYPE, payload, keyId, sig),
    keyId,
    result: statement.predicate.verificationResult,
    subjectDigest: `sha256:${subject.digest.sha256}`,
    at: deps.clock().toISOString(),
  };
  return (await deps.store.putAttestation(stored)) ? 'attested' : 'exists';
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
 * this after relaying the batch): once — a redelivered event finds it stored and signs nothing. A
 * promotion whose statement cannot be built (a digest that is not sha256) is told to `skipped` and
 * left, never retried forever; a failure to sign or store throws, and the batch is retried (its events
 * are relayed again under their ids, which consumers de-duplicate by).
 */
export async function attestEnded(
  deps: With<'anchor'>,
  events: DomainEvent[],
  skipped: (tenant: string, promotionId: string, reason: string) => void,
): Promise<number> {
  let attested = 0;
  for (const { tenant, promotionId } of endedPromotions(events)) {
    try {
      if ((await attestPromotion(deps, tenant, promotionId)) === 'attested') attested++;
    } catch (err) {
      if (!(err instanceof NotSha256)) throw err;
      skipped(tenant, promotionId, err.message);
    }
  }
  return attested;
}

/**
 * GET /promotions/{id}/attestation: the envelope, its statement, the key's id and whether it verifies
 * now with the audit key's public half (the same check a CLI or a gate makes: verifyAttestation).
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
  const key = await deps.anchor.publicKey();
  const verdict: AttestationVerdict = verifyAttestation(a.envelope, key.publicKeyPem, { tenant: p.tenant, promotionId: p.id, subjectDigest: a.subjectDigest });
  const statement = verdict.ok ? verdict.statement : (JSON.parse(Buffer.from(a.envelope.payload, 'base64').toString('utf8')) as Statement);
  return {
    envelope: a.envelope,
    statement,
    keyId: a.keyId,
    verified: verdict.ok,
    verification: verdict.ok ? null : { reason: verdict.reason, message: verdict.message },
  };
}
