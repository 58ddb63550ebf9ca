import { createSecretKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  auditEntry,
  chainLeafHash,
  checkpointPublicKey,
  checkpointValid,
  describePublicKey,
  linkEntries,
  pendingLinks,
  proofProblem,
  rootMessage,
  rootSignatureValid,
} from '../../domain/audit/audit.ts';
import { inclusionPath, merkleRoot } from '../../domain/audit/merkle.ts';
import type { ChainHead } from '../../domain/kernel/model.ts';

/**
 * What the audit trail's verifier refuses: keys that are not P-256, roots and signatures that are
 * malformed even when signed, proofs that are no place in a tree, and a head whose pending links
 * were altered. An auditor re-implementing the checks relies on each refusal.
 */

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const sig = (message: string) => sign('sha256', Buffer.from(message), { key: privateKey, dsaEncoding: 'der' }).toString('base64url');
const hash = (n: number) => n.toString(16).padStart(64, '0');
const AT = '2030-01-01T09:00:00.000Z';

describe('the checkpoint key', () => {
  it('takes a P-256 public key as PEM, DER or a key object (a private key stands for its public key), and names it by its SPKI digest', () => {
    const pem = publicKey.export({ type: 'spki', format: 'pem' });
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const id = describePublicKey(publicKey).keyId;
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(describePublicKey(pem).keyId).toBe(id);
    expect(describePublicKey(der).keyId).toBe(id);
    expect(describePublicKey(privateKey).keyId).toBe(id);
    expect(checkpointPublicKey(privateKey).type).toBe('public');
  });

  it('refuses a key of another curve or algorithm, and a secret key', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey;
    const ed = generateKeyPairSync('ed25519').publicKey;
    expect(() => checkpointPublicKey(p384)).toThrow('the audit checkpoint key is an ECDSA P-256 public key');
    expect(() => checkpointPublicKey(ed)).toThrow('the audit checkpoint key is an ECDSA P-256 public key');
    expect(() => checkpointPublicKey(createSecretKey(randomBytes(32)))).toThrow();
  });
});

describe('a signed root', () => {
  const root = { root: hash(1), size: 3, at: AT };
  it('holds when signed by the key over its root, size and time', () => {
    expect(rootSignatureValid(publicKey, { ...root, sig: sig(rootMessage(root)) })).toBe(true);
    expect(rootSignatureValid(publicKey, { ...root, size: 4, sig: sig(rootMessage(root)) })).toBe(false);
  });

  it('is refused when its root is no hash, its size no count or its time no time, even with a signature over exactly that', () => {
    for (const bad of [{ root: 'not-a-hash' }, { size: 0 }, { size: 1.5 }, { at: 'yesterday' }, { at: 1893488400000 as unknown as string }]) {
      const r = { ...root, ...bad };
      expect(rootSignatureValid(publicKey, { ...r, sig: sig(rootMessage(r)) }), JSON.stringify(bad)).toBe(false);
    }
  });

  it('is refused when its time is not text, even one that reads as the same time and message (a record parsed from JSON can hold any value)', () => {
    const r = { ...root, at: [AT] as unknown as string };
    expect(rootMessage(r)).toBe(rootMessage(root));
    expect(rootSignatureValid(publicKey, { ...r, sig: sig(rootMessage(r)) })).toBe(false);
  });

  it('is refused, not thrown over, when the key given is of another algorithm', () => {
    const ed = generateKeyPairSync('ed25519').publicKey;
    expect(rootSignatureValid(ed, { ...root, sig: sig(rootMessage(root)) })).toBe(false);
  });

  it('is refused when its signature is not the base64url text of one (padding, other characters, none at all)', () => {
    const good = sig(rootMessage(root));
    expect(rootSignatureValid(publicKey, { ...root, sig: `${good}==` })).toBe(false);
    expect(rootSignatureValid(publicKey, { ...root, sig: `${good} ` })).toBe(false);
    expect(rootSignatureValid(publicKey, { ...root, sig: undefined as unknown as string })).toBe(false);
    expect(rootSignatureValid(publicKey, { ...root, sig: 'A'.repeat(40) })).toBe(false);
  });
});

