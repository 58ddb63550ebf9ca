import type { DomainEvent, Events } from '#domain/kernel/ports';
import { EVENT_SOURCE, parseEventDetail } from '#domain/kernel/events';
import { CrashedError, crashedHere } from './crash.ts';
import { reportError } from './terminal.ts';

/** EventBridge-style pattern: each listed field must match one of the values. */
export interface EventPattern {
  source?: string[];
  'detail-type'?: string[];
  detail?: Record<string, unknown[]>;
}

export interface BusEvent {
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
  time: string;
}

/** Lambda's asynchronous invocation: the first run and two retries. */
const ASYNC_ATTEMPTS = 3;

function matches(p: EventPattern, e: BusEvent): boolean {
  if (p.source && !p.source.includes(e.source)) return false;
  if (p['detail-type'] && !p['detail-type'].includes(e['detail-type'])) return false;
  for (const [k, values] of Object.entries(p.detail ?? {})) if (!values.includes(e.detail[k])) return false;
  return true;
}

/**
 * The local stand-in for the EventBridge bus: validates like the AWS adapter,
 * keeps what was published, and delivers to rules with the same patterns the
 * CDK rules use.
 */
export class LocalEventBus implements Events {
  readonly published: BusEvent[] = [];
  /** how a rule's target is given an event (a fault plan's: now and then twice or late); default: once, at once */
  /** retries of failed targets not yet run (idle() waits for them) */
  private readonly retrying = new Set<Promise<void>>();

  constructor(
    /** `where` names the delivery (the event's detail-type and its promotion, when it names one) */
    private readonly deliver: (run: () => Promise<void>, where?: string) => Promise<void> = (run) => run(),
    /**
     * The wait before a failed target is given the event again. EventBridge invokes a Lambda target
     * asynchronously, and Lambda runs a failed asynchronous invocation twice more (about 1 and 2 minutes
     * later) before it gives the event to the on-failure destination; locally the waits are shorter.
     */
    private readonly retryDelayMs = 1000,
  ) {}

  /** Resolves when no failed target waits for its retry. */
  async idle(): Promise<void> {
    while (this.retrying.size) await Promise.all([...this.retrying]);
  }
  private readonly rules: { pattern: EventPattern; target: (e: BusEvent) => Promise<void> | void }[] = [];

  addRule(pattern: EventPattern, target: (e: BusEvent) => Promise<void> | void): void {
    this.rules.push({ pattern, target });
  }

  async publish(events: DomainEvent[]): Promise<void> {
    for (const e of events) {
      this.put({
        source: EVENT_SOURCE,
        'detail-type': e.type,
        detail: parseEventDetail(e.type, { ...e.detail, eventId: e.id }),
        time: new Date().toISOString(),
      });
    }
  }

  /** Puts an event of another source (the default bus's AWS events, e.g. CloudWatch alarm state changes); resolves when its targets ran. */
  async put(bus: BusEvent & Record<string, unknown>): Promise<void> {
    this.published.push(bus);
    const runs: Promise<void>[] = [];
    for (const [rule, r] of this.rules.entries()) if (matches(r.pattern, bus)) runs.push(this.deliverTo(rule, bus));
    await Promise.all(runs);
  }

  /**
   * The deliveries accepted and not yet done (a target still to run, running, or waiting for its retry). EventBridge
   * keeps an event it accepted whatever then happens to the stack that put it: a stack started again after a crash
   * is given these (`resume`), where the crashed one's own runs of them are cut off.
   */
  inFlight(): BusDelivery[] {
    return [...this.pending];
  }

  /** Delivers what another bus had accepted and not done (its `inFlight()`), to this bus's rule of the same place. */
  resume(deliveries: readonly BusDelivery[]): void {
    for (const d of deliveries) {
      if (!this.rules[d.rule]) throw new Error(`the bus has no rule ${d.rule} to resume a delivery to (${this.rules.length} rules)`);
      void this.deliverTo(d.rule, d.event);
    }
  }

  private readonly pending = new Set<BusDelivery>();

  private deliverTo(rule: number, event: BusEvent): Promise<void> {
    const r = this.rules[rule]!;
    const delivery: BusDelivery = { rule, event };
    this.pending.add(delivery);
    // Delivery is asynchronous on AWS too: a failing target never fails the publisher.
    const what = String(event['detail-type'] ?? event.source);
    const attempt = (n: number): Promise<void> =>
      Promise.resolve()
        .then(() => this.deliver(async () => r.target(event), deliveryOf(what, event)))
        .then(
          () => void this.pending.delete(delivery),
          (err) => {
            // A crashed stack's delivery stops where it is: the stack started again delivers it (resume).
            if (err instanceof CrashedError || crashedHere()) return;
            if (n >= ASYNC_ATTEMPTS) {
              this.pending.delete(delivery);
              return reportError('local event target failed; given up (the on-failure destination on AWS)', err, what);
            }
            reportError(`local event target failed; retried (attempt ${n + 1} of ${ASYNC_ATTEMPTS})`, err, what);
            // The publisher does not wait for retries, as on AWS; idle() does.
            const later = new Promise<void>((res) => setTimeout(res, this.retryDelayMs * n)).then(() => attempt(n + 1));
            this.retrying.add(later);
            void later.finally(() => this.retrying.delete(later));
          },
        );
    return attempt(1);
  }
}

/** A delivery the bus accepted: the event, and the place of the rule (in the order the rules were added) it goes to. */
export interface BusDelivery {
  rule: number;
  event: BusEvent;
}

/** Where a delivery's fault was, for the fault plan's log: `bus <detail-type>` and the promotion the event names. */
function deliveryOf(what: string, e: { detail?: unknown }): string {
  const d = (e.detail ?? {}) as { tenant?: unknown; promotionId?: unknown };
  return `bus ${what}${typeof d.promotionId === 'string' ? ` ${String(d.tenant ?? '?')}/${d.promotionId}` : ''}`;
}
