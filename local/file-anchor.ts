import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkpointMessage } from '../domain/audit.ts';
import type { Checkpoint } from '../domain/model.ts';
import type { AuditAnchor } from '../domain/ports.ts';

/**
 * The local audit anchor: checkpoints signed with HMAC-SHA256 under a key kept
 * in a file outside the table (0600), appended to a file opened in append mode
 * only. The same port as KMS + S3 Object Lock on AWS (functions/adapters/kms-s3-anchor.ts).
 */
export class FileAnchor implements AuditAnchor {
  private readonly key: Buffer;

  constructor(
    keyFile: string,
    private readonly file: string,
  ) {
    mkdirSync(dirname(keyFile), { recursive: true });
    if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    this.key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');
  }

  private mac(tenant: string, seq: number, hash: string): Buffer {
    return createHmac('sha256', this.key).update(checkpointMessage({ tenant, seq, hash })).digest();
  }

  async sign(tenant: string, seq: number, hash: string): Promise<string> {
    return this.mac(tenant, seq, hash).toString('base64url');
  }

  async append(c: Checkpoint): Promise<void> {
    appendFileSync(this.file, JSON.stringify(c) + '\n', { flag: 'a', mode: 0o600 });
  }

  async list(tenant: string): Promise<Checkpoint[]> {
    if (!existsSync(this.file)) return [];
    const out: Checkpoint[] = [];
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const c = JSON.parse(line) as Checkpoint;
        if (c.tenant === tenant) out.push(c);
      } catch {
        /* a torn last line (crash mid-append) is not a checkpoint */
      }
    }
    return out;
  }

  async verify(c: Pick<Checkpoint, 'tenant' | 'seq' | 'hash' | 'mac'>): Promise<boolean> {
    const expected = this.mac(c.tenant, c.seq, c.hash);
    const given = Buffer.from(String(c.mac ?? ''), 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
