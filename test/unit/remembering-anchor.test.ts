import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '#domain/model';
import type { AuditAnchor } from '#domain/ports';
import { rememberingAnchor } from '../../functions/adapters/remembering-anchor.ts';

/** An anchor that MACs with a fixed secret and counts what reaches it. */
function counting() {
  const calls = { sign: 0, verify: 0 };
  const mac = (tenant: string, seq: number, hash: string) => Buffer.from(`k|${tenant}|${seq}|${hash}`).toString('base64url');
  const anchor: AuditAnchor = {
    sign: async (tenant, seq, hash) => (calls.sign++, mac(tenant, seq, hash)),
    verify: async (c) => (calls.verify++, c.mac === mac(c.tenant, c.seq, c.hash)),
    append: async (_c: Checkpoint) => undefined,
    list: async () => [],
  };
  return { anchor, calls };
}

describe('rememberingAnchor (the stream consumer\'s anchor)', () => {
  it('checks a head this process signed without asking the key service; anything else goes to the anchor', async () => {
    const { anchor, calls } = counting();
    const a = rememberingAnchor(anchor);
    const mac = await a.sign('acme', 7, 'h7');
    expect(await a.verify({ tenant: 'acme', seq: 7, hash: 'h7', mac })).toBe(true);
    expect(calls.verify).toBe(0);
    // Altered in the table: another hash, another tenant, a forged MAC — each is checked, and refused.
    expect(await a.verify({ tenant: 'acme', seq: 7, hash: 'h8', mac })).toBe(false);
    expect(await a.verify({ tenant: 'other', seq: 7, hash: 'h7', mac })).toBe(false);
    expect(await a.verify({ tenant: 'acme', seq: 7, hash: 'h7', mac: 'forged' })).toBe(false);
    expect(calls.verify).toBe(3);
    // A head another instance wrote (not remembered) is checked, and accepted when genuine.
    const fresh = rememberingAnchor(anchor);
    expect(await fresh.verify({ tenant: 'acme', seq: 7, hash: 'h7', mac })).toBe(true);
    expect(calls.verify).toBe(4);
  });

  it('stays bounded: past its capacity it forgets and asks the anchor again', async () => {
    const { anchor, calls } = counting();
    const a = rememberingAnchor(anchor, 2);
    const m1 = await a.sign('t', 1, 'a');
    await a.sign('t', 2, 'b');
    await a.sign('t', 3, 'c'); // over capacity: the memory starts again
    expect(await a.verify({ tenant: 't', seq: 1, hash: 'a', mac: m1 })).toBe(true);
    expect(calls.verify).toBe(1);
  });
});
