import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkpointPublicKey, describePublicKey, rootMessage, signatureValid } from '../domain/audit/audit.ts';
import type { AnchorPublicKey, Checkpoint, SignedRoot, SignedStatement } from '../domain/kernel/model.ts';
import type { AuditAnchor } from '../domain/audit/ports.ts';

/**
 * The local audit anchor: roots signed with ECDSA P-256 / SHA-256 — the algorithm of the KMS key
 * on AWS (functions/adapters/kms-s3-anchor.ts) — under a private key generated on first start
 * into a file outside the table (PKCS#8 PEM, 0600); each chain's checkpoint (with its inclusion
 * proof and the signed root) appended to a file opened in append mode only. Verifying needs the
 * public key alone, as an auditor's does. Each tenant's attestations are signed with a key of its own,
 * generated on its first attestation into `tenant-keys/<tenant>.pem` next to the deployment's key (as a KMS
 * key per tenant is on AWS): the deployment's key signs only the Merkle roots.
 */
export class FileAnchor implements AuditAnchor {
  private readonly privateKey: KeyObject;
  private readonly publicKeyObject: KeyObject;
  private readonly tenantKeyDir: string;
  private readonly tenantKeys = new Map<string, KeyObject>();

  constructor(
    keyFile: string,
    private readonly file: string,
  ) {
    this.tenantKeyDir = join(dirname(keyFile), 'tenant-keys');
    this.privateKey = FileAnchor.keyIn(keyFile, true)!;
    this.publicKeyObject = checkpointPublicKey(this.privateKey);
  }

  /** The private key kept in a file (made first when `create` and there is none; another process's, made first, wins). */
  private static keyIn(keyFile: string, create: boolean): KeyObject | null {
    if (!existsSync(keyFile)) {
      if (!create) return null;
      mkdirSync(dirname(keyFile), { recursive: true });
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      try {
        writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process made it first: use theirs
      }
    }
    chmodSync(keyFile, 0o600);
    return createPrivateKey(readFileSync(keyFile, 'utf8'));
  }

  /** A tenant's attestation key (tenant ids are [a-z0-9-]: a file name as they are). */
  private tenantPrivateKey(tenant: string, create: boolean): KeyObject | null {
    const known = this.tenantKeys.get(tenant);
    if (known) return known;
    if (!/^[A-Za-z0-9_-]+$/.test(tenant)) throw new Error(`not a tenant id: ${JSON.stringify(tenant)}`);
    const key = FileAnchor.keyIn(join(this.tenantKeyDir, `${tenant}.pem`), create);
    if (key) this.tenantKeys.set(tenant, key);
    return key;
  }

  async sign(root: SignedStatement): Promise<string> {
    return sign('sha256', Buffer.from(rootMessage(root)), { key: this.privateKey, dsaEncoding: 'der' }).toString('base64url');
  }

  async signBytes(tenant: string, message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(sign('sha256', message, { key: this.tenantPrivateKey(tenant, true)!, dsaEncoding: 'der' }));
  }

  async tenantKey(tenant: string, create = false): Promise<AnchorPublicKey | null> {
    const key = this.tenantPrivateKey(tenant, create);
    return key ? describePublicKey(checkpointPublicKey(key)) : null;
  }

  async append(c: Checkpoint): Promise<void> {
    appendFileSync(this.file, JSON.stringify(c) + '\n', { flag: 'a', mode: 0o600 });
  }

  async list(tenant: string, fromSeq = 1): Promise<Checkpoint[]> {
    if (!existsSync(this.file)) return [];
    const out: Checkpoint[] = [];
    // A checkpoint appended again (a redelivered batch re-anchors its head) is one checkpoint, as the same S3 key is.
    const seen = new Set<string>();
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim() || seen.has(line)) continue;
      seen.add(line);
      try {
        const c = JSON.parse(line) as Checkpoint;
        // A line without its signature or inclusion proof is no checkpoint (as an S3 key without them is none).
        if (c.tenant === tenant && typeof c.sig === 'string' && typeof c.proof === 'object' && c.proof !== null && c.seq >= fromSeq) out.push(c);
      } catch {
        /* a torn last line (crash mid-append) is not a checkpoint */
      }
    }
    return out;
  }

  async publicKey(): Promise<AnchorPublicKey> {
    return describePublicKey(this.publicKeyObject);
  }

  async verify(c: SignedRoot | Pick<Checkpoint, 'tenant' | 'seq' | 'hash' | 'at' | 'sig' | 'proof'>): Promise<boolean> {
    return signatureValid(this.publicKeyObject, c);
  }
}
