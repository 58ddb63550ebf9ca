import { AuditSendRefused, AuditSendUnavailable, type AuditSender, type StreamedAuditEntry } from '#domain/audit/stream-ports';
import {
  batchTenant,
  cutForDatadog,
  datadogDestinationSettings,
  DATADOG_LOGS_LIMITS,
  MixedTenants,
  type DatadogDestinationSettings,
} from '#domain/audit/siem-destinations';
import * as z from '#domain/kernel/zod';
import * as env from '../../configuration.ts';
import { guardedFetch, OutboundRefused, readBytesLimited } from '../outbound.ts';

/** How long one intake request may take before it counts as a time-out (retried later). */
const DEFAULT_TIMEOUT_MS = 15_000;
/** The most of an intake answer read (its errors): the rest is never buffered. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface DatadogSenderOptions {
  /**
   * Local mode only (STAGELINE_ALLOW_LOOPBACK_OUTBOUND: the tests, `npm start`): the intake's base URL, a
   * local stand-in answering `POST /api/v2/logs`. Ignored otherwise: the host is always the site's intake.
   */
  intakeUrl?: string;
  /** local mode only, as `intakeUrl`: the base URL of Datadog's API (`api.<site>`), for the key check at save */
  apiUrl?: string;
  timeoutMs?: number;
}

/**
 * The check a destination's save makes (the port sends nothing then): Datadog's `GET /api/v1/validate` on the
 * site's API (AuthenticationApi.validate of the official client), through the outbound rules, with the key.
 * Null when Datadog takes the key; else the plain reason to give the admin (a key of another site is refused
 * too: keys are per site). The key never appears in the reason.
 */
export async function checkDatadogDestination(settings: DatadogDestinationSettings, apiKey: string, opts: DatadogSenderOptions = {}): Promise<string | null> {
  const parsed = z.safeParse(datadogDestinationSettings, settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return `settings.${issue.path.join('.')} ${issue.message}`;
  }
  if (!apiKey) return 'the API key is empty';
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const local = env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND() ? opts.apiUrl : undefined;
  const common = await import('@datadog/datadog-api-client/dist/packages/datadog-api-client-common/index.js');
  const { AuthenticationApi } = await import('@datadog/datadog-api-client/dist/packages/datadog-api-client-v1/apis/AuthenticationApi.js');
  const configuration = common.createConfiguration({
    authMethods: { apiKeyAuth: apiKey },
    fetch: boundedFetch(timeoutMs),
    httpConfig: { compress: false },
    enableRetry: false,
    ...(local ? { baseServer: new common.BaseServerConfiguration(local, {}) } : {}),
  });
  if (!local) configuration.setServerVariables({ site: parsed.data.site });
  try {
    const r = await new AuthenticationApi(configuration).validate();
    return r.valid ? null : `Datadog (${parsed.data.site}) does not take this API key`;
  } catch (err) {
    if (err instanceof common.ApiException) {
      if (err.code === 403 || err.code === 401)
        return `Datadog (${parsed.data.site}) does not know this API key: check the key, and that it is a key of the site ${parsed.data.site}`;
      const words = datadogWords(err.body, apiKey);
      return `Datadog (${parsed.data.site}) answered HTTP ${err.code}${words ? `: ${words}` : ''}`;
    }
    if (err instanceof OutboundRefused) return `Datadog's API may not be called: ${err.message}`;
    const e = err as Error;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return `Datadog (${parsed.data.site}) did not answer within ${timeoutMs} ms`;
    return `Datadog (${parsed.data.site}) could not be reached: ${e.message}`;
  }
}

