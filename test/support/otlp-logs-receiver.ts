import { createServer, type Server } from 'node:http';

/**
 * An OTLP/HTTP logs receiver held to the OpenTelemetry protocol's description (OTLP/HTTP, "JSON Protobuf Encoding"):
 * `POST /v1/logs` with `Content-Type: application/json`, an ExportLogsServiceRequest in the protobuf JSON mapping —
 * resourceLogs[].scopeLogs[].logRecords[], each with timeUnixNano (a decimal string), severityNumber, body and
 * attributes as KeyValue lists of AnyValue ({stringValue} | {intValue: decimal string} | …). Anything else is recorded
 * in `violations` and answered 400. `requiredHeader` is checked (401 without it); `outage` answers 503.
 */
export interface OtlpLogRecord {
  timeUnixNano: string;
  severityNumber?: number;
  body: string;
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
}

export interface OtlpLogsReceiver {
  url: string;
  outage: boolean;
  readonly records: OtlpLogRecord[];
  readonly bodies: string[];
  readonly violations: string[];
  stop(): Promise<void>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };

function value(v: AnyValue, where: string): string | number | boolean {
  if (typeof v.stringValue === 'string') return v.stringValue;
  // int64 is a decimal string in the JSON mapping (a number is accepted by the mapping's parsers too)
  if (v.intValue !== undefined && /^-?\d+$/.test(String(v.intValue))) return Number(v.intValue);
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  if (typeof v.doubleValue === 'number') return v.doubleValue;
  throw new Error(`${where}: not an AnyValue of a scalar: ${JSON.stringify(v)}`);
}

const attributes = (kvs: unknown, where: string): Record<string, string | number | boolean> => {
  if (kvs === undefined) return {};
  if (!Array.isArray(kvs)) throw new Error(`${where}: attributes is not a list of KeyValue`);
  return Object.fromEntries(
    kvs.map((kv: { key?: unknown; value?: AnyValue }, i) => {
      if (typeof kv.key !== 'string' || !kv.value) throw new Error(`${where}.attributes[${i}]: not a KeyValue`);
      return [kv.key, value(kv.value, `${where}.attributes[${i}]`)];
    }),
  );
};

/** Decodes an ExportLogsServiceRequest (OTLP/JSON); throws naming what is not one. */
export function decodeLogsRequest(raw: string): OtlpLogRecord[] {
  const req = JSON.parse(raw) as { resourceLogs?: unknown };
  if (!Array.isArray(req.resourceLogs)) throw new Error('resourceLogs is not a list');
  const out: OtlpLogRecord[] = [];
  req.resourceLogs.forEach((rl: { resource?: { attributes?: unknown }; scopeLogs?: unknown }, i: number) => {
    const resource = attributes(rl.resource?.attributes, `resourceLogs[${i}].resource`);
    if (!Array.isArray(rl.scopeLogs)) throw new Error(`resourceLogs[${i}].scopeLogs is not a list`);
    rl.scopeLogs.forEach((sl: { logRecords?: unknown }, j: number) => {
      if (!Array.isArray(sl.logRecords)) throw new Error(`resourceLogs[${i}].scopeLogs[${j}].logRecords is not a list`);
      sl.logRecords.forEach((lr: { timeUnixNano?: unknown; severityNumber?: number; body?: AnyValue; attributes?: unknown }, k: number) => {
        const where = `resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}]`;
        if (!/^\d+$/.test(String(lr.timeUnixNano))) throw new Error(`${where}.timeUnixNano is not a decimal string of nanoseconds`);
        if (!lr.body || typeof lr.body.stringValue !== 'string') throw new Error(`${where}.body is not a string AnyValue`);
        out.push({
          timeUnixNano: String(lr.timeUnixNano),
          severityNumber: lr.severityNumber,
          body: lr.body.stringValue,
          attributes: attributes(lr.attributes, where),
          resource,
        });
      });
    });
  });
  return out;
}

export async function startOtlpLogsReceiver(o: { requiredHeader?: [string, string] } = {}): Promise<OtlpLogsReceiver> {
  let server: Server;
  const r: OtlpLogsReceiver = {
    url: '',
    outage: false,
    records: [],
    bodies: [],
    violations: [],
    stop: () => new Promise<void>((res) => server.close(() => res())),
  };
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      r.bodies.push(raw);
      const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method !== 'POST' || req.url !== '/v1/logs') return answer(404, {});
      if (o.requiredHeader && req.headers[o.requiredHeader[0].toLowerCase()] !== o.requiredHeader[1]) return answer(401, { message: 'unauthenticated' });
      if (r.outage) return answer(503, { message: 'unavailable' });
      if (!String(req.headers['content-type']).startsWith('application/json')) {
        r.violations.push(`content-type ${req.headers['content-type']}`);
        return answer(415, {});
      }
      try {
        r.records.push(...decodeLogsRequest(raw));
      } catch (err) {
        r.violations.push((err as Error).message);
        return answer(400, { message: (err as Error).message });
      }
      return answer(200, {});
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  r.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return r;
}
