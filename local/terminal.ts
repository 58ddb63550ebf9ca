import { LogLevelThreshold, type LogItem } from '@aws-lambda-powertools/logger';
import { logger } from '../functions/adapters/observability.ts';
import * as env from '../functions/configuration.ts';

/**
 * How much the local stack writes to its terminal.
 *
 * Quiet (the default; `npm start` and the tests): no access-log line per request, no line per flow
 * step, no Powertools EMF metric documents (POWERTOOLS_METRICS_DISABLED=true), and every warning or
 * error is one plain line: what failed, why, and the request or event it failed in.
 * Verbose (`npm start -- --verbose`, or STAGELINE_ACCESS_LOG=on): what the functions write on AWS (the
 * JSON access log and step lines, the EMF documents) and full stack traces.
 * An explicit POWERTOOLS_METRICS_DISABLED, and STAGELINE_ACCESS_LOG=off, are kept either way.
 */
let verbose = false;

/** `--verbose` on the command line, or STAGELINE_ACCESS_LOG=on (or true, 1). */
export function verboseRequested(argv: string[] = process.argv, source?: env.Source): boolean {
  return argv.includes('--verbose') || env.STAGELINE_ACCESS_LOG(source) === true;
}

export function isVerbose(): boolean {
  return verbose;
}

/** Whether quiet mode turned the metrics off (so verbose can turn them back on in the same process). */
let metricsOffByUs = false;
/** The logger's level before quiet mode raised it (restored by verbose). */
let levelBefore: string | undefined;
let patched = false;

export function setVerbose(on: boolean): void {
  verbose = on;
  if (on) {
    if (metricsOffByUs) delete process.env.POWERTOOLS_METRICS_DISABLED;
    metricsOffByUs = false;
    if (levelBefore) logger.setLogLevel(levelBefore as Parameters<typeof logger.setLogLevel>[0]);
    levelBefore = undefined;
    return;
  }
  // The one variable the local launcher writes into the process's environment: Powertools Metrics reads
  // POWERTOOLS_METRICS_DISABLED itself, again in every singleMetric() (the only way the functions emit
  // metrics, so this applies at once), and has no option for it. An explicit setting is kept.
  if (env.POWERTOOLS_METRICS_DISABLED() === undefined) {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    metricsOffByUs = true;
  }
  // The access log and the step lines are INFO: keep warnings and errors (tests are at ERROR already).
  quietLevel();
  if (!patched) {
    patched = true;
    // Every invocation after the first (the Logger is one for all functions in this process) starts with
    // refreshSampleRateCalculation, which sets the level back to the one the Logger was made with: the
    // quiet level is set again after it, so it holds on warm invocations too.
    const sampler = logger as unknown as { refreshSampleRateCalculation(): void };
    const refresh = sampler.refreshSampleRateCalculation.bind(logger);
    sampler.refreshSampleRateCalculation = () => {
      refresh();
      if (!verbose) quietLevel();
    };
    // The Logger's own extension point for how a record is written (protected; a subclass would override it).
    const printer = logger as unknown as { printLog(level: number, log: LogItem): void };
    const original = printer.printLog.bind(logger);
    printer.printLog = (level, log) => {
      if (verbose) return original(level, log);
      log.prepareForPrint();
      const line = logLine(log.getAttributes() as Record<string, unknown>);
      if (level >= LogLevelThreshold.ERROR) console.error(line);
      else if (level >= LogLevelThreshold.WARN) console.warn(line);
      else console.log(line);
    };
  }
}

/** Raises the logger's level to WARN when it is below (remembering the one before, for verbose). */
function quietLevel(): void {
  const level = logger.getLevelName();
  if ((LogLevelThreshold as Record<string, number>)[level]! < LogLevelThreshold.WARN) {
    levelBefore ??= level;
    logger.setLogLevel('WARN');
  }
}

/** The requests the gateway is serving, by request id: a function's error line says which request it was. */
const requests = new Map<string, string>();

export function trackRequest(requestId: string, label: string): () => void {
  requests.set(requestId, label);
  return () => requests.delete(requestId);
}

const MAX_LINE = 400;

function clip(s: string, max = MAX_LINE): string {
  const flat = s.replace(/\s*\n\s*/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** An error as one line: its name (unless plain Error) and the first line of its message; never the stack. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const message = err.message.split('\n')[0]!.trim();
    return clip(err.name && err.name !== 'Error' ? `${err.name}: ${message}` : message || err.name);
  }
  return clip(String(err));
}

/**
 * Something of the local stack itself failed (the gateway, an event target, the scheduler, the stream
 * consumer): one line when quiet, the error with its stack when verbose.
 */
export function reportError(what: string, err: unknown, where?: string): void {
  if (verbose) return console.error(where ? `${what} (${where})` : what, err);
  const line = clip(`error: ${what}: ${describeError(err)}${where ? ` — ${where}` : ''}`);
  // A failure that repeats (the stream consumer retries every 200 ms while DynamoDB Local is down): once per 10 s.
  const now = Date.now();
  const seen = repeats.get(line);
  if (seen && now - seen.at < REPEAT_MS) {
    seen.count++;
    return;
  }
  repeats.set(line, { at: now, count: 0 });
  if (repeats.size > 100) repeats.delete(repeats.keys().next().value!);
  console.error(seen?.count ? `${line} (and ${seen.count} more like it before)` : line);
}

const REPEAT_MS = 10_000;
const repeats = new Map<string, { at: number; count: number }>();

/** Keys every Powertools record has, and the stack: not worth a terminal line. */
const NOISE = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'stack',
  'error',
  'reason',
  'requestId',
  'function_request_id',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
]);

/** A Powertools record as one line: `error: unhandled error: TypeError: … — GET /api/v1/x (request 1a2b3c4d)`. */
function logLine(a: Record<string, unknown>): string {
  const level = String(a.level ?? 'info').toLowerCase();
  let line = `${level}: ${String(a.message ?? '')}`;
  if (a.error !== undefined) line += `: ${String(a.error).split('\n')[0]}`;
  if (a.reason !== undefined) line += ` (${String(a.reason).split('\n')[0]})`;
  const requestId = typeof a.requestId === 'string' ? a.requestId : undefined;
  const request = requestId ? requests.get(requestId) : undefined;
  if (request) line += ` — ${request}`;
  const keys = Object.entries(a)
    .filter(([k, v]) => !NOISE.has(k) && v !== undefined && v !== null && typeof v !== 'object')
    .map(([k, v]) => `${k}=${String(v)}`);
  if (requestId) keys.push(`request ${requestId.slice(0, 8)}`);
  if (keys.length) line += ` (${keys.join(' ')})`;
  return clip(line);
}

/**
 * Node's process warnings (a deprecation, the AWS SDK's "node >= 22" notice) as one line each, without
 * the "(Use `node --trace-warnings …`)" hint; verbose keeps Node's own printing.
 */
export function oneLineWarnings(): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) => console.warn(clip(`warning: ${w.name === 'Warning' ? '' : `${w.name}: `}${w.message}`, 240)));
}