/** fetch() for the client, on the guarded outbound client: the answer read (at most MAX_ANSWER_BYTES) before the client sees it. */
const boundedFetch =
  (timeoutMs: number) =>
  async (url: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Response> => {
    const res = await guardedFetch(url, { method: init.method, headers: init.headers, body: init.body, timeoutMs });
    const body = await readBytesLimited(res, MAX_ANSWER_BYTES);
    return new Response(res.status === 204 ? null : new Uint8Array(body), { status: res.status, headers: res.headers });
  };

/**
 * The log item of one entry: the entry (as /audit shows it, with its chain link) is the message; its place in the
 * chain is also attributes a query can facet on. No `date`/`timestamp` attribute: Datadog drops logs dated more than
 * 18 hours back, which a replay of older entries would be; the log is dated when Datadog takes it.
 */
function logItem(e: StreamedAuditEntry, service: string, tags: string) {
  return {
    ddsource: 'stageline',
    service,
    ddtags: tags,
    message: JSON.stringify(e),
    additionalProperties: { tenant: e.tenant, seq: e.seq, hash: e.hash, prevHash: e.prevHash },
  };
}

/** Datadog's words from an error answer (`{errors: [{title, detail}]}` or `{errors: ["…"]}`), with the key taken out should it appear. */
function datadogWords(body: unknown, apiKey: string): string {
  const list = typeof body === 'object' && body !== null && Array.isArray((body as { errors?: unknown }).errors) ? (body as { errors: unknown[] }).errors : [];
  const words = list
    .map((e) =>
      typeof e === 'object' && e !== null ? [(e as { title?: unknown }).title, (e as { detail?: unknown }).detail].filter(Boolean).join(': ') : String(e),
    )
    .filter(Boolean)
    .join('; ');
  const text = words || (typeof body === 'string' ? body.slice(0, 500) : '');
  return apiKey ? text.split(apiKey).join('***') : text;
}

/**
 * The audit stream's Datadog destination: every entry a log of Datadog's logs intake (v2 `POST /api/v2/logs`,
 * LogsApi.submitLog of Datadog's official client), `ddsource: stageline`, the settings' service (default
 * `stageline`), `ddtags` `tenant:<tenant>` and the settings' tags, the message the entry as JSON and the
 * attributes tenant, seq, hash and prevHash. The key goes in the DD-API-KEY header only.
 *
 * A batch is cut, in order, into requests within the intake's published limits (1000 logs, 5 MB a request);
 * an entry larger than one log may be (1 MB) would be truncated by Datadog, breaking what its hash covers, so
 * the batch is refused, naming it. 202 is taken; 429, 408, 5xx, a time-out or a lost connection are
 * AuditSendUnavailable (the batch is sent again from its first entry: a request already taken may be sent
 * twice, at least once; the seq attribute tells a duplicate); 400, 401, 403, 413 and any other answer are
 * AuditSendRefused with Datadog's words. The client sends through the outbound rules (guardedFetch: public
 * addresses only, after DNS; no redirects; bounded time), and its own retries are off: the stream retries.
 */
export function datadogSender(settings: DatadogDestinationSettings, apiKey: string, opts: DatadogSenderOptions = {}): AuditSender {
  const parsed = z.safeParse(datadogDestinationSettings, settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AuditSendRefused(`the Datadog destination's settings.${issue.path.join('.')} ${issue.message}`);
  }
  if (!apiKey) throw new AuditSendRefused('the Datadog destination has no API key');
  const s = parsed.data;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const local = env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND() ? opts.intakeUrl : undefined;

  let api:
    Promise<{ submit(items: ReturnType<typeof logItem>[]): Promise<unknown>; isApiException(e: unknown): e is { code: number; body: unknown } }> | undefined;
  const client = () =>
    (api ??= (async () => {
      const common = await import('@datadog/datadog-api-client/dist/packages/datadog-api-client-common/index.js');
      const { LogsApi } = await import('@datadog/datadog-api-client/dist/packages/datadog-api-client-v2/apis/LogsApi.js');
      const configuration = common.createConfiguration({
        authMethods: { apiKeyAuth: apiKey },
        fetch: boundedFetch(timeoutMs),
        httpConfig: { compress: false },
        enableRetry: false,
        ...(local ? { baseServer: new common.BaseServerConfiguration(local, {}) } : {}),
      });
      if (!local) configuration.setServerVariables({ site: s.site });
      const logs = new LogsApi(configuration);
      return {
        submit: (items) => logs.submitLog({ body: items }),
        isApiException: (e: unknown): e is { code: number; body: unknown } => e instanceof common.ApiException,
      };
    })());

  return {
    kind: 'datadog',
    async send(batch: readonly StreamedAuditEntry[]): Promise<void> {
      if (batch.length === 0) return;
      let tenant: string;
      try {
        tenant = batchTenant(batch);
      } catch (err) {
        if (err instanceof MixedTenants) throw new AuditSendRefused(err.message);
        throw err;
      }
      const tags = [`tenant:${tenant}`, ...(s.tags ?? [])].join(',');
      const items = batch.map((e) => logItem(e, s.service ?? 'stageline', tags));
      // Sized as the client serializes them: the additional properties sit beside the fields.
      const sizes = items.map(({ additionalProperties, ...item }) => Buffer.byteLength(JSON.stringify({ ...item, ...additionalProperties })));
      const { chunks, tooLarge } = cutForDatadog(sizes);
      if (tooLarge !== null)
        throw new AuditSendRefused(
          `entry ${batch[tooLarge]!.seq} is ${sizes[tooLarge]} bytes as a log, above Datadog's ${DATADOG_LOGS_LIMITS.maxLogBytes} bytes per log: Datadog would truncate it`,
        );
      const { submit, isApiException } = await client();
      for (const [start, end] of chunks) {
        try {
          await submit(items.slice(start, end));
        } catch (err) {
          if (isApiException(err)) {
            const words = datadogWords(err.body, apiKey);
            const said = `Datadog answered HTTP ${err.code}${words ? `: ${words}` : ''}`;
            if (err.code === 429 || err.code === 408 || err.code >= 500) throw new AuditSendUnavailable(said);
            throw new AuditSendRefused(said, err.code);
          }
          if (err instanceof OutboundRefused) throw new AuditSendRefused(`Datadog's intake may not be called: ${err.message}`);
          const e = err as Error;
          if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new AuditSendUnavailable(`Datadog did not answer within ${timeoutMs} ms`);
          throw new AuditSendUnavailable(`Datadog could not be reached: ${e.message}`);
        }
      }
    },
  };
}
