import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { describe, expect, it, inject } from 'vitest';
import { ensureTable, localClient } from '../../local/dynamodb.ts';
import { LocalStreamPoller } from '../../local/stream.ts';

describe('the local stream consumer', () => {
  // Seed 5151 at 10 %, 200 promotions, 24 tenants at once: the consumer fell 100 s behind while idle() said it had
  // caught up, so the checker read two completed promotions before their attestations were signed. A page of the
  // stream whose records the filter leaves out (most writes of a busy table) counted as "nothing delivered".
  it('is idle only once it has read to the end of the stream, however many records its filter leaves out', async () => {
    const endpoint = inject('dynamoEndpoint');
    const tableName = `stream-${randomUUID().slice(0, 8)}`;
    await ensureTable(endpoint, tableName);
    const db = localClient(endpoint);
    const put = (i: number, entity: string) => ({ PutRequest: { Item: { pk: { S: `T#t#X${i}` }, sk: { S: 'X' }, entity: { S: entity } } } });
    // 450 writes the consumer does not take, then one it does.
    for (let from = 0; from < 450; from += 25)
      await db.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: Array.from({ length: 25 }, (_, i) => put(from + i, 'Other')) } }));
    await db.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: [put(999, 'Event')] } }));
    const seen: string[] = [];
    const poller = new LocalStreamPoller({
      endpoint,
      tableName,
      handler: async (e) => void seen.push(...e.Records.map((r) => String((r.dynamodb?.NewImage as { pk?: { S?: string } })?.pk?.S))),
      anchor: async () => undefined,
      tick: async () => undefined,
    });
    poller.start();
    try {
      await poller.idle(20_000);
      expect(seen).toEqual(['T#t#X999']);
    } finally {
      await poller.stop();
      db.destroy();
    }
  });
});
