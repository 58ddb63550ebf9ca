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
  /** The statement a signature covers: the root (v3, a root or a checkpoint under it), or the v2 checkpoint itself. */
  const id = (s: Signed | (Parameters<AuditAnchor['sign']>[0] & { sig: string })) =>
    'root' in s
      ? JSON.stringify(['root', s.root, s.size, s.at, s.sig])
      : 'proof' in s && s.proof
        ? JSON.stringify(['root', s.proof.root, s.proof.size, s.at, s.sig])
        : JSON.stringify([s.tenant, s.seq, s.hash, s.at, s.sig]);
  return {
    async sign(s) {
      const sig = await anchor.sign(s);
      if (mine.size >= capacity) mine.clear();
      mine.add(id({ ...s, sig }));
      return sig;
    },
    append: (checkpoint) => anchor.append(checkpoint),
    list: (tenant, fromSeq) => anchor.list(tenant, fromSeq),
    publicKey: () => anchor.publicKey(),
    async verify(s) {
      if (!('root' in s) && s.proof && proofProblem(s)) return false;
      return mine.has(id({ ...s, sig: String(s.sig) } as Signed)) || anchor.verify(s);
    },
  };
}
