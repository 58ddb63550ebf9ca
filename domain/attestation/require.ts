import type { With } from '../kernel/deps.ts';
import type { Environment } from '../kernel/model.ts';
import type { Promotion } from '../kernel/promotion-model.ts';
import { subjectOf } from './statement.ts';
import { verifyAttestation } from './verify.ts';

/**
 * An environment that requires attestations (`requireAttestationFrom: [staging]` on the environment, or
 * on the pair's rule): a release is promoted into it only when it carries, from each environment named, a
 * signed verification summary that says it passed there — a forward promotion into that environment
 * completed it (and was not rolled back since), its attestation verifies with this tenant's public key
 * (the one check, verify.ts, that the CLI and any outside verifier make), is about this release's digest
 * and this tenant, and its result is PASSED. Anything else fails closed: the policy_compliance gate
 * fails naming the environment, and nothing changes.
 *
 * An artifact is found by its digest (the newest completed promotions of it into the environment). A
 * config or flag release is a snapshot of its source environment: the attestation it can carry is the
 * one of the promotion that made that snapshot (its `result.snapshotSeq`), so only the source
 * environment can be required for it; another environment is refused with that reason.
 */

/** How the gates check required attestations: attestationsMissing with the audit key, where it is at hand. */
export type AttestationCheck = (p: Promotion, from: string[]) => Promise<string[]>;

/** Where the audit key is not at hand (a rebase: its function does not hold it), the flow's validation checks them: fail closed until it does. */
export const checkedByValidation = (from: string[]): string[] => [
  `the release must carry attestations from ${from.map((e) => `'${e}'`).join(' and ')}: validate the promotion again (POST …/validate) to check them`,
];

/** How many of the newest completed promotions into an environment are searched for the release. */
const SEARCHED = 100;

/** The environments a promotion into `target` needs attestations from: the target's and its rule's, each once, never the target itself. */
export function attestationsRequired(target: Pick<Environment, 'name' | 'requireAttestationFrom'> | null, p: Pick<Promotion, 'policy' | 'rollback'>): string[] {
  // A rollback returns to a release that ran here before: its gate is the impact analysis.
  if (p.rollback) return [];
  const named = [...(target?.requireAttestationFrom ?? []), ...(p.policy.requireAttestationFrom ?? [])];
  return [...new Set(named)].filter((e) => e !== target?.name);
}

/** The completed forward promotion into `env` that made this release what it is there, or why there is none. */
async function promotionInto(deps: With<never>, p: Promotion, env: string): Promise<Promotion | string> {
  const subject = p.subject;
  if (subject.type === 'config' && env !== p.sourceEnvironment)
    return `a config release is a snapshot of '${p.sourceEnvironment}', so only '${p.sourceEnvironment}' can attest it`;
  let cursor: string | undefined;
  let seen = 0;
  do {
    const page = await deps.store.listPromotions(
      p.tenant,
      {
        target: env,
        subject: subject.type === 'artifact' ? subject.name : subject.type === 'bundle' ? `bundle:${subject.name}` : 'config',
        status: ['COMPLETED'],
      },
      50,
      cursor,
    );
    for (const q of page.items) {
      if (q.rollback || q.status !== 'COMPLETED') continue;
      if (
        subject.type === 'artifact'
          ? q.subject.type === 'artifact' && q.subject.digest === subject.digest
          : subject.type === 'bundle'
            ? q.subject.type === 'bundle' && q.subject.digest === subject.digest
            : q.result?.snapshotSeq === subject.sourceSnapshot.seq
      )
        return q;
    }
    seen += page.items.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor && seen < SEARCHED);
  if (subject.type === 'bundle') return `no completed promotion of bundle ${subject.name} (${subject.digest}) into '${env}'`;
  return subject.type === 'artifact'
    ? `no completed promotion of ${subject.name}@${subject.version} (${subject.digest}) into '${env}'`
    : `snapshot ${subject.sourceSnapshot.seq} of '${env}' was not made by a completed promotion into it`;
}

/**
 * What is missing, one phrase per environment ([] when every required attestation is there and holds).
 * The public key is read once (the anchor keeps it), and only when an attestation is found.
 */
export async function attestationsMissing(deps: With<'anchor'>, p: Promotion, from: string[]): Promise<string[]> {
  if (!from.length) return [];
  const out = await Promise.all(
    from.map(async (env): Promise<string | null> => {
      const q = await promotionInto(deps, p, env);
      if (typeof q === 'string') return `no attestation from '${env}': ${q}`;
      const a = await deps.store.getAttestation(p.tenant, q.id);
      if (!a) return `no attestation from '${env}': promotion ${q.id} completed there but is not attested yet (validate again in a moment)`;
      // The tenant's own attestation key: another tenant's statement (signed with its own key) never verifies here.
      const key = await deps.anchor.tenantKey(p.tenant);
      if (!key) return `the attestation from '${env}' (promotion ${q.id}) does not verify: tenant ${p.tenant} has no attestation key`;
      const expected = `sha256:${subjectOf(q.subject, q.sourceEnvironment).digest.sha256}`;
      const v = verifyAttestation(a.envelope, key.publicKeyPem, { tenant: p.tenant, promotionId: q.id, subjectDigest: expected });
      if (!v.ok) return `the attestation from '${env}' (promotion ${q.id}) does not verify: ${v.message}`;
      const own = v.statement.predicate.stageline;
      if (v.statement.predicate.verificationResult !== 'PASSED')
        return `the attestation from '${env}' (promotion ${q.id}) says ${v.statement.predicate.verificationResult}`;
      if (own.targetEnvironment !== env || own.rollbackOf !== undefined) return `the attestation of promotion ${q.id} is not a forward promotion into '${env}'`;
      return null;
    }),
  );
  return out.filter((m): m is string => m !== null);
}
