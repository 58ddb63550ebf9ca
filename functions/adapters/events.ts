import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { DomainEvent, Events } from '#domain/kernel/ports';
import { EVENT_SOURCE, parseEventDetail } from '#domain/kernel/events';
import * as env from '../configuration.ts';
import { traced } from './tracing.ts';

/** Publishes domain events to an EventBridge bus (validated first; 10 per PutEvents call). */
export class EventBridgeEvents implements Events {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(events: DomainEvent[]): Promise<void> {
    for (const e of events) parseEventDetail(e.type, e.detail);
    for (let i = 0; i < events.length; i += 10) {
      const r = await this.client.send(
        new PutEventsCommand({
          Entries: events
            .slice(i, i + 10)
            .map((e) => ({ EventBusName: this.busName, Source: EVENT_SOURCE, DetailType: e.type, Detail: JSON.stringify({ ...e.detail, eventId: e.id }) })),
        }),
      );
      if (r.FailedEntryCount) throw new Error(`EventBridge refused ${r.FailedEntryCount} events`);
    }
  }
}

export function eventsFromEnv(): EventBridgeEvents {
  const bus = env.EVENT_BUS_NAME();
  if (!bus) throw new Error('EVENT_BUS_NAME is not set');
  return new EventBridgeEvents(traced(new EventBridgeClient({})), bus);
}
