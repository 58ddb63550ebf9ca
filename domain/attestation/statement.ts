import type { Subject } from '../kernel/promotion-model.ts';

/**
 * A promotion's evidence as an in-toto Statement v1 whose predicate is a SLSA Verification Summary
 * (VSA v1): Stageline is the verifier, the release is the subject, the promotion's policy (its digest
 * as the decision record has it) is the policy verified against, the evidence it accepted are the
 * input attestations; Stageline's own fields (tenant, environments, gate verdicts, approvers, the
 * decision record's digest) sit under `predicate.stageline`, which VSA consumers ignore. Pure: the
 * same inputs give the same statement (timeVerified is when the promotion ended, not when it is built).
 */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const VSA_PREDICATE_TYPE = 'https://slsa.dev/verification_summary/v1';
/** The version of what Stageline puts in the statement (`verifier.version`). */
export const ATTESTATION_FORMAT_VERSION = '1';

/**
 * `verifiedLevels` of a passed promotion: Stageline checks its own promotion policy (gates, approvals,
 * evidence), not how the artifact was built, so it claims no `SLSA_` track level (VSA v1 reserves those
 * names; custom values are allowed). A failed one says FAILED.
 */
export const PROMOTION_POLICY_LEVEL = 'STAGELINE_PROMOTION_POLICY';

export type VerificationResult = 'PASSED' | 'FAILED';

export interface DigestSet {
  sha256: string;
}

export interface InTotoSubject {
  name: string;
  digest: DigestSet;
}

export interface StagelinePredicateFields {
  /** the tenant whose promotion this is: its own key signs the envelope (a verifier is told which tenant it expects) */
  tenant: string;
  /** the tenant's attestation key that signs it (`sha256:` of its DER SPKI, the envelope's keyid): a statement names its signer */
  keyId: string;
  promotionId: string;
  sourceEnvironment: string;
  targetEnvironment: string;
  /** the promotion's status when it was attested (COMPLETED, ROLLED_BACK, FAILED) */
  status: string;
  /** the decision record's outcome (ALLOWED, BLOCKED_BY_GATES, …) */
  outcome: string;
  /** `sha256:` digest of exactly what was promoted (approvals are bound to it) */
  releaseDigest: string;
  /** `sha256:` digest of the decision record (GET /promotions/{id}/decision `decisionDigest`) */
  decisionDigest: string;
  gates: { gate: string; verdict: string; blocking: boolean }[];
  /** approvers whose approval counted */
  approvers: string[];
  /** set when the promotion is a rollback: the promotion it undoes, when it names one */
  rollbackOf?: string | null;
  /** set when a rollback put this promotion's change back after it completed: that rollback (the summary is FAILED since) */
  rolledBackBy?: string;
}

export interface VerificationSummary {
  verifier: { id: string; version: Record<string, string> };
  timeVerified: string;
  resourceUri: string;
  policy: { uri: string; digest: DigestSet };
  inputAttestations: { uri: string; digest: DigestSet }[];
  verificationResult: VerificationResult;
  verifiedLevels: string[];
  stageline: StagelinePredicateFields;
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: InTotoSubject[];
  predicateType: typeof VSA_PREDICATE_TYPE;
  predicate: VerificationSummary;
}

