import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type Shard } from '@aws-sdk/client-dynamodb-streams';
import { anchorNow, handler as streamHandler, stopAnchoring, STREAM_FILTER, type StreamRecord } from '../functions/handlers/stream.ts';
import { LOCAL_REGION, localClient, localCredentials } from './dynamodb.ts';
import { isVerbose, reportError } from './terminal.ts';

export interface StreamPollerOptions {
  endpoint: string;
  tableName: string;
  /** the Lambda handler the event source mapping invokes on AWS */
  handler: (event: { Records: StreamRecord[] }) => Promise<unknown>;
  /** remembers how far each shard was read (npm start); without it a restart reads from the oldest record kept */
  positionFile?: string;
  idleMs?: number;
  /** anchors the chains the handler moved, now (idle() runs it): the handler module's own anchorer unless given */
  anchor?: () => Promise<unknown>;
  /**
   * What the stack schedules for this function on AWS: the stream consumer's anchor tick (about once a minute; the
   * handler module's unless given), the audit shipper's drain (given). A mapping with a `filter` ticks only when given one.
   */
  tick?: () => Promise<unknown>;
  /** how often the tick runs, ms (60,000 as on AWS) */
  tickMs?: number;
  /** the records this mapping takes (default: the stream consumer's STREAM_FILTER); another mapping of the same stream (the audit shipper) never anchors */
  filter?: { readonly eventName: readonly string[]; readonly entity: readonly string[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAX_ATTEMPTS = 4;
/** records read per GetRecords (the mapping's batch size on AWS) */
const PAGE = 100;

/** The event source mapping's filter: inserted audit entries and outbox events (or another mapping's own). */
function wanted(r: StreamRecord, filter: StreamPollerOptions['filter'] = STREAM_FILTER): boolean {
  const entity = (r.dynamodb?.NewImage as { entity?: { S?: string } } | undefined)?.entity?.S;
  return filter.eventName.includes(r.eventName ?? '') && filter.entity.includes(entity ?? '');
}

/**
 * The local stand-in for the Lambda event source mapping: reads DynamoDB
 * Local's own stream (its Streams API), shard by shard and in order, applies
 * the same filter, and invokes the same handler with batches of up to 100
 * records. A batch that fails is retried (the position does not move), so
 * delivery is at least once, as on AWS.
 */
export class LocalStreamPoller {
  private readonly client: DynamoDBStreamsClient;
  private running = false;
  private halted = false;
  private loop: Promise<void> | null = null;
  private readonly positions: Record<string, string>;
  private readonly iterators = new Map<string, string>();
  private readonly closed = new Set<string>();
  private passes = 0;
  /** the first tick comes a minute after the start, as the schedule's first firing would */
  private lastTick = Date.now();
  private lastPassBusy = true;
  private readonly attempts = new Map<string, number>();
  failures = 0;
  /** records handed to the handler and taken by it (a waiter tells a consumer catching up from one that stopped) */
  delivered = 0;
  /** records given up on after MAX_ATTEMPTS (the on-failure destination, an SQS DLQ, on AWS) */
  readonly deadLetters: { record: StreamRecord; error: string }[] = [];

  constructor(private readonly opts: StreamPollerOptions) {
    this.client = new DynamoDBStreamsClient({ endpoint: opts.endpoint, region: LOCAL_REGION, credentials: localCredentials });
    this.positions = opts.positionFile && existsSync(opts.positionFile) ? (JSON.parse(readFileSync(opts.positionFile, 'utf8')) as Record<string, string>) : {};
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** A crash (local/crash.ts): no more polls and no position written again, nothing waited for. */
  halt(): void {
    this.halted = true;
    this.running = false;
  }

  /** Stops polling, then signs what the consumer linked since its last anchor (no tail is left unsigned). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.opts.filter) return;
    try {
      await stopAnchoring();
    } catch (err) {
      reportError('audit anchor at stop failed; its chains are anchored when they next move', err);
    }
  }

  /**
   * Resolves once a full pass that started after this call found nothing to deliver, and the
   * chains it moved are anchored: caught up means signed too, as at the end of an anchor interval
   * (the explicit trigger tests and the bench use; a running consumer anchors on its interval).
   */
  async idle(timeoutMs = 30_000): Promise<void> {
    const from = this.passes;
    const until = Date.now() + timeoutMs;
    while (this.passes < from + 2 || this.lastPassBusy) {
      if (Date.now() > until) throw new Error('the local stream consumer did not become idle');
      await sleep(10);
    }
    if (!this.opts.filter) await (this.opts.anchor ?? anchorNow)();
  }

  private async streamArn(): Promise<string> {
    const db = localClient(this.opts.endpoint);
    try {
      const t = await db.send(new DescribeTableCommand({ TableName: this.opts.tableName }));
      const arn = t.Table?.LatestStreamArn;
      if (!arn) throw new Error(`table ${this.opts.tableName} has no stream`);
      return arn;
    } finally {
      db.destroy();
    }
  }

  private async shards(arn: string): Promise<Shard[]> {
    const out: Shard[] = [];
    let start: string | undefined;
    do {
      const r = await this.client.send(new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: start }));
      out.push(...(r.StreamDescription?.Shards ?? []));
      start = r.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return out;
  }

  private async run(): Promise<void> {
    let arn: string | null = null;
    let shards: Shard[] = [];
    let described = 0;
    while (this.running) {
      let busy = false;
      try {
        arn ??= await this.streamArn();
        if (Date.now() - described > 2000 || shards.every((s) => this.closed.has(s.ShardId!))) {
          shards = await this.shards(arn);
          described = Date.now();
        }
        const ids = new Set(shards.map((s) => s.ShardId!));
        for (const shard of shards) {
          const id = shard.ShardId!;
          if (this.closed.has(id)) continue;
          // A child shard is read after its parent, so a key's records stay in order.
          if (shard.ParentShardId && ids.has(shard.ParentShardId) && !this.closed.has(shard.ParentShardId)) continue;
          busy = (await this.pollShard(arn, id)) || busy;
        }
      } catch (err) {
        this.failures++;
        busy = true;
        if (this.running) streamError('local stream consumer failed; retrying the batch', err);
        await sleep(200);
      }
      // The tick, as the stack's schedule sends it on AWS: the anchor tick signs what a consumer left (a stack stopped
      // hard); the audit shipper's drain ships what an outage left.
      if (this.running && (!this.opts.filter || this.opts.tick) && Date.now() - this.lastTick >= (this.opts.tickMs ?? 60_000)) {
        this.lastTick = Date.now();
        try {
          await (this.opts.tick ?? (() => streamHandler({ anchorTick: true })))();
        } catch (err) {
          streamError(this.opts.filter ? 'audit stream drain failed; the next one tries again' : 'audit anchor tick failed; the next one tries again', err);
        }
      }
      this.lastPassBusy = busy;
      this.passes++;
      if (!busy) await sleep(this.opts.idleMs ?? 100);
    }
  }

  /**
   * Delivers a batch. As the mapping on AWS (bisect on error, bounded retries, on-failure
   * destination): a failed batch is retried record by record, and a record that still fails
   * after MAX_ATTEMPTS goes to the dead letters, so one poisoned record never blocks its shard.
   */
  private async deliver(shardId: string, first: string, batch: StreamRecord[]): Promise<void> {
    const key = `${shardId}:${first}`;
    try {
      await this.opts.handler({ Records: batch });
      this.attempts.delete(key);
      this.delivered += batch.length;
      return;
    } catch (err) {
      const n = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, n);
      if (n < MAX_ATTEMPTS) throw err;
    }
    this.attempts.delete(key);
    for (const record of batch) {
      let error: unknown;
      for (let i = 0; i < MAX_ATTEMPTS; i++) {
        try {
          await this.opts.handler({ Records: [record] });
          this.delivered++;
          error = undefined;
          break;
        } catch (err) {
          error = err;
          await sleep(50 * 2 ** i);
        }
      }
      if (error !== undefined) {
        this.deadLetters.push({ record, error: String(error) });
        streamError('stream record sent to the dead letters after retries', error);
      }
    }
  }

  /** Reads one batch of a shard; true if it delivered records or read a full page (more may follow). After any failure the shard is re-opened from its last delivered position. */
  private async pollShard(arn: string, shardId: string): Promise<boolean> {
    try {
      return await this.readShard(arn, shardId);
    } catch (err) {
      this.iterators.delete(shardId);
      // The position is older than what the stream keeps (24 h): start from the oldest record kept.
      if ((err as { name?: string }).name === 'TrimmedDataAccessException') delete this.positions[shardId];
      throw err;
    }
  }

  private async readShard(arn: string, shardId: string): Promise<boolean> {
    let iterator = this.iterators.get(shardId);
    if (!iterator) {
      const after = this.positions[shardId];
      const r = await this.client.send(
        new GetShardIteratorCommand(
          after
            ? { StreamArn: arn, ShardId: shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
            : { StreamArn: arn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' },
        ),
      );
      iterator = r.ShardIterator!;
    }
    const r = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: PAGE }));
    const records = r.Records ?? [];
    const batch = (records as StreamRecord[]).filter((r) => wanted(r, this.opts.filter));
    // Throws on failure: the iterator is not advanced, so the same records come again.
    if (batch.length) await this.deliver(shardId, records[0]!.dynamodb!.SequenceNumber!, batch);
    if (records.length) {
      this.positions[shardId] = records[records.length - 1]!.dynamodb!.SequenceNumber!;
      if (this.opts.positionFile && !this.halted) writeFileSync(this.opts.positionFile, JSON.stringify(this.positions));
    }
    if (r.NextShardIterator) this.iterators.set(shardId, r.NextShardIterator);
    else {
      this.iterators.delete(shardId);
      this.closed.add(shardId);
    }
    // Busy when it delivered, or read a full page: a page of records the filter leaves out (most writes of a busy
    // table) may have more behind it, so neither idle() nor the pause between passes may take it for the end. A page
    // short of the limit is the shard's end as of this read: the few writes of a drain that keeps failing (the audit
    // shipper's cursor in an outage) are not work that never ends.
    return batch.length > 0 || records.length >= PAGE;
  }
}

/** The consumer's own failures: a JSON line as the functions write (verbose), else one plain line. */
function streamError(msg: string, err: unknown): void {
  if (isVerbose()) console.error(JSON.stringify({ level: 'error', msg, error: String(err) }));
  else reportError(msg, err);
}
