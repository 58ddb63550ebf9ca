import { JsonLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AuditSendRefused, AuditSendUnavailable, type AuditSender, type StreamedAuditEntry } from '#domain/audit/stream-ports';
import { guardedFetch, OutboundRefused, readLimited } from '../outbound.ts';

/** An OTLP/HTTP logs destination: its base URL and the headers sent with every request (opened secrets). */
export interface OtlpSettings {
  url: string;
  headers: Record<string, string>;
}

const SCOPE = { name: 'stageline.audit', version: '1' };
const RESOURCE = { attributes: { 'service.name': 'stageline' }, schemaUrl: undefined } as unknown as ReadableLogRecord['resource'];
/** SeverityNumber INFO (the OpenTelemetry logs data model). */
const INFO = 9;

const hrTime = (iso: string): [number, number] => {
  const ms = Date.parse(iso);
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
};

/** One audit entry as an OpenTelemetry LogRecord: its body the entry (JSON), its attributes the chain place and who did what. */
export function logRecordOf(e: StreamedAuditEntry): ReadableLogRecord {
  return {
    hrTime: hrTime(e.entry.at),
    hrTimeObserved: hrTime(e.link.linkedAt),
    severityNumber: INFO,
    severityText: 'INFO',
    eventName: 'stageline.audit.entry',
    body: JSON.stringify(e.entry),
    resource: RESOURCE,
    instrumentationScope: SCOPE,
    attributes: {
      'stageline.tenant': e.tenant,
      'stageline.audit.seq': e.seq,
      'stageline.audit.hash': e.hash,
      'stageline.audit.prev_hash': e.prevHash,
      'stageline.audit.entry_hash': e.entryHash,
      'stageline.audit.action': e.entry.action,
      'stageline.audit.actor': e.entry.actorName,
      'stageline.audit.entity': `${e.entry.entityType}/${e.entry.entityId}`,
    },
    droppedAttributesCount: 0,
  };
}

/** The request body of a batch: OTLP/JSON (ExportLogsServiceRequest), encoded by the OpenTelemetry packages' own serializer. */
export function otlpLogsRequest(batch: readonly StreamedAuditEntry[]): Uint8Array {
  const bytes = JsonLogsSerializer.serializeRequest(batch.map(logRecordOf));
  if (!bytes) throw new AuditSendRefused('the OpenTelemetry serializer gave no request body');
  return bytes;
}

const logsUrl = (url: string) => `${url.replace(/\/+$/, '')}/v1/logs`;

/**
 * The OTLP/HTTP logs sender: `POST <url>/v1/logs`, OTLP/JSON. Per the OTLP/HTTP specification 429, 502, 503 and 504
 * are retryable, every other 4xx/5xx is not; a partial success that rejected records is a refusal (its message said).
 */
export function otlpSender(s: OtlpSettings): AuditSender {
  return {
    kind: 'otlp',
    async send(batch: readonly StreamedAuditEntry[]): Promise<void> {
      if (!batch.length) return;
      let res: Response;
      try {
        res = await guardedFetch(logsUrl(s.url), {
          method: 'POST',
          headers: { ...s.headers, 'content-type': 'application/json' },
          body: otlpLogsRequest(batch),
          timeoutMs: 15_000,
        });
      } catch (err) {
        if (err instanceof OutboundRefused) throw new AuditSendRefused(`OTLP endpoint: ${err.message}`);
        throw new AuditSendUnavailable(`OTLP endpoint: no answer (${(err as Error)?.message ?? String(err)})`);
      }
      const text = await readLimited(res, 8192).catch(() => '');
      if (!res.ok) {
        const message = `OTLP endpoint answered ${res.status}: ${text.slice(0, 200) || res.statusText}`;
        throw [429, 502, 503, 504].includes(res.status) ? new AuditSendUnavailable(message) : new AuditSendRefused(message, res.status);
      }
      let partial: { rejectedLogRecords?: number | string; errorMessage?: string } | undefined;
      try {
        partial = text ? (JSON.parse(text) as { partialSuccess?: typeof partial }).partialSuccess : undefined;
      } catch {
        partial = undefined;
      }
      if (partial && Number(partial.rejectedLogRecords ?? 0) > 0)
        throw new AuditSendRefused(
          `OTLP endpoint rejected ${partial.rejectedLogRecords} log records: ${partial.errorMessage ?? 'no reason given'}`,
          res.status,
        );
    },
  };
}

/** The save's check (through the outbound rules): an empty export request, which a receiver answers 2xx; 401/403 name a header. */
export async function checkOtlp(s: OtlpSettings): Promise<{ field: string; message: string } | null> {
  let res: Response;
  try {
    res = await guardedFetch(logsUrl(s.url), {
      method: 'POST',
      headers: { ...s.headers, 'content-type': 'application/json' },
      body: '{"resourceLogs":[]}',
      timeoutMs: 5000,
    });
  } catch (err) {
    return { field: 'url', message: err instanceof OutboundRefused ? err.message : `cannot be reached: ${(err as Error)?.message ?? String(err)}` };
  }
  await readLimited(res, 4096).catch(() => '');
  if (res.status === 401 || res.status === 403)
    return { field: 'headers', message: `are refused by the OTLP endpoint (${res.status}): check the credential header` };
  if (res.status === 404) return { field: 'url', message: 'has no OTLP logs endpoint (/v1/logs answered 404)' };
  return null;
}