/** What a statement is built from: the promotion, its decision record and its evidence, read by attest.ts. */
export interface StatementInput {
  /** this Stageline's public base URL (verifier.id; the URIs are under it) */
  verifierUrl: string;
  tenant: string;
  /** the id of the tenant's attestation key that signs the statement */
  keyId: string;
  promotion: {
    id: string;
    subject: Subject;
    sourceEnvironment: string;
    targetEnvironment: string;
    status: string;
    releaseDigest: string;
    policyDigest: string;
    rollbackOf?: string | null;
    rolledBackBy?: string;
  };
  decision: {
    outcome: string;
    decisionDigest: string;
    gates: { gate: string; verdict: string; blocking: boolean }[];
    approvers: string[];
  };
  /** the evidence the policy accepted, each with the digest of its content */
  evidence: { id: string; type: string; digest: string }[];
  result: VerificationResult;
  /** when the promotion ended */
  timeVerified: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** A digest a statement cannot carry (it names sha256 digests only). */
export class NotSha256 extends Error {
  constructor(digest: string) {
    super(`not a sha256 digest: ${digest}`);
    this.name = 'NotSha256';
  }
}

/** The hex of a `sha256:<hex>` digest (or bare hex); throws NotSha256 on anything else. */
export function sha256Hex(digest: string): string {
  const hex = digest.startsWith('sha256:') ? digest.slice(7) : digest;
  if (!HEX64.test(hex)) throw new NotSha256(digest);
  return hex;
}

/** The digest that identifies the release: an artifact's image digest, a config release's source snapshot content digest. */
export function subjectOf(subject: Subject, sourceEnvironment: string): InTotoSubject {
  return subject.type === 'artifact'
    ? { name: subject.name, digest: { sha256: sha256Hex(subject.digest) } }
    : subject.type === 'bundle'
      ? { name: `bundle:${subject.name}`, digest: { sha256: sha256Hex(subject.digest) } }
      : { name: `config:${sourceEnvironment}@${subject.sourceSnapshot.seq}`, digest: { sha256: sha256Hex(subject.sourceSnapshot.digest) } };
}

/**
 * Every subject of the statement: the release's own digest first; for a bundle then each member's image
 * digest and its configuration snapshot's content digest, so an admission check finds any member by its digest.
 */
export function subjectsOf(subject: Subject, sourceEnvironment: string): InTotoSubject[] {
  if (subject.type !== 'bundle') return [subjectOf(subject, sourceEnvironment)];
  return [
    subjectOf(subject, sourceEnvironment),
    ...subject.members.map((m) => ({ name: m.name, digest: { sha256: sha256Hex(m.digest) } })),
    ...(subject.config ? [{ name: `config:${subject.config.environment}@${subject.config.seq}`, digest: { sha256: sha256Hex(subject.config.digest) } }] : []),
  ];
}

const base = (url: string) => url.replace(/\/+$/, '');

/** The release's URI in this Stageline (VSA `resourceUri`). */
export function resourceUriOf(verifierUrl: string, subject: Subject, sourceEnvironment: string): string {
  if (subject.type === 'bundle') return `${base(verifierUrl)}/api/v1/bundles/${encodeURIComponent(subject.name)}?digest=${encodeURIComponent(subject.digest)}`;
  return subject.type === 'artifact'
    ? `${base(verifierUrl)}/api/v1/artifacts/${encodeURIComponent(subject.name)}/versions/${encodeURIComponent(subject.version)}`
    : `${base(verifierUrl)}/api/v1/environments/${encodeURIComponent(sourceEnvironment)}/snapshots/${subject.sourceSnapshot.seq}`;
}

export function buildStatement(input: StatementInput): Statement {
  const { promotion: p, decision: d } = input;
  const url = base(input.verifierUrl);
  const promotionUri = `${url}/api/v1/promotions/${encodeURIComponent(p.id)}`;
  return {
    _type: STATEMENT_TYPE,
    subject: subjectsOf(p.subject, p.sourceEnvironment),
    predicateType: VSA_PREDICATE_TYPE,
    predicate: {
      verifier: { id: url, version: { stageline: ATTESTATION_FORMAT_VERSION } },
      timeVerified: input.timeVerified,
      resourceUri: resourceUriOf(url, p.subject, p.sourceEnvironment),
      policy: { uri: `${promotionUri}/decision#policy`, digest: { sha256: sha256Hex(p.policyDigest) } },
      inputAttestations: [...input.evidence]
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((e) => ({ uri: `${promotionUri}/evidence#${encodeURIComponent(e.id)}`, digest: { sha256: sha256Hex(e.digest) } })),
      verificationResult: input.result,
      verifiedLevels: input.result === 'PASSED' ? [PROMOTION_POLICY_LEVEL] : ['FAILED'],
      stageline: {
        tenant: input.tenant,
        keyId: input.keyId,
        promotionId: p.id,
        sourceEnvironment: p.sourceEnvironment,
        targetEnvironment: p.targetEnvironment,
        status: p.status,
        outcome: d.outcome,
        releaseDigest: p.releaseDigest,
        decisionDigest: d.decisionDigest,
        gates: d.gates.map((g) => ({ gate: g.gate, verdict: g.verdict, blocking: g.blocking })),
        approvers: [...d.approvers],
        ...(p.rollbackOf !== undefined ? { rollbackOf: p.rollbackOf } : {}),
        ...(p.rolledBackBy !== undefined ? { rolledBackBy: p.rolledBackBy } : {}),
      },
    },
  };
}
