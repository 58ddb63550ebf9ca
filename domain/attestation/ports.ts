import type { DsseEnvelope } from './dsse.ts';
import type { VerificationResult } from './statement.ts';

/** A promotion's signed attestation as it is kept: the latest per promotion (a rollback of it after it completed supersedes its first). */
export interface StoredAttestation {
  tenant: string;
  promotionId: string;
  envelope: DsseEnvelope;
  /** the signing key's id (the envelope's keyid) */
  keyId: string;
  result: VerificationResult;
  /** `sha256:<hex>` the statement's subject carries */
  subjectDigest: string;
  /** when it was signed */
  at: string;
  /** when the attestation this one supersedes was signed (a completed promotion put back by a rollback since) */
  supersedes?: string;
}

/** The attestations of promotions (written by the stream consumer alone, read by the API). */
export interface AttestationStorePort {
  getAttestation(tenant: string, promotionId: string): Promise<StoredAttestation | null>;
  /**
   * A conditional put: false (nothing written) when the promotion has one already; with `replacing`, only
   * while the stored one is still that one (signed at its `at`), which the new one supersedes.
   */
  putAttestation(attestation: StoredAttestation, replacing?: StoredAttestation): Promise<boolean>;
}

/** The attestation context's part of what a use case is given (domain/kernel/deps.ts): signing is the audit anchor's (Ports.anchor). */
declare module '../kernel/deps.ts' {
  interface Store extends AttestationStorePort {}
}