describe('a checkpoint’s inclusion proof', () => {
  const chains = [0, 1, 2].map((i) => ({ tenant: `t${i}`, seq: 10 + i, hash: hash(100 + i) }));
  const leaves = chains.map(chainLeafHash);
  const proofOf = (i: number) => ({ root: merkleRoot(leaves), size: 3, index: i, path: inclusionPath(leaves, i) });
  const checkpoint = (i: number) => {
    const proof = proofOf(i);
    return { ...chains[i]!, at: AT, proof, sig: sig(rootMessage({ root: proof.root, size: proof.size, at: AT })) };
  };

  it('puts its own chain in the signed root; another chain’s proof does not', () => {
    expect(proofProblem(checkpoint(1))).toBeNull();
    expect(checkpointValid(publicKey, checkpoint(1))).toBe(true);
    expect(proofProblem({ ...checkpoint(1), proof: proofOf(2) })).toMatch(/^its inclusion proof does not lead to its signed root/);
  });

  it('says why a malformed proof is no proof', () => {
    const c = checkpoint(1);
    const problem = (proof: unknown) => proofProblem({ ...c, proof: proof as never });
    expect(problem(undefined)).toBe('no inclusion proof');
    expect(problem('a proof')).toBe('no inclusion proof');
    expect(problem({ ...c.proof, root: 'x' })).toBe('its root is not a hash');
    for (const [index, size] of [
      [1, 0],
      [1, 2.5],
      [0.5, 3],
      [-1, 3],
      [3, 3],
    ])
      expect(problem({ ...c.proof, index, size })).toBe(`leaf ${index} of ${size} is no place in a tree`);
    expect(problem({ ...c.proof, path: ['x'] })).toBe('its audit path is not a list of hashes');
    expect(proofProblem({ ...c, seq: 1.5 })).toBe('its tenant, seq or hash is malformed');
    // A tenant that is not text, even one that prints as the chain's own tenant (so its leaf, and the proof, would match).
    expect(proofProblem({ ...c, tenant: ['t1'] as unknown as string })).toBe('its tenant, seq or hash is malformed');
  });
});

describe('a head’s pending links', () => {
  const entries = [1, 2, 3].map((i) =>
    auditEntry('acme', { actor: 'a', actorName: 'a', action: `x.${i}`, entityType: 'config', entityId: `${i}`, before: null, after: null }, new Date(AT)),
  );
  const { links, head } = linkEntries({ seq: 4, hash: hash(4) }, entries, new Date(AT));
  const headWith = (pending: typeof links, h = head): ChainHead => ({ ...h, pending }) as unknown as ChainHead;

  it('are believed when consecutive, chained and ending at the head', () => {
    expect(pendingLinks(headWith(links))).toEqual(links);
    expect(pendingLinks(headWith([]))).toEqual([]);
    expect(pendingLinks(null)).toEqual([]);
  });

  it('are not believed when one is left out, one does not follow the one before, or the last is not the head', () => {
    expect(pendingLinks(headWith([links[0]!, links[2]!]))).toBeNull();
    // Re-linked onto another predecessor: each link hashes right, the seqs follow, the chain does not.
    const other = linkEntries({ seq: 5, hash: hash(9) }, entries.slice(1), new Date(AT)).links;
    expect(pendingLinks(headWith([links[0]!, ...other], { seq: 7, hash: other.at(-1)!.hash }))).toBeNull();
    expect(pendingLinks(headWith(links.slice(0, 2)))).toBeNull();
    // Chained onto the one before, but not the next seq.
    const skipped = linkEntries({ seq: 9, hash: links[0]!.hash }, entries.slice(1, 2), new Date(AT)).links;
    expect(pendingLinks(headWith([links[0]!, ...skipped], { seq: 10, hash: skipped[0]!.hash }))).toBeNull();
    expect(pendingLinks(headWith(links, { ...head, seq: head.seq + 1 }))).toBeNull();
    expect(pendingLinks(headWith(links, { ...head, hash: hash(7) }))).toBeNull();
    expect(pendingLinks(headWith([{ ...links[0]!, entryHash: hash(3) }, ...links.slice(1)]))).toBeNull();
  });

  it('audit entry ids sort by time: the compact timestamp first, then randomness', () => {
    expect(
      auditEntry('acme', { actor: 'a', actorName: 'a', action: 'x', entityType: 'config', entityId: '1', before: null, after: null }, new Date(AT)).id,
    ).toMatch(/^20300101090000000-[0-9a-f]{12}$/);
    expect(entries[0]!.id).toMatch(/^20300101090000000-[0-9a-f]{12}$/);
    expect(entries[0]!.id).not.toBe(entries[1]!.id);
  });
});
