import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import type { Registry, RegistrySync, RegistrySyncResult } from '#domain/ports';
import { OciRegistrySync, type Credentials } from './oci-registry.ts';

/** `{"<registry name>": {"username": "...", "password": "..."}}` — configuration, never request data. */
const credentialsSchema = z.record(z.string(), z.object({ username: z.string().min(1), password: z.string().min(1) }));

/**
 * Registry credentials come from REGISTRY_CREDENTIALS_SECRET (a Secrets
 * Manager secret holding the JSON, read once per container) on AWS, or from
 * REGISTRY_CREDENTIALS (the JSON itself) locally.
 */
export async function loadRegistryCredentials(env: NodeJS.ProcessEnv = process.env): Promise<Record<string, Credentials>> {
  if (env.REGISTRY_CREDENTIALS_SECRET) {
    const r = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: env.REGISTRY_CREDENTIALS_SECRET }));
    return credentialsSchema.parse(JSON.parse(r.SecretString ?? '{}'));
  }
  return credentialsSchema.parse(JSON.parse(env.REGISTRY_CREDENTIALS ?? '{}'));
}

/** The RegistrySync port with credentials loaded on first use. */
export class ConfiguredRegistrySync implements RegistrySync {
  private inner: Promise<OciRegistrySync> | undefined;

  async sync(input: { repository: string; digest: string; source: Registry; targets: Registry[] }): Promise<RegistrySyncResult[]> {
    this.inner ??= loadRegistryCredentials().then((c) => new OciRegistrySync(c));
    return (await this.inner).sync(input);
  }
}
