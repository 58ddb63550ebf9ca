/**
 * X-Ray subsegments around every AWS SDK call (Powertools Tracer), when the deployment asks for
 * them: `npx cdk deploy -c traceSdk=true`. Lambda's own active tracing records every invocation
 * either way; this adds one subsegment per DynamoDB, Step Functions, EventBridge, … call, and per
 * outbound HTTPS request (webhook gates, registries).
 *
 * Off by default, and then absent from the bundle: the bundler replaces
 * `process.env.STAGELINE_TRACE_SDK` with the deployment's choice, so the branch below is dead
 * code and the Tracer and the X-Ray SDK under it (about +120 KiB and +30–50 ms of module init per
 * function, measured by `npm run bench`) are not bundled. Outside a bundle (tests, `npm start`)
 * the variable is read at run time; the Tracer itself stays off outside Lambda.
 */
const tracer =
  process.env.STAGELINE_TRACE_SDK === 'true' ? new (await import('@aws-lambda-powertools/tracer')).Tracer({ serviceName: 'stageline' }) : undefined;

/** The client, with its calls traced when SDK tracing is on (the same client otherwise). */
export function traced<T extends object>(client: T): T {
  return tracer ? (tracer.captureAWSv3Client(client as never) as T) : client;
}

/** Whether this process traces SDK calls (the Tracer is loaded and enabled). */
export const tracingSdk = (): boolean => tracer?.isTracingEnabled() ?? false;
