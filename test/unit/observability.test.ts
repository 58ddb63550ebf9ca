import { describe, expect, it, vi } from 'vitest';
import { logged, logger, withLambdaContext } from '../../functions/adapters/observability.ts';
import { eventMetrics, sweptPromotions, writeConflicts } from '../../functions/adapters/metrics.ts';
import { httpHandler } from '../../functions/http/handler.ts';
import { writeStats } from '../../domain/kernel/retry.ts';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

/** What the code under test writes, from now until `restore()`: stdout, and stderr too when asked. */
function captureOutput(stderr = false) {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(capture),
    ...(stderr ? [vi.spyOn(process.stderr, 'write').mockImplementation(capture)] : []),
  ];
  return { lines, restore: () => spies.forEach((s) => s.mockRestore()) };
}

/** GET /health as API Gateway hands it to a function, with the gateway's request id. */
const healthEvent = (requestId: string) =>
  ({
    version: '2.0',
    routeKey: 'GET /health',
    rawPath: '/health',
    rawQueryString: '',
    headers: {},
    requestContext: { http: { method: 'GET', path: '/health' }, requestId, timeEpoch: Date.now() },
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;

describe('metrics from the outbox (Powertools EMF)', () => {
  it('counts promotions by outcome and gate failures per target environment, from the events the stream consumer relays', () => {
    const { lines, restore } = captureOutput();
    try {
      const ev = (type: string, detail: Record<string, unknown>) => ({ id: type, type, tenant: 'acme', detail: { tenant: 'acme', ...detail } });
      const n = eventMetrics([
        ev('Promotion Completed', { targetEnvironment: 'production', status: 'COMPLETED' }),
        ev('Promotion Failed', { targetEnvironment: 'staging', status: 'VALIDATION_FAILED' }),
        ev('Promotion Approved', { targetEnvironment: 'production', status: 'APPROVED', approvalWaitSeconds: 42 }),
        ev('Evidence Added', { owner: 'x' }),
      ]);
      expect(n).toBe(3);
    } finally {
      restore();
    }
    const docs = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes('_aws'))
      .map((l) => JSON.parse(l));
    const names = docs.flatMap((d) => d._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => `${m.Name}@${d.environment}`));
    expect(names.sort()).toEqual([
      'ApprovalWaitSeconds@production',
      'GateFailures@staging',
      'PromotionsApproved@production',
      'PromotionsCompleted@production',
      'PromotionsFailed@staging',
    ]);
    expect(docs.find((d) => 'ApprovalWaitSeconds' in d).ApprovalWaitSeconds).toBe(42);
    expect(docs[0]._aws.CloudWatchMetrics[0].Namespace).toBe('Stageline');
  });

  it('counts write conflicts (retried and given up) and promotions the sweeper found stuck; nothing when there were none', () => {
    const { lines, restore } = captureOutput();
    try {
      writeConflicts(0, 0);
      writeConflicts(3, 1);
      sweptPromotions();
    } finally {
      restore();
    }
    const docs = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes('_aws'))
      .map((l) => JSON.parse(l));
    expect(docs).toHaveLength(3);
    expect(docs[0]).toMatchObject({ WriteConflicts: 3 });
    expect(docs[1]).toMatchObject({ WritesGivenUp: 1 });
    expect(docs[2]).toMatchObject({ PromotionsSwept: 1, service: 'stageline' });
  });
});

