import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '#domain/kernel/model';
import type { AuditAnchor } from '#domain/ports';
import { rememberingAnchor } from '../../functions/adapters/remembering-anchor.ts';

/** An anchor that signs with a fixed secret and counts what reaches it. */
function counting() {
  const calls = { sign: 0, verify: 0 };
  const mac = (tenant: string, seq: number, hash: string) => Buffer.from(`k|${tenant}|${seq}|${hash}`).toString('base64url');
  const anchor: AuditAnchor = {
    sign: async (c) => (calls.sign++, mac(c.tenant, c.seq, c.hash)),
    verify: async (c) => (calls.verify++, c.sig === mac(c.tenant, c.seq, c.hash)),
    append: async (_c: Checkpoint) => undefined,
    list: async () => [],
    publicKey: async () => {
      throw new Error('not used');
    },
  };
  return { anchor, calls };
}

const AT = '2026-01-01T00:00:00.000Z';

describe('rememberingAnchor (the stream consumer\'s anchor)', () => {
  it('checks a head this process signed without asking the key service; anything else goes to the anchor', async () => {
    const { anchor, calls } = counting();
    const a = rememberingAnchor(anchor);
    const mac = await a.sign({ tenant: 'acme', seq: 7, hash: 'h7', at: AT });
    expect(await a.verify({ tenant: 'acme', seq: 7, hash: 'h7', at: AT, sig: mac })).toBe(true);
    expect(calls.verify).toBe(0);
    // Altered in the table: another hash, another tenant, a forged MAC — each is checked, and refused.
    expect(await a.verify({ tenant: 'acme', seq: 7, hash: 'h8', at: AT, sig: mac })).toBe(false);
    expect(await a.verify({ tenant: 'other', seq: 7, hash: 'h7', at: AT, sig: mac })).toBe(false);
    expect(await a.verify({ tenant: 'acme', seq: 7, hash: 'h7', at: AT, sig: 'forged' })).toBe(false);
    expect(calls.verify).toBe(3);
    // A head another instance wrote (not remembered) is checked, and accepted when genuine.
    const fresh = rememberingAnchor(anchor);
    expect(await fresh.verify({ tenant: 'acme', seq: 7, hash: 'h7', at: AT, sig: mac })).toBe(true);
    expect(calls.verify).toBe(4);
  });

  it('stays bounded: past its capacity it forgets and asks the anchor again', async () => {
    const { anchor, calls } = counting();
    const a = rememberingAnchor(anchor, 2);
    const m1 = await a.sign({ tenant: 't', seq: 1, hash: 'a', at: AT });
    await a.sign({ tenant: 't', seq: 2, hash: 'b', at: AT });
    await a.sign({ tenant: 't', seq: 3, hash: 'c', at: AT }); // over capacity: the memory starts again
    expect(await a.verify({ tenant: 't', seq: 1, hash: 'a', at: AT, sig: m1 })).toBe(true);
    expect(calls.verify).toBe(1);
  });
});
