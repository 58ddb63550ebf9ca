import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** What one kind of DynamoDB request cost during a measured window. */
export interface CommandStats {
  requests: number;
  /** keys read (BatchGet/Get) or items written (BatchWrite/TransactWrite/Put/...) */
  items: number;
  /** capacity units DynamoDB reported (0 if it reported none) */
  capacity: number;
}

export type Counts = Record<string, CommandStats>;

type Input = Record<string, unknown> & {
  RequestItems?: Record<string, unknown[] | { Keys?: unknown[] }>;
  TransactItems?: unknown[];
};
type CapacityUnits = { CapacityUnits?: number };

/** Commands that accept ReturnConsumedCapacity (all the store sends). */
const CAPACITY = new Set([
  'GetItemCommand',
  'QueryCommand',
  'BatchGetItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
]);

function itemsOf(command: string, input: Input): number {
  if (input.TransactItems) return input.TransactItems.length;
  if (input.RequestItems) {
    return Object.values(input.RequestItems).reduce<number>((n, r) => n + (Array.isArray(r) ? r.length : (r.Keys?.length ?? 0)), 0);
  }
  return command === 'QueryCommand' ? 0 : 1;
}

function capacityOf(output: unknown): number {
  const c = (output as { ConsumedCapacity?: CapacityUnits | CapacityUnits[] } | undefined)?.ConsumedCapacity;
  if (!c) return 0;
  return (Array.isArray(c) ? c : [c]).reduce((s, x) => s + (x.CapacityUnits ?? 0), 0);
}

/**
 * Counts the requests a DynamoDB client sends, by command, with a middleware at
 * the `initialize` step (once per `send`, before retries, so a count is a
 * logical request). It also asks for ReturnConsumedCapacity=TOTAL and sums it.
 */
export class RequestCounter {
  private counts: Counts = {};

  attach(client: DynamoDBDocumentClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? 'unknown';
        const input = args.input as Input;
        if (CAPACITY.has(command)) input.ReturnConsumedCapacity ??= 'TOTAL';
        const stats = (this.counts[command] ??= { requests: 0, items: 0, capacity: 0 });
        stats.requests++;
        stats.items += itemsOf(command, input);
        const result = await next(args);
        stats.capacity += capacityOf(result.output);
        return result;
      },
      { step: 'initialize', name: 'benchRequestCounter' },
    );
  }

  reset(): void {
    this.counts = {};
  }

  /** The counts since the last reset (a copy). */
  take(): Counts {
    return structuredClone(this.counts);
  }
}

export const totalRequests = (c: Counts) => Object.values(c).reduce((n, s) => n + s.requests, 0);
