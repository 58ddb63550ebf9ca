import * as z from '../kernel/zod.ts';
import { ROLE_ARN } from '../kernel/aws-names.ts';
import { DATADOG_SITES } from '../kernel/vendor-sites.ts';
import type { StreamedAuditEntry } from './stream-ports.ts';

/**
 * What the Datadog and S3 destinations of the audit stream take (their settings), and the pure rules
 * their senders (functions/adapters/siem/datadog.ts, s3.ts) follow: how a batch is cut to Datadog's
 * published intake limits and which object key a batch is written to in the tenant's bucket.
 */

/** Datadog's logs intake, per request (the "Send logs" reference): uncompressed payload, one log, array length. */
export const DATADOG_LOGS_LIMITS = { maxPayloadBytes: 5 * 1024 * 1024, maxLogBytes: 1024 * 1024, maxEntries: 1000 } as const;

/** A Datadog tag (`key:value`): starts with a letter; lower-case letters, digits, `_ - : . /`; at most 200 characters (Datadog's tag rules). */
export const DATADOG_TAG = /^[a-z][a-z0-9_\-:./]{0,199}$/;

export const datadogDestinationSettings = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    site: z
      .enum(DATADOG_SITES)
      .check(z.describe('the Datadog site of the organization (its site parameter): logs go to https://http-intake.logs.<site>/api/v2/logs')),
    service: z.optional(
      z
        .string()
        .check(
          z.regex(DATADOG_TAG, 'must be a Datadog service name: lower-case letters, digits and _ - : . /, starting with a letter, at most 200 characters'),
          z.describe('the `service` of every log (default `stageline`)'),
        ),
    ),
    tags: z.optional(
      z
        .array(
          z.string().check(
            z.regex(
              DATADOG_TAG,
              'must be a Datadog tag such as env:prod: lower-case letters, digits and _ - : . /, starting with a letter, at most 200 characters',
            ),
            z.refine((t) => !t.startsWith('tenant:'), { message: 'tenant: is set by Stageline (the tenant of every entry)' }),
          ),
        )
        .check(z.maxLength(20), z.describe('tags added to every log, beside `tenant:<tenant>`')),
    ),
  }),
);
export type DatadogDestinationSettings = z.infer<typeof datadogDestinationSettings>;

/** An S3 bucket name (the general purpose bucket naming rules): 3-63 of a-z 0-9 . -, starting and ending with a letter or digit, not an IP address. */
export const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** An AWS region name such as eu-west-1 or us-gov-west-1. */
export const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$/;

export const s3DestinationSettings = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    bucket: z.string().check(
      z.regex(S3_BUCKET, 'must be an S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit'),
      z.refine((b) => !/^\d+\.\d+\.\d+\.\d+$/.test(b) && !b.includes('..') && !b.startsWith('xn--') && !b.endsWith('-s3alias'), {
        message: 'is not a valid S3 bucket name (no IP address form, no "..", no xn-- prefix, no -s3alias suffix)',
      }),
      z.describe('the bucket the tenant owns; its policy lets the role below put objects'),
    ),
    prefix: z.optional(
      z.string().check(
        z.regex(/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/, "must be S3 key segments of letters, digits and !_.*'()- separated by single slashes"),
        z.refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), { message: 'must not hold . or .. segments' }),
        z.maxLength(512),
        z.describe('the key prefix of every object (default `stageline-audit`)'),
      ),
    ),
    region: z.optional(z.string().check(z.regex(AWS_REGION, 'must be an AWS region such as eu-west-1'), z.describe("the bucket's region"))),
    roleArn: z
      .string()
      .check(
        z.maxLength(2048),
        z.regex(ROLE_ARN, 'must be an IAM role ARN, e.g. arn:aws:iam::123456789012:role/stageline-audit'),
        z.describe("the role in the tenant's account Stageline assumes (with the tenant's external id) to put the objects"),
      ),
  }),
);
export type S3DestinationSettings = z.infer<typeof s3DestinationSettings>;

/** The prefix objects go under when the settings name none. */
export const DEFAULT_S3_PREFIX = 'stageline-audit';

/** A sequence number in a key: zero-padded, so a listing of the keys is in chain order. */
const padSeq = (seq: number) => String(seq).padStart(12, '0');

/**
 * The key a batch is written to: `<prefix>/<tenant>/<yyyy>/<mm>/<dd>/<firstSeq>-<lastSeq>.ndjson`, the date
 * the first entry's (UTC), never the time of sending: the same batch sent again is the same key, so a
 * re-sent batch overwrites its object and at-least-once delivery never doubles an entry in the bucket.
 */
export function s3ObjectKey(prefix: string | undefined, batch: readonly StreamedAuditEntry[]): string {
  const first = batch[0];
  const last = batch[batch.length - 1];
  if (!first || !last) throw new Error('an empty batch has no key');
  const at = new Date(first.entry.at);
  if (Number.isNaN(at.getTime())) throw new Error(`entry ${first.seq} has no valid time (${first.entry.at})`);
  const day = [String(at.getUTCFullYear()).padStart(4, '0'), String(at.getUTCMonth() + 1).padStart(2, '0'), String(at.getUTCDate()).padStart(2, '0')];
  return [prefix ?? DEFAULT_S3_PREFIX, encodeURIComponent(first.tenant), ...day, `${padSeq(first.seq)}-${padSeq(last.seq)}.ndjson`].join('/');
}

/** One line of an NDJSON object per entry, in the batch's (chain) order; the object ends with a newline. */
export function ndjson(batch: readonly StreamedAuditEntry[]): string {
  return batch.map((e) => `${JSON.stringify(e)}\n`).join('');
}

/** The tenant every entry of a batch belongs to; a batch mixing tenants is refused (a destination is one tenant's). */
export function batchTenant(batch: readonly StreamedAuditEntry[]): string {
  const tenant = batch[0]?.tenant;
  if (tenant === undefined) throw new Error('an empty batch has no tenant');
  const other = batch.find((e) => e.tenant !== tenant);
  if (other) throw new MixedTenants(`entry ${other.seq} is of tenant ${other.tenant}, not ${tenant}: a destination takes one tenant's entries`);
  return tenant;
}

export class MixedTenants extends Error {
  override readonly name = 'MixedTenants';
}

/**
 * Cuts items (each already serialized, in order) into requests within Datadog's limits: at most
 * `maxEntries` items and `maxPayloadBytes` of JSON array per request. An item larger than one log may be
 * is not cut (Datadog would truncate it, breaking the entry its hash covers): `tooLarge` names it.
 */
export function cutForDatadog(
  sizes: readonly number[],
  limits: { maxPayloadBytes: number; maxLogBytes: number; maxEntries: number } = DATADOG_LOGS_LIMITS,
): { chunks: [start: number, end: number][]; tooLarge: number | null } {
  const tooLarge = sizes.findIndex((s) => s > limits.maxLogBytes);
  if (tooLarge >= 0) return { chunks: [], tooLarge };
  const chunks: [number, number][] = [];
  let start = 0;
  // `[` + `]`, and a comma before every item after the first.
  let bytes = 2;
  sizes.forEach((size, i) => {
    const added = size + (i > start ? 1 : 0);
    if (i > start && (i - start >= limits.maxEntries || bytes + added > limits.maxPayloadBytes)) {
      chunks.push([start, i]);
      start = i;
      bytes = 2 + size;
    } else {
      bytes += added;
    }
  });
  if (sizes.length > start) chunks.push([start, sizes.length]);
  return { chunks, tooLarge: null };
}
