import { describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign } from 'node:crypto';
import { anchorHeads } from '#domain/audit/anchor';
import { rootMessage, signatureValid } from '#domain/audit/audit';
import type { AuditAnchor } from '#domain/audit/ports';
import type { Checkpoint } from '#domain/kernel/model';
import { rememberingAnchor } from '../../functions/adapters/remembering-anchor.ts';

/** An anchor that signs with a P-256 key and counts what reaches it. */
function counting() {
  const calls = { sign: 0, verify: 0 };
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const anchor: AuditAnchor = {
    sign: async (root) => (calls.sign++, sign('sha256', Buffer.from(rootMessage(root)), { key: privateKey, dsaEncoding: 'der' }).toString('base64url')),
    signBytes: async (_tenant, message) => new Uint8Array(sign('sha256', message, { key: privateKey, dsaEncoding: 'der' })),
    tenantKey: async () => null,
    verify: async (c) => (calls.verify++, signatureValid(publicKey, c)),
    append: async () => undefined,
    list: async () => [],
    publicKey: async () => {
      throw new Error('not used');
    },
  };
  return { anchor, calls };
}

const AT = '2026-01-01T00:00:00.000Z';
const heads = [
  { tenant: 'acme', seq: 7, hash: 'a'.repeat(64) },
  { tenant: 'beta', seq: 3, hash: 'b'.repeat(64) },
];

describe("rememberingAnchor (the stream consumer's anchor)", () => {
  it('checks a checkpoint under a root this process signed without the public key (its proof still checked); anything else goes to the anchor', async () => {
    const { anchor, calls } = counting();
    const a = rememberingAnchor(anchor);
    const run = await anchorHeads({ anchor: a }, heads, new Date(AT));
    const [acme, beta] = run.checkpoints;
    expect(await a.verify(acme!)).toBe(true);
    expect(await a.verify(beta!)).toBe(true);
    expect(await a.verify(run.roots[0]!)).toBe(true);
    expect(calls.verify).toBe(0);
    // Altered: another hash, another tenant (the proof leads elsewhere: refused without asking), a forged signature.
    expect(await a.verify({ ...acme!, hash: 'c'.repeat(64) })).toBe(false);
    expect(await a.verify({ ...acme!, tenant: 'beta' })).toBe(false);
    expect(calls.verify).toBe(0);
    expect(await a.verify({ ...acme!, sig: 'forged-signature-xx' })).toBe(false);
    expect(await a.verify({ ...run.roots[0]!, size: 3 })).toBe(false);
    expect(calls.verify).toBe(2);
    // A root another instance signed (not remembered) is checked, and accepted when genuine.
    const fresh = rememberingAnchor(anchor);
    expect(await fresh.verify(acme!)).toBe(true);
    expect(calls.verify).toBe(3);
    // A checkpoint without its inclusion proof is no checkpoint, even with a signature this process made: refused without asking.
    const { proof: _proof, ...bare } = acme!;
    expect(await a.verify(bare as Checkpoint)).toBe(false);
    expect(await fresh.verify(bare as Checkpoint)).toBe(false);
    expect(calls.verify).toBe(3);
  });

  it('stays bounded: past its capacity it forgets and asks the anchor again', async () => {
    const { anchor, calls } = counting();
    const a = rememberingAnchor(anchor, 2);
    const r1 = { root: '1'.repeat(64), size: 1, at: AT };
    const s1 = await a.sign(r1);
    await a.sign({ root: '2'.repeat(64), size: 1, at: AT });
    await a.sign({ root: '3'.repeat(64), size: 1, at: AT }); // over capacity: the memory starts again
    expect(await a.verify({ ...r1, sig: s1 })).toBe(true);
    expect(calls.verify).toBe(1);
  });
});