describe('background work logs one JSON line with its correlation keys (Powertools Logger)', () => {
  it('writes the keys, the outcome and the time of a step; a failure is a warning naming the error, and is rethrown', async () => {
    const { lines, restore } = captureOutput(true);
    const level = logger.getLevelName();
    logger.setLogLevel('INFO');
    const keys = { tenant: 'acme', promotionId: 'prm_1', executionArn: 'arn:aws:states:us-east-1:1:execution:promotion:x', step: 'gates' };
    try {
      expect(
        await logged(
          'step',
          keys,
          async () => ({ next: 'await-approval' }),
          (r) => ({ next: r.next }),
        ),
      ).toEqual({ next: 'await-approval' });
      const busy = Object.assign(new Error('staging is busy'), { name: 'TargetBusy' });
      await expect(
        logged('step', { ...keys, step: 'execute' }, async () => {
          throw busy;
        }),
      ).rejects.toBe(busy);
    } finally {
      logger.setLogLevel(level);
      restore();
    }
    const out = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({ level: 'INFO', message: 'step', service: 'stageline', ...keys, next: 'await-approval' });
    expect(typeof out[0].ms).toBe('number');
    expect(out[1]).toMatchObject({
      level: 'WARN',
      message: 'step failed',
      tenant: 'acme',
      promotionId: 'prm_1',
      step: 'execute',
      error: 'TargetBusy',
      reason: 'staging is busy',
    });
  });

  it('an API request that lost write races emits WriteConflicts (the metrics module is loaded then); one that did not emits nothing', async () => {
    vi.stubEnv('TABLE_NAME', 'observability-test'); // the deps are built (no request reaches the table)
    let races = 0;
    const handler = httpHandler({}, async () => {
      writeStats.retries += races;
      return { ok: true };
    });
    const event = healthEvent('r');
    const context = { awsRequestId: 'r', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
    const { lines, restore } = captureOutput();
    try {
      expect(await handler(event, context)).toMatchObject({ statusCode: 200 });
      races = 2;
      expect(await handler(event, context)).toMatchObject({ statusCode: 200 });
    } finally {
      restore();
      vi.unstubAllEnvs();
    }
    const docs = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes('_aws'))
      .map((l) => JSON.parse(l));
    expect(docs).toHaveLength(2);
    expect(docs[0]).toMatchObject({ WriteConflicts: 2 });
    expect(docs[1]).toMatchObject({ WritesGivenUp: 0 });
  });

  it("every line of an invocation carries its Lambda context: an API request's error line and a background function's lines", async () => {
    // Tests log at ERROR (observability.ts), and Powertools' middleware puts the level back at each invocation: error lines are what is printed here.
    vi.stubEnv('TABLE_NAME', 'observability-test');
    const { lines, restore } = captureOutput(true);
    const context = (awsRequestId: string, functionName: string) =>
      ({
        awsRequestId,
        functionName,
        functionVersion: '$LATEST',
        invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
        memoryLimitInMB: '512',
        getRemainingTimeInMillis: () => 10_000,
      }) as unknown as Context;
    try {
      const api = httpHandler({}, async () => {
        throw new TypeError('not a domain error');
      });
      expect(await api(healthEvent('gw-1'), context('req-api', 'stageline-rules-read'))).toMatchObject({ statusCode: 500 });
      const background = withLambdaContext(async (input: { promotionId: string }) => {
        logger.error('promotion not attested', { promotionId: input.promotionId });
        return 'done';
      });
      expect(await background({ promotionId: 'prm_9' }, context('req-stream', 'stageline-stream'))).toBe('done');
      expect(await background({ promotionId: 'prm_10' })).toBe('done');
    } finally {
      restore();
      vi.unstubAllEnvs();
    }
    const out = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.startsWith('{') && !l.includes('_aws'))
      .map((l) => JSON.parse(l));
    expect(out.find((l) => l.message === 'unhandled error')).toMatchObject({
      function_request_id: 'req-api',
      function_name: 'stageline-rules-read',
      requestId: 'req-api',
    });
    const attested = out.filter((l) => l.message === 'promotion not attested');
    expect(attested[0]).toMatchObject({
      function_request_id: 'req-stream',
      function_name: 'stageline-stream',
      function_arn: 'arn:aws:lambda:us-east-1:123456789012:function:stageline-stream',
      promotionId: 'prm_9',
    });
    expect(typeof attested[0].cold_start).toBe('boolean');
    // Without a context (a local call), the line is written all the same.
    expect(attested[1]).toMatchObject({ promotionId: 'prm_10' });
  });
});
