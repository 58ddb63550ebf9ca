import * as z from '#domain/kernel/zod';
import type { Registry, RegistrySync, RegistrySyncResult } from '#domain/artifacts/ports';
import type { CredentialBinding } from './oci/client.ts';
import { OciRegistrySync } from './oci/sync.ts';
import { ecrRegistryOf, EcrTokens } from './ecr-tokens.ts';
import * as env from '../configuration.ts';
import { traced } from './tracing.ts';

/**
 * `[{"tenant": "acme", "origin": "https://harbor.example.com", "username": "...", "password": "...",
 * "realmOrigins": ["https://auth.example.com"]}]` — configuration, never request data. Each entry
 * binds one credential to one tenant and one registry origin. An Amazon ECR origin takes
 * `{"tenant", "origin", "ecr": true}`: its tokens come from the token API (functions/adapters/ecr-tokens.ts).
 */
const origin = () => z.url().check(z.refine((u) => new URL(u).origin === u, 'origin is scheme://host[:port] with no path'));
const credentialsSchema = /* @__PURE__ */ z.schema(() =>
  z.array(
    z.union([
      z.strictObject({
        tenant: z.string().check(z.minLength(1)),
        origin: origin().check(
          z.refine(
            (u) => !ecrRegistryOf(u),
            'an Amazon ECR origin takes "ecr": true (tokens from its token API, renewed before they expire) instead of a username and password, which expire after 12 h',
          ),
        ),
        username: z.string().check(z.minLength(1)),
        password: z.string().check(z.minLength(1)),
        realmOrigins: z._default(z.array(z.url()), []),
      }),
      // An Amazon ECR registry: credentials from ecr:GetAuthorizationToken with the function's role (functions/adapters/ecr-tokens.ts).
      z.strictObject({
        tenant: z.string().check(z.minLength(1)),
        origin: origin().check(z.refine((u) => !!ecrRegistryOf(u), '"ecr": true names an Amazon ECR origin, https://<account>.dkr.ecr.<region>.amazonaws.com')),
        ecr: z.literal(true),
      }),
    ]),
    {
      message:
        'registry credentials are a list of {tenant, origin, username, password} or, for Amazon ECR, {tenant, origin, "ecr": true}; credentials keyed by registry name are no longer accepted',
    },
  ),
);

/**
 * Registry credentials come from REGISTRY_CREDENTIALS_SECRET (a Secrets
 * Manager secret holding the JSON, read once per container) on AWS, or from
 * REGISTRY_CREDENTIALS (the JSON itself) locally.
 */
export async function loadRegistryCredentials(source?: env.Source): Promise<CredentialBinding[]> {
  const secret = env.REGISTRY_CREDENTIALS_SECRET(source);
  if (secret) {
    // Loaded on first use (a chunk of its own): a promotion without registries never needs the client.
    const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const r = await traced(new SecretsManagerClient({})).send(new GetSecretValueCommand({ SecretId: secret }));
    return credentialsSchema.parse(JSON.parse(r.SecretString ?? '[]'));
  }
  return credentialsSchema.parse(env.REGISTRY_CREDENTIALS(source));
}

/** The RegistrySync port with credentials loaded on first use. */
export class ConfiguredRegistrySync implements RegistrySync {
  private inner: Promise<OciRegistrySync> | undefined;

  private registry(): Promise<OciRegistrySync> {
    return (this.inner ??= loadRegistryCredentials().then((c) => new OciRegistrySync(c, c.some((b) => 'ecr' in b) ? { ecr: new EcrTokens() } : {})));
  }

  async sync(input: Parameters<RegistrySync['sync']>[0]): Promise<RegistrySyncResult[]> {
    return (await this.registry()).sync(input);
  }

  async attach(input: Parameters<RegistrySync['attach']>[0]) {
    return (await this.registry()).attach(input);
  }

  async verifySignature(input: Parameters<RegistrySync['verifySignature']>[0]) {
    return (await this.registry()).verifySignature(input);
  }
}
