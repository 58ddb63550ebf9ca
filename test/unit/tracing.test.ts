import { build } from 'esbuild';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const entry = join(root, 'functions', 'adapters', 'tracing.ts');
const xray = (c: DynamoDBClient) => c.middlewareStack.identify().some((m) => m.startsWith('XRaySDKInstrumentation'));

/** The tracing module bundled the way CDK bundles a function, SDK tracing on or off. */
async function bundled(on: boolean): Promise<string> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    define: { 'process.env.STAGELINE_TRACE_SDK': JSON.stringify(on ? 'true' : 'false') },
    write: false,
    logLevel: 'silent',
  });
  return r.outputFiles[0]!.text;
}

describe('SDK tracing (functions/adapters/tracing.ts)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('is off by default: the client is returned as it was', async () => {
    vi.stubEnv('STAGELINE_TRACE_SDK', '');
    const { traced, tracingSdk } = await import('../../functions/adapters/tracing.ts');
    const client = new DynamoDBClient({ region: 'us-east-1' });
    expect(traced(client)).toBe(client);
    expect(xray(client)).toBe(false);
    expect(tracingSdk()).toBe(false);
  });

  it('on Lambda with -c traceSdk=true, wraps every SDK client in an X-Ray subsegment middleware', async () => {
    vi.stubEnv('STAGELINE_TRACE_SDK', 'true');
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs22.x');
    // Not the process-wide https patch in a test runner.
    vi.stubEnv('POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS', 'false');
    const { traced, tracingSdk } = await import('../../functions/adapters/tracing.ts');
    expect(tracingSdk()).toBe(true);
    const client = traced(new DynamoDBClient({ region: 'us-east-1' }));
    expect(xray(client)).toBe(true);
  });

  it('leaves the Tracer out of the bundle unless the deployment traces (build-time define, dead code dropped)', async () => {
    const off = await bundled(false);
    const on = await bundled(true);
    expect(off).not.toMatch(/xray|Tracer/i);
    expect(off.length).toBeLessThan(1024);
    expect(on).toMatch(/XRaySDKInstrumentation/);
    expect(on.length).toBeGreaterThan(100 * 1024);
  });
});
