import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chainEntry, verifyChain, type AuditDraft } from '../../domain/audit.ts';
import type { AuditEntry } from '../../domain/model.ts';

const draft = (i: number): AuditDraft => ({
  actor: `u${i % 3}`,
  actorName: `user${i % 3}@x.test`,
  action: 'config.update',
  entityType: 'config',
  entityId: `dev/key${i}`,
  before: `sha256:${i}`,
  after: `sha256:${i + 1}`,
});

function chain(n: number, times: number[]): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (let i = 0; i < n; i++) {
    const prev = out[out.length - 1];
    out.push(chainEntry('t1', prev ? { seq: prev.seq, hash: prev.hash, at: prev.at } : null, draft(i), new Date(times[i % times.length]!)));
  }
  return out;
}

describe('audit hash chain', () => {
  it('verifies an untouched chain, and time never goes backwards along it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.integer({ min: 0, max: 4e12 }), { minLength: 1, maxLength: 10 }), (n, times) => {
        const entries = chain(n, times);
        expect(verifyChain(entries)).toMatchObject({ ok: true, checked: n });
        for (let i = 1; i < entries.length; i++) expect(entries[i]!.at >= entries[i - 1]!.at).toBe(true);
      }),
    );
  });

  it('reports the first altered entry', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 30 }), fc.nat(), fc.constantFrom('actor', 'action', 'after', 'at', 'reason'), (n, pick, field) => {
        const entries = chain(n, [1e12]);
        const i = pick % n;
        const tampered = entries.map((e, j) => (j === i ? { ...e, [field]: 'forged' } : e));
        const r = verifyChain(tampered);
        expect(r.ok).toBe(false);
        expect(r.firstBroken?.seq).toBe(i + 1);
      }),
    );
  });

  it('reports a removed entry', () => {
    const entries = chain(10, [1e12]);
    const r = verifyChain([...entries.slice(0, 4), ...entries.slice(5)]);
    expect(r).toMatchObject({ ok: false, firstBroken: { seq: 5 } });
  });

  it('reports an entry whose hash was recomputed after tampering (the next link breaks)', () => {
    const entries = chain(6, [1e12]);
    const { hash: _h, ...body } = { ...entries[2]!, actorName: 'mallory' };
    const rehashed = chainEntry('t1', { seq: entries[1]!.seq, hash: entries[1]!.hash, at: entries[1]!.at }, { ...body }, new Date(body.at));
    const r = verifyChain([...entries.slice(0, 2), rehashed, ...entries.slice(3)]);
    expect(r).toMatchObject({ ok: false, firstBroken: { seq: 4 } });
  });
});
