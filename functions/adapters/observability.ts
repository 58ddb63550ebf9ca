import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import * as env from '../configuration.ts';

/**
 * Powertools for AWS Lambda: one JSON logger for every function (the local stack prints the same
 * lines). Quiet under tests unless asked. The EMF metrics are in metrics.ts, loaded only by the
 * functions that emit them (an HTTP function only when a request lost a write race).
 */
const quiet = !!env.VITEST() || env.STAGELINE_ACCESS_LOG() === false;

/** Errors are always written; the per-request and per-step lines only when not quiet. */
export const logger = new Logger({ serviceName: 'stageline', logLevel: quiet ? 'ERROR' : 'INFO' });

/**
 * Every line an invocation writes carries its Lambda context (function name and version, request id,
 * cold start). API functions get it from Powertools' middy middleware (functions/http/middleware.ts
 * lambdaContext); a function not behind middy (a flow step, the stream consumer, a schedule firing …)
 * wraps its handler in this, which adds the invocation's context to the logger before it runs.
 */
export const withLambdaContext =
  <E, C extends object, R>(handler: (event: E, context?: C) => Promise<R>) =>
  (event: E, context?: C): Promise<R> => {
    if (context) logger.addContext(context as unknown as Context);
    return handler(event, context);
  };

/**
 * Runs one unit of background work (a flow step, a schedule firing) and writes one JSON line
 * about it: its correlation keys (tenant, promotion, execution, …), what it returned (`outcome`)
 * and how long it took; a failure is a warning with the error's name (the caller rethrows it:
 * the flow's own Retry/Catch decides what it means).
 */
export async function logged<T>(
  message: string,
  keys: Record<string, unknown>,
  run: () => Promise<T>,
  outcome: (result: T) => Record<string, unknown> = () => ({}),
): Promise<T> {
  const started = Date.now();
  try {
    const result = await run();
    logger.info(message, { ...keys, ...outcome(result), ms: Date.now() - started });
    return result;
  } catch (err) {
    const name = (err as Error)?.name;
    // A poll or a measurement that is not over yet is the flow's loop, not a failure: said at info level.
    if (LOOPS.has(name)) logger.info(`${message} again`, { ...keys, next: name, reason: (err as Error)?.message, ms: Date.now() - started });
    else logger.warn(`${message} failed`, { ...keys, error: name, reason: (err as Error)?.message, ms: Date.now() - started });
    throw err;
  }
}

/** Errors a flow step throws to loop (the ASL catches them into a timed wait and comes back): a health poll, a measurement. */
const LOOPS = new Set(['NotHealthy', 'MeasureAgain']);
