import { TransactionCanceledException, TransactionConflictException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { faultError, type FaultKind, type FaultPlan } from './faults.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The step Lambda as the local workflow runner invokes it, under a fault plan: what Step Functions and
 * Lambda do to a task now and then. The errors carry the names AWS gives them, so the ASL's own Retry
 * and Catch decide what happens next, as they would on AWS.
 */
export function faultyStep(plan: FaultPlan, invoke: (payload: unknown) => Promise<unknown>): (payload: unknown) => Promise<unknown> {
  return async (payload) => {
    const kind = plan.pick(['step.before', 'step.after', 'step.timeout', 'step.twice'], stepOf(payload));
    switch (kind) {
      case 'step.before':
        // The invoke never reached the function (Lambda's own 5xx).
        throw faultError('Lambda.ServiceException', 'the step was not invoked');
      case 'step.after':
        // The function ran to its end; its answer never reached Step Functions.
        await invoke(payload);
        throw faultError('Lambda.SdkClientException', 'the step ran, its answer was lost');
      case 'step.timeout':
        // The function ran past its timeout: Lambda stops it there (what it did by then is done), and Step Functions
        // sees Sandbox.Timedout. Lambda stops it, so the retry never runs beside it; here it runs to its end first,
        // the most it can have done (a step stopped earlier did less of the same, and is retried the same way).
        await invoke(payload).catch(() => undefined);
        await sleep(plan.delay());
        throw faultError('Sandbox.Timedout', 'the step ran past its timeout');
      case 'step.twice':
        // At-least-once: the task ran twice, the second answer counts.
        await invoke(payload).catch(() => undefined);
        return invoke(payload);
      default:
        return invoke(payload);
    }
  };
}

/** Where a step's fault was, for the plan's log: `step <name> <tenant>/<promotion>` (the task's payload, as the ASL gives it). */
function stepOf(payload: unknown): string {
  const p = (payload ?? {}) as { step?: unknown; tenant?: unknown; promotionId?: unknown };
  return `step ${String(p.step ?? '?')} ${String(p.tenant ?? '?')}/${String(p.promotionId ?? '?')}`;
}

/**
 * An at-least-once delivery under a fault plan (the table's stream to its consumer, the bus to a rule's
 * target): now and then delivered twice (the same records, the same event id) or late. `where` names the
 * delivery in the plan's log.
 */
export function faultyDelivery(plan: FaultPlan, twice: FaultKind, late: FaultKind): <T>(deliver: () => Promise<T>, where?: string) => Promise<T> {
  return async (deliver, where) => {
    const kind = plan.pick([twice, late], where);
    if (kind === late) await sleep(plan.delay());
    const result = await deliver();
    if (kind === twice) return deliver();
    return result;
  };
}

const WRITES = /^(Put|Update|Delete|BatchWrite|TransactWrite)(Item|Items)?Command$/;

/**
 * The functions' DynamoDB clients under a fault plan, as middleware on each client (functions/adapters/seams.ts):
 * `dynamo.conflict` refuses a write as DynamoDB refuses one that meets a transaction on the same item
 * (TransactionCanceledException/TransactionConflict for a transaction, TransactionConflictException for one
 * item), before it is applied; `dynamo.lostAck` applies a single-item or batch write and loses its answer (a timeout), which the
 * SDK's own retry sends again, as it does on AWS.
 */
export function faultyDynamo(plan: FaultPlan): (client: DynamoDBClient) => void {
  return (client) => {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String((context as { commandName?: string }).commandName ?? '');
        if (!WRITES.test(command)) return next(args);
        const where = writeOf(command, args.input);
        if (plan.roll('dynamo.conflict', where)) {
          if (command.startsWith('TransactWrite'))
            throw new TransactionCanceledException({
              message: 'injected fault: Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]',
              $metadata: {},
              CancellationReasons: [{ Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }],
            });
          throw new TransactionConflictException({ message: 'injected fault: Transaction is ongoing for the item', $metadata: {} });
        }
        const out = await next(args);
        // A transaction sent again carries the same ClientRequestToken (the SDK's), and DynamoDB answers it as the
        // first one without applying it twice (for ten minutes): on AWS a transaction's lost answer is no fault the
        // caller sees. DynamoDB Local does not keep those tokens, so transactions are left out of this kind.
        if (!command.startsWith('TransactWrite') && plan.roll('dynamo.lostAck', where))
          throw faultError('TimeoutError', `${command} was applied, its answer was lost`);
        return out;
      },
      { step: 'deserialize', name: 'stagelineFaults', priority: 'high' },
    );
  };
}

/** Where a write's fault was, for the plan's log: the command and the partition key of its item (a transaction: its items' count). */
function writeOf(command: string, input: unknown): string {
  const i = (input ?? {}) as { Key?: { pk?: { S?: string } }; Item?: { pk?: { S?: string } }; TransactItems?: unknown[]; RequestItems?: unknown };
  const pk = i.Key?.pk?.S ?? i.Item?.pk?.S;
  if (pk) return `${command} ${pk}`;
  if (Array.isArray(i.TransactItems)) return `${command} of ${i.TransactItems.length} items`;
  return command;
}

/** Outbound calls to tenant hosts under a fault plan: 5xx, 429, a reset before or after the host acted, a slow answer. */
export function faultyOutbound(plan: FaultPlan): (url: URL, method: string, send: () => Promise<Response>) => Promise<Response> {
  return async (url, method, send) => {
    const kind = plan.pick(
      ['outbound.5xx', 'outbound.429', 'outbound.reset', 'outbound.resetAfter', 'outbound.slow'],
      `${method} ${url.origin}${url.pathname}`,
    );
    const reset = () => faultError('Error', `connection reset (${method} ${url.host})`, { code: 'ECONNRESET' });
    switch (kind) {
      case 'outbound.5xx':
        return new Response('injected fault: service unavailable', { status: 503, headers: { 'content-type': 'text/plain' } });
      case 'outbound.429':
        return new Response('injected fault: too many requests', {
          status: 429,
          headers: { 'content-type': 'text/plain', 'retry-after': String(plan.retryAfterSeconds) },
        });
      case 'outbound.reset':
        throw reset();
      case 'outbound.resetAfter': {
        const res = await send();
        await res.body?.cancel().catch(() => undefined);
        plan.lose(`${method} ${url.origin}${url.pathname}`);
        throw reset();
      }
      case 'outbound.slow':
        await sleep(plan.delay());
        return send();
      default:
        return send();
    }
  };
}
