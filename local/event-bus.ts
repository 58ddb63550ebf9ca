import type { DomainEvent, Events } from '#domain/kernel/ports';
import { EVENT_SOURCE, parseEventDetail } from '#domain/kernel/events';
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
  constructor(private readonly deliver: (run: () => Promise<void>) => Promise<void> = (run) => run()) {}
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
    for (const r of this.rules) {
      if (matches(r.pattern, bus)) {
        // Delivery is asynchronous on AWS too: a failing target never fails the publisher.
        runs.push(
          Promise.resolve()
            .then(() => this.deliver(async () => r.target(bus)))
            .catch((err) => reportError('local event target failed', err, String(bus['detail-type'] ?? bus.source))),
        );
      }
    }
    await Promise.all(runs);
  }
}
