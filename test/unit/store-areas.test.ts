import { BatchGetCommand, DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { auditEntry } from '../../domain/audit/audit.ts';
import type { WriteOp } from '../../domain/ports.ts';
import { DynamoStore, documentClient, eventsOf, service, storeAreas } from '../../functions/adapters/dynamo-store.ts';
import { storeBase } from '../../functions/adapters/store/base.ts';
import { writeRegistry } from '../../functions/adapters/store/commit.ts';
import { AREAS, KIND_AREAS, MERGED_AREAS } from '../../functions/adapters/store/on-first-use.ts';

const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());
const client = () => documentClient({ region: 'local', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

describe('the store, composed of its areas', () => {
  it('exposes each method of exactly one area, and commit', () => {
    const areas = storeAreas(storeBase(client(), 'tbl'));
    const owners = new Map<string, string[]>();
    for (const [area, { port }] of Object.entries(areas)) for (const m of Object.keys(port)) owners.set(m, [...(owners.get(m) ?? []), area]);
    expect([...owners].filter(([, o]) => o.length > 1)).toEqual([]);
    const store = new DynamoStore(client(), 'tbl');
    expect(
      Object.keys(store)
        .filter((k) => typeof (store as unknown as Record<string, unknown>)[k] === 'function')
        .sort(),
    ).toEqual([...owners.keys(), 'commit'].sort());
    expect(owners.get('getPromotion')).toEqual(['promotions']);
    expect(owners.get('queryAudit')).toEqual(['audit']);
  });

  it('maps every write kind to the one area that writes it, and refuses a kind or a method claimed twice', () => {
    const base = storeBase(client(), 'tbl');
    const areas = storeAreas(base);
    const registry = writeRegistry(areas);
    expect(registry.get('promotion')).toBe(areas.promotions.writes);
    expect(registry.get('metrics')).toBe(areas.deployments.writes);
    expect(registry.get('event')).toBe(areas.outbox.writes);
    expect(registry.get('repoLink')).toBe(areas.artifacts.writes);
    expect(registry.get('webhook')).toBe(areas.webhooks.writes);
    expect(registry.get('deleteGitTarget')).toBe(areas.gitTargets.writes);
    expect(registry.get('targetHead')).toBe(areas.environments.writes);
    expect(registry.get('ownHeadsBack')).toBe(areas.environments.writes);
    expect(registry.get('rolloutTarget')).toBe(areas.promotions.writes);
    expect(registry.get('leaseFree')).toBe(areas.promotions.writes);
    expect(registry.get('analysisTemplates')).toBe(areas.analysisTemplates.writes);
    expect(registry.get('metricAccounts')).toBe(areas.analysisTemplates.writes);
    expect(registry.get('recurringPromotion')).toBe(areas.policies.writes);
    expect(registry.get('deleteRecurringPromotion')).toBe(areas.policies.writes);
    expect(registry.get('accessBindings')).toBe(areas.tenants.writes);
    expect(registry.get('groupMapping')).toBe(areas.tenants.writes);
    expect(registry.size).toBe(37);
    expect(() => writeRegistry({ ...areas, copy: { port: {}, writes: areas.audit.writes } })).toThrow(/'audit' is claimed by the audit and copy areas/);
    // @ts-expect-error a method defined by two areas does not compile
    expect(() => service(base, { ...areas, copy: { port: { getPromotion: areas.promotions.port.getPromotion } } })).toThrow(
      /getPromotion is defined by two areas/,
    );
  });

  it('commits ops of several areas as one transaction: items in op order from their areas, events on the audit entry, latest tag with its pointer, metric counters merged last', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const audit = auditEntry(
      'acme',
      { actor: 'u', actorName: 'u@x', action: 'promotion.complete', entityType: 'promotion', entityId: 'prm_1', before: null, after: null },
      new Date('2026-01-02T00:00:00Z'),
    );
    const event = {
      id: 'e1',
      type: 'Break Glass Used',
      tenant: 'acme',
      detail: {
        tenant: 'acme',
        environment: 'prod',
        guard: 'protected-environment',
        action: 'promote',
        actor: 'u@x',
        reason: 'hotfix',
        at: '2026-01-02T00:00:00Z',
      },
    };
    const pointer = { environment: 'prod', name: 'web', version: '1.0.0', digest: 'sha256:d', promotedAt: '2026-01-02T00:00:00Z', promotedBy: 'u' };
    const tag = {
      name: 'latest-prod',
      artifact: 'web',
      version: '1.0.0',
      digest: 'sha256:d',
      environment: 'prod',
      kind: 'latest',
      mutable: true,
      createdAt: 't',
      createdBy: 'u',
    };
    const deployment = { id: 'd1', environment: 'prod', deployedAt: '2026-01-02T00:00:00Z' };
    const day = (add: Record<string, number>) => ({ environment: 'prod', day: '2026-01-02', add });
    const ops = [
      { kind: 'event', event },
      { kind: 'pointer', pointer, expectedVersion: 3 },
      { kind: 'tag', tag },
      { kind: 'deployment', deployment, metrics: day({ deploys: 1 }) },
      { kind: 'metrics', delta: day({ deploys: 1, rollbacks: 1 }) },
      { kind: 'audit', entry: audit },
    ] as unknown as WriteOp[];
    await new DynamoStore(client(), 'tbl').commit('acme', ops);
    const calls = ddb.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(1);
    const items = calls[0]!.args[0].input.TransactItems!;
    expect(items.map((i) => String((i.Put?.Item ?? i.Update?.Key)!.sk))).toEqual([
      'PTR#prod#web',
      '2026-01-02T00:00:00Z#d1',
      'D',
      `E#${audit.at}#${audit.id}`,
      'D#2026-01-02',
    ]);
    expect(eventsOf(items[3]!.Put!.Item!)).toEqual([event]);
    expect(items[4]!.Update).toMatchObject({
      ExpressionAttributeNames: { '#m0': 'deploys', '#m1': 'rollbacks' },
      ExpressionAttributeValues: { ':m0': 2, ':m1': 1 },
    });
  });

  it("the store the functions run reaches each area on first use: its method lists, write kinds and merging areas are the areas' own", async () => {
    const areas = storeAreas(storeBase(client(), 'tbl'));
    for (const [name, area] of Object.entries(areas)) {
      expect(Object.keys(AREAS[name as keyof typeof AREAS].methods).sort(), name).toEqual(Object.keys(area.port).sort());
      for (const kind of area.writes?.kinds ?? []) expect(KIND_AREAS[kind], kind).toBe(name);
    }
    expect(Object.keys(AREAS).sort()).toEqual(Object.keys(areas).sort());
    expect([...MERGED_AREAS].sort()).toEqual(
      Object.entries(areas as Record<string, { writes?: { merged?: unknown } }>)
        .filter(([, a]) => a.writes?.merged)
        .map(([n]) => n)
        .sort(),
    );
    // A method that returns at once (the snapshots' node source) still reads through its area.
    ddb.on(BatchGetCommand).resolves({ Responses: { tbl: [] } });
    const nodes = await new DynamoStore(client(), 'tbl').nodes('acme').getNodes(['a1']);
    expect(nodes.size).toBe(0);
  });
});
