import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import * as env from '../configuration.ts';
import { traced } from './tracing.ts';
import type { Sealed, Sealer } from '#domain/kernel/sealed';

/**
 * Encrypts tenant secrets (webhook gate secrets) before they reach the table: AES-256-GCM with a
 * key that lives outside the table — `STAGELINE_SECRETS_KEY` (base64, 32 bytes; the local stack
 * keeps one in its data folder, 0600) or, on AWS, a Secrets Manager secret named by
 * `SECRETS_KEY_SECRET_ARN` (read once per container). A reader of the table sees `enc:v1:…`.
 */
const PREFIX = 'enc:v1:';

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the secrets key must be 32 bytes (base64 in STAGELINE_SECRETS_KEY)');
  }

  seal(plain: string): string {
    if (plain.startsWith(PREFIX)) return plain;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
  }

  open(stored: string): string {
    // Items written before encryption was configured hold the plain value.
    if (!stored.startsWith(PREFIX)) return stored;
    const [iv, tag, body] = stored.slice(PREFIX.length).split('.');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv!, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body!, 'base64url')), decipher.final()]).toString('utf8');
  }
}

let cached: Promise<SecretBox | null> | undefined;

/** The configured box, or null when no key is configured (secrets are then stored as given). */
export function secretBox(source?: env.Source): Promise<SecretBox | null> {
  cached ??= (async () => {
    const key = env.STAGELINE_SECRETS_KEY(source);
    if (key) return new SecretBox(Buffer.from(key, 'base64'));
    const arn = env.SECRETS_KEY_SECRET_ARN(source);
    if (arn) {
      const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      const r = await traced(new SecretsManagerClient({})).send(new GetSecretValueCommand({ SecretId: arn }));
      // A generated secret string of any length: its SHA-256 is the 32-byte key.
      return new SecretBox(
        createHash('sha256')
          .update(r.SecretString ?? '')
          .digest(),
      );
    }
    return null;
  })();
  return cached;
}

/*
 * The only ways in and out of a Sealed value (domain/kernel/sealed.ts). A function holds the key (its env and
 * the IAM read of the sealing secret, infra/adapters-secrets.ts) exactly when its bundle carries this module:
 * the writers of a secret (through `sealer`) and the adapters that use one (`openSealed`): test/infra/stack-iam.test.ts.
 */

/** Seals a secret a write was given (stored as given when no key is configured, as before). */
export async function sealSecret(plain: string): Promise<Sealed> {
  const box = await secretBox();
  return (box ? box.seal(plain) : plain) as unknown as Sealed;
}

/** Opens a stored value where it is used (the webhook-gate caller, the Slack sender). */
export async function openSealed(stored: Sealed): Promise<string> {
  const value = stored as unknown as string;
  if (!value.startsWith(PREFIX)) return value;
  const box = await secretBox();
  if (!box) throw new Error('a sealed secret, and no secrets key configured to open it');
  return box.open(value);
}

/** The port the writers of a secret compose (environment create/update, manifest apply, notification settings). */
export const sealer = (): Sealer => ({
  seal: sealSecret,
  same: async (stored, plain) => (await openSealed(stored)) === plain,
});

/** Tests and the local stack change the key between stacks. */
export function resetSecretBox(): void {
  cached = undefined;
}
