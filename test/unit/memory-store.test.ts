import { describe, expect, it } from 'vitest';
import { memoryStore, type MemoryStore } from '../support/memory-store.ts';
import { storeContract } from '../support/store-contract.ts';
import { audit, environment, event, pointer, promotion, snapshot } from '../support/store-contract/fixtures.ts';

/** The memory store keeps the Store contract (the same cases the DynamoDB store passes on DynamoDB Local). */
storeContract(
  'memory',
  () => memoryStore(),
  async (store, item) => (store as MemoryStore).table.put(item),
);

describe('the memory store, beyond the contract', () => {
  it('refuses what DynamoDB refuses, writing nothing of the commit: an item twice, a value it cannot hold, no item', async () => {
    const store = memoryStore();
    const p = pointer('dev', 'web', 'v1', 1);
    await expect(
      store.commit('acme', [
        { kind: 'pointer', pointer: p, expectedVersion: null },
        { kind: 'pointer', pointer: { ...p, version: 'v2' }, expectedVersion: null },
      ]),
    ).rejects.toThrow(/touches .* twice/);
    await expect(
      store.commit('acme', [
        { kind: 'pointer', pointer: p, expectedVersion: null },
        { kind: 'promotion', promotion: { ...promotion('acme'), version: NaN }, expectedVersion: null },
      ]),
    ).rejects.toThrow(/not a number DynamoDB can hold/);
    await expect(store.commit('acme', [])).rejects.toThrow(/at least one item/);
    expect(await store.getPointer('acme', 'dev', 'web')).toBeNull();
  });

  it('hands out copies: changing what was read or written changes nothing stored', async () => {
    const store = memoryStore();
    const dev = environment('acme', 'dev', 0);
    await store.createEnvironment(dev, snapshot('dev', 1), audit('acme'));
    dev.registries.push({ name: 'x', url: 'https://x.test' });
    const read = (await store.getEnvironment('acme', 'dev'))!;
    read.gates.tests = true;
    expect(await store.getEnvironment('acme', 'dev')).toEqual(environment('acme', 'dev', 0));
  });

  it('keeps the events each commit carried, in commit order, per tenant', async () => {
    const store = memoryStore();
    const [a, b, c] = [event('acme'), event('acme'), event('beta')];
    await store.commit('acme', [
      { kind: 'audit', entry: audit('acme') },
      { kind: 'event', event: a },
    ]);
    await store.commit('acme', [{ kind: 'event', event: b }]);
    await store.commit('beta', [{ kind: 'event', event: c }]);
    await expect(store.commit('acme', [{ kind: 'event', event: b }])).rejects.toThrow();
    expect(store.outbox('acme')).toEqual([a, b]);
    expect(store.outbox()).toEqual([a, b, c]);
  });
});
