import { describe, expect, it } from 'vitest';
import { batchTenant, cutForDatadog, datadogDestinationSettings, ndjson, s3DestinationSettings, s3ObjectKey } from '../../domain/audit/siem-destinations.ts';
import * as z from '../../domain/kernel/zod.ts';
import { streamedChain } from '../support/streamed-audit.ts';

const LIMITS = { maxEntries: 3, maxPayloadBytes: 20, maxLogBytes: 8 };

describe('cutForDatadog', () => {
  it('cuts in order at the entry count and at the payload size (brackets and commas counted), never leaving an empty request', () => {
    expect(cutForDatadog([1, 1, 1, 1, 1, 1, 1], LIMITS)).toEqual({
      chunks: [
        [0, 3],
        [3, 6],
        [6, 7],
      ],
      tooLarge: null,
    });
    // [a,b] = 2 + 8 + 1 + 8 = 19 ≤ 20; a third of 1 byte would make 21.
    expect(cutForDatadog([8, 8, 1, 8], LIMITS)).toEqual({
      chunks: [
        [0, 2],
        [2, 4],
      ],
      tooLarge: null,
    });
    expect(cutForDatadog([], LIMITS)).toEqual({ chunks: [], tooLarge: null });
  });

  it('names the first entry above one log, and cuts nothing', () => {
    expect(cutForDatadog([1, 9, 10], LIMITS)).toEqual({ chunks: [], tooLarge: 1 });
  });

  it("keeps every request within Datadog's published limits for any sizes", () => {
    const sizes = Array.from({ length: 5000 }, (_, i) => ((i * 7919) % 1000) * 1000 + 1);
    const { chunks } = cutForDatadog(sizes);
    expect(chunks.flatMap(([s, e]) => Array.from({ length: e - s }, (_, k) => s + k))).toEqual(sizes.map((_, i) => i));
    for (const [s, e] of chunks) {
      expect(e - s).toBeLessThanOrEqual(1000);
      const bytes = 2 + sizes.slice(s, e).reduce((a, b) => a + b, 0) + (e - s - 1);
      expect(bytes).toBeLessThanOrEqual(5 * 1024 * 1024);
    }
  });
});

describe('s3ObjectKey', () => {
  it("is the prefix, tenant, the first entry's UTC day and the padded first and last seq: the same batch is the same key whenever it is sent", () => {
    const batch = streamedChain('acme', 3, { from: 41, at: new Date('2026-01-31T23:59:59.000Z') });
    expect(s3ObjectKey('siem', batch)).toBe('siem/acme/2026/01/31/000000000041-000000000043.ndjson');
    expect(s3ObjectKey(undefined, batch)).toBe('stageline-audit/acme/2026/01/31/000000000041-000000000043.ndjson');
    expect(s3ObjectKey(undefined, batch)).toBe(s3ObjectKey(undefined, structuredClone(batch)));
  });

  it('keeps a tenant name a single key segment', () => {
    expect(s3ObjectKey('p', streamedChain('a/../b', 1))).toBe('p/a%2F..%2Fb/2026/11/27/000000000001-000000000001.ndjson');
  });

  it('writes one JSON line per entry, in order, ending with a newline', () => {
    const batch = streamedChain('acme', 2);
    expect(ndjson(batch).split('\n')).toEqual([JSON.stringify(batch[0]), JSON.stringify(batch[1]), '']);
  });
});

describe('the destinations settings', () => {
  const issues = (schema: any, v: unknown) => (z.safeParse(schema, v).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);

  it('takes the documented Datadog sites only, and tags as Datadog writes them', () => {
    expect(issues(datadogDestinationSettings, { site: 'ap1.datadoghq.com', service: 'stageline', tags: ['env:prod'] })).toEqual([]);
    expect(issues(datadogDestinationSettings, { site: 'datadoghq.com.evil.example' })[0]).toMatch(/^site: /);
    expect(issues(datadogDestinationSettings, { site: 'datadoghq.com', tags: ['a,b'] })[0]).toMatch(/^tags\.0: must be a Datadog tag/);
    expect(issues(datadogDestinationSettings, { site: 'datadoghq.com', apiKey: 'x' })[0]).toMatch(/apiKey/);
  });

  it('takes an S3 bucket, prefix, region and role by their rules', () => {
    const ok = { bucket: 'acme-audit', prefix: 'siem/stageline', region: 'eu-west-1', roleArn: 'arn:aws:iam::123456789012:role/stageline-audit' };
    expect(issues(s3DestinationSettings, ok)).toEqual([]);
    expect(issues(s3DestinationSettings, { ...ok, bucket: '192.168.1.1' })[0]).toMatch(/^bucket: /);
    expect(issues(s3DestinationSettings, { ...ok, prefix: '/abs' })[0]).toMatch(/^prefix: /);
    expect(issues(s3DestinationSettings, { ...ok, prefix: 'a/../b' })[0]).toMatch(/^prefix: /);
    expect(issues(s3DestinationSettings, { ...ok, roleArn: 'arn:aws:iam::123:role/x' })[0]).toMatch(/^roleArn: must be an IAM role ARN/);
  });

  it('refuses a batch of two tenants', () => {
    expect(() => batchTenant([...streamedChain('acme', 1), ...streamedChain('globex', 1, { from: 2 })])).toThrow(/entry 2 is of tenant globex, not acme/);
  });
});
