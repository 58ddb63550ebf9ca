/**
 * The audit stream's S3 sender (functions/adapters/siem/s3.ts) against moto_server (S3 and STS): each batch
 * one NDJSON object in the tenant's bucket, written with a session of the tenant's role (assumed with the
 * tenant's external id), never with the platform's credentials.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditSendRefused, AuditSendUnavailable } from '../../domain/audit/stream-ports.ts';
import { classifyS3Error, s3Sender, tenantRoleCredentials } from '../../functions/adapters/siem/s3.ts';
import { freePort } from '../support/registry.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { streamedChain } from '../support/streamed-audit.ts';

const TENANT_ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${TENANT_ACCOUNT}:role/stageline-audit`;

let moto: Moto | undefined;
let endpoint: string;
beforeAll(async () => {
  moto = await startMoto();
  endpoint = moto.endpoint;
}, 90_000);
afterAll(() => moto?.stop());

const sts = () => new STSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'platform', secretAccessKey: 'platform' } });
const s3As = (credentials: AwsCredentialIdentityProvider | { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, region = 'eu-west-1') =>
  new S3Client({ endpoint, region, forcePathStyle: true, credentials, maxAttempts: 1 });
/** The customer's account, as moto keeps it apart: a session of a role in it. */
const customer = async () => {
  const c = (await sts().send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'seed', ExternalId: 'seed' }))).Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken };
};
const bodyOf = async (bucket: string, key: string) =>
  (await (await s3As(await customer())).send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();

describe('s3Sender (moto_server)', () => {
  it("writes each batch as one NDJSON object under <prefix>/<tenant>/<yyyy>/<mm>/<dd>/<firstSeq>-<lastSeq>.ndjson with the tenant role's session; a re-sent batch overwrites the same key", async () => {
    await (
      await s3As(await customer())
    ).send(new CreateBucketCommand({ Bucket: 'acme-audit', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    const made: string[] = [];
    const creds = tenantRoleCredentials('acme', ROLE, sts);
    const sender = s3Sender({ bucket: 'acme-audit', prefix: 'siem/stageline', region: 'eu-west-1' }, creds, {
      clientFor: async (provider, region) => {
        const c = await provider();
        made.push(c.accessKeyId);
        return s3As(provider, region);
      },
    });
    const chain = streamedChain('acme', 5, { at: new Date('2026-11-27T23:59:58.000Z') });
    await sender.send(chain.slice(0, 3));
    await sender.send(chain.slice(3));
    // At-least-once: the first batch comes again (a lost answer), and lands on the same key.
    await sender.send(chain.slice(0, 3));
    const list = await (await s3As(await customer())).send(new ListObjectsV2Command({ Bucket: 'acme-audit' }));
    // The first entry's day names the folder, even when a batch runs past midnight.
    expect((list.Contents ?? []).map((o) => o.Key)).toEqual([
      'siem/stageline/acme/2026/11/27/000000000001-000000000003.ndjson',
      'siem/stageline/acme/2026/11/28/000000000004-000000000005.ndjson',
    ]);
    const first = await bodyOf('acme-audit', 'siem/stageline/acme/2026/11/27/000000000001-000000000003.ndjson');
    expect(first.endsWith('\n')).toBe(true);
    const lines = first
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual(JSON.parse(JSON.stringify(chain.slice(0, 3))));
    expect(lines.map((l) => [l.tenant, l.seq])).toEqual([
      ['acme', 1],
      ['acme', 2],
      ['acme', 3],
    ]);
    expect(lines[1].prevHash).toBe(lines[0].hash);
    // Written with the assumed session (moto's assumed-role keys start ASIA), never the platform's key.
    expect(made.length).toBeGreaterThan(0);
    expect(made.every((k) => k.startsWith('ASIA') && k !== 'platform')).toBe(true);
    // The default prefix.
    const plain = s3Sender({ bucket: 'acme-audit', region: 'eu-west-1' }, creds, { clientFor: (p, r) => s3As(p, r) });
    await plain.send(streamedChain('acme', 1, { from: 6 }));
    const again = await (await s3As(await customer())).send(new ListObjectsV2Command({ Bucket: 'acme-audit', Prefix: 'stageline-audit/' }));
    expect((again.Contents ?? []).map((o) => o.Key)).toEqual(['stageline-audit/acme/2026/11/27/000000000006-000000000006.ndjson']);
  });

  it('assumes the role with the tenant external id, a session named after the tenant and tagged with it, and keeps the session until near expiry', async () => {
    const sent: Record<string, unknown>[] = [];
    const recording = () => {
      const c = sts();
      c.middlewareStack.add((next) => async (args) => (sent.push((args.input ?? {}) as Record<string, unknown>), next(args)), { step: 'initialize' });
      return c;
    };
    let now = new Date();
    const creds = tenantRoleCredentials('acme', ROLE, recording, () => now);
    const a = await creds.provider();
    const b = await creds.provider();
    expect(b).toBe(a);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ RoleArn: ROLE, ExternalId: 'stageline:acme', Tags: [{ Key: 'tenant', Value: 'acme' }] });
    expect(String(sent[0]!.RoleSessionName)).toMatch(/^stageline-audit-acme-[0-9a-f]{20}$/);
    now = new Date(a.expiration!.getTime() - 30_000);
    await creds.provider();
    expect(sent).toHaveLength(2);
  });

  it("refuses plainly: a bucket that does not exist, entries of another tenant than the role's, settings that are not a bucket, no role", async () => {
    const creds = tenantRoleCredentials('acme', ROLE, sts);
    const sender = s3Sender({ bucket: 'no-such-bucket-here', region: 'eu-west-1' }, creds, { clientFor: (p, r) => s3As(p, r) });
    const missing = await sender.send(streamedChain('acme', 2)).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(AuditSendRefused);
    expect(missing).toMatchObject({ status: 404, message: 'S3 refused the object in no-such-bucket-here (NoSuchBucket): the bucket does not exist' });
    await expect(sender.send(streamedChain('globex', 1))).rejects.toThrow(
      new AuditSendRefused('entry 1 is of tenant globex: this destination writes with the role of acme'),
    );
    expect(() => s3Sender({ bucket: 'Bad_Bucket' }, creds)).toThrow(/^the S3 destination's settings\.bucket must be an S3 bucket name/);
    expect(() => s3Sender({ bucket: 'ok-bucket', prefix: 'a/../b' }, creds)).toThrow(/settings\.prefix/);
    expect(() => s3Sender({ bucket: 'ok-bucket', region: 'mars-1' }, creds)).toThrow(/settings\.region must be an AWS region/);
    expect(() => s3Sender({ bucket: 'ok-bucket' }, undefined as never)).toThrow(
      "the S3 destination has no tenant role: the platform's own credentials never write a tenant's bucket",
    );
  });

  it('classifies S3 answers: AccessDenied and NoSuchBucket refused with the plain reason; SlowDown, 5xx and no answer unavailable', () => {
    const err = (name: string, status: number) =>
      new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });
    const denied = classifyS3Error(err('AccessDenied', 403), 'acme-audit');
    expect(denied).toBeInstanceOf(AuditSendRefused);
    expect(denied.message).toBe(
      "S3 refused the object in acme-audit (AccessDenied): the role may not put objects in the bucket: its policy (and the bucket's) must allow s3:PutObject on the prefix",
    );
    expect(classifyS3Error(err('NoSuchBucket', 404), 'b')).toBeInstanceOf(AuditSendRefused);
    expect(classifyS3Error(err('SlowDown', 503), 'b')).toBeInstanceOf(AuditSendUnavailable);
    expect(classifyS3Error(err('InternalError', 500), 'b')).toBeInstanceOf(AuditSendUnavailable);
    expect(classifyS3Error(err('Whatever', 502), 'b')).toBeInstanceOf(AuditSendUnavailable);
    expect(classifyS3Error(Object.assign(new Error('socket hang up'), { name: 'Error' }), 'b')).toBeInstanceOf(AuditSendUnavailable);
    expect(classifyS3Error(err('InvalidArgument', 400), 'b')).toBeInstanceOf(AuditSendRefused);
  });

  it('answers unavailable when S3 cannot be reached (an outage), and the same batch lands whole afterwards', async () => {
    await (
      await s3As(await customer())
    ).send(new CreateBucketCommand({ Bucket: 'acme-outage', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    const creds = tenantRoleCredentials('acme', ROLE, sts);
    const dead = `http://127.0.0.1:${await freePort()}`;
    let down = true;
    const sender = s3Sender({ bucket: 'acme-outage', region: 'eu-west-1' }, creds, {
      clientFor: (provider, region) => {
        const c = new S3Client({ endpoint, region, forcePathStyle: true, credentials: provider, maxAttempts: 1 });
        // The outage: every request goes to a port nothing listens on while `down`.
        c.middlewareStack.add(
          (next) => async (args) => {
            const req = args.request as { hostname: string; port?: number };
            if (down) Object.assign(req, { hostname: '127.0.0.1', port: Number(new URL(dead).port) });
            return next(args);
          },
          { step: 'finalizeRequest' },
        );
        return c;
      },
    });
    const batch = streamedChain('acme', 3);
    await expect(sender.send(batch)).rejects.toThrow(AuditSendUnavailable);
    down = false;
    await sender.send(batch);
    const lines = (await bodyOf('acme-outage', 'stageline-audit/acme/2026/11/27/000000000001-000000000003.ndjson')).trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l).seq)).toEqual([1, 2, 3]);
  });
});
