import { proofProblem } from '#domain/audit/audit';
import type { AuditAnchor } from '#domain/audit/ports';

/**
 * The audit anchor as the stream consumer uses it: a signature this process produced is known to
 * be valid, so a checkpoint under a root it signed itself — what a warm consumer reads back when it
 * checks a head it did not write (domain/audit/log.ts checkHead) — needs neither the public key nor
 * a key-service call; its inclusion proof (hashes only) is still checked. Anything else is verified
 * by the anchor. Nothing is weakened: what this process signed is exactly what the public key would
 * also call valid.
 */
export function rememberingAnchor(anchor: AuditAnchor, capacity = 1024): AuditAnchor {
  const mine = new Set<string>();
  type Signed = Parameters<AuditAnchor['verify']>[0];
  /** The signed root a signature covers: the root itself, or the one a checkpoint names. */
  const id = (s: Signed): string => {
    const r = 'root' in s ? s : { root: s.proof.root, size: s.proof.size, at: s.at, sig: s.sig };
    return JSON.stringify([r.root, r.size, r.at, r.sig]);
  };
  return {
    async sign(root) {
      const sig = await anchor.sign(root);
      if (mine.size >= capacity) mine.clear();
      mine.add(id({ ...root, sig }));
      return sig;
    },
    signBytes: (tenant, message) => anchor.signBytes(tenant, message),
    tenantKey: (tenant, create) => anchor.tenantKey(tenant, create),
    append: (checkpoint) => anchor.append(checkpoint),
    list: (tenant, fromSeq) => anchor.list(tenant, fromSeq),
    publicKey: () => anchor.publicKey(),
    async verify(s) {
      // A checkpoint without a proof, or whose proof leads from its leaf elsewhere, is refused without asking.
      if (!('root' in s) && proofProblem(s)) return false;
      return mine.has(id(s)) || anchor.verify(s);
    },
  };
}
