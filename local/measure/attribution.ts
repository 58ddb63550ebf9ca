import { AsyncLocalStorage } from 'node:async_hooks';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { applyToShadow, consumed, isRead, shadowOf, transactionWrus, type Shadow, type TxItem } from './capacity.ts';

/** Which Lambda invocation sent each DynamoDB request of a measured window, and what it cost. */

export interface Invocation {
  fn: string;
  label: string;
  /** api: an API route; step: a task of the state machine; stream: the table's stream consumer; event: a bus rule's target (alarm-state) */
  kind: 'api' | 'step' | 'stream' | 'event';
  ms: number;
  requests: Record<string, number>;
  /** read capacity DynamoDB Local reported */
  rru: number;
  /** write capacity DynamoDB Local reported (transactions: see transactionWrus) */
  wcuLocal: number;
  /** write units at AWS rules: Local's figure for single-item writes, transactionWrus for transactions */
  wru: number;
  /** of wru: TransactWriteItems table and index arms */
  txTable: number;
  txIndexes: number;
  txLocal: number;
}

export const newInvocation = (fn: string, label: string, kind: Invocation['kind']): Invocation => ({
  fn,
  label,
  kind,
  ms: 0,
  requests: {},
  rru: 0,
  wcuLocal: 0,
  wru: 0,
  txTable: 0,
  txIndexes: 0,
  txLocal: 0,
});

/** Attributes every DynamoDB request to the Lambda invocation (API handler or state-machine task) that sent it. */
export class Attribution {
  readonly als = new AsyncLocalStorage<Invocation>();
  readonly shadows = new Map<string, Shadow>();
  /** requests sent outside any invocation (setup), for completeness */
  readonly outside = newInvocation('setup', 'setup', 'api');

  attach(client: DynamoDBDocumentClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? 'unknown';
        const input = args.input as { TransactItems?: TxItem[]; ReturnConsumedCapacity?: string };
        input.ReturnConsumedCapacity ??= 'TOTAL';
        const inv = this.als.getStore() ?? this.outside;
        inv.requests[command] = (inv.requests[command] ?? 0) + 1;
        const result = await next(args);
        const local = consumed(result.output);
        if (isRead(command)) inv.rru += local;
        else {
          inv.wcuLocal += local;
          if (command === 'TransactWriteItemsCommand' && input.TransactItems) {
            const w = transactionWrus(input.TransactItems, this.shadows);
            if (process.env.BENCH_WRU_DETAIL) {
              for (const t of input.TransactItems) {
                const one = transactionWrus([t], this.shadows);
                const it = (t.Put?.Item ?? (t.Update ?? t.Delete ?? t.ConditionCheck)!.Key) as Record<string, unknown>;
                console.log(
                  `  [wru] ${inv.fn} ${t.Put ? 'Put' : t.Update ? 'Update' : t.Delete ? 'Delete' : 'Check'} ${String(it.entity ?? it.sk)} size=${t.Put ? shadowOf(t.Put.Item).size : '?'} table=${one.table} idx=${one.indexes}`,
                );
              }
            }
            applyToShadow(input.TransactItems, this.shadows);
            inv.txTable += w.table;
            inv.txIndexes += w.indexes;
            inv.txLocal += local;
            inv.wru += w.table + w.indexes;
          } else {
            inv.wru += local;
          }
        }
        return result;
      },
      { step: 'initialize', name: 'benchInvocationAttribution' },
    );
  }

  run<T>(inv: Invocation, fn: () => Promise<T>): Promise<T> {
    return this.als.run(inv, fn);
  }
}
