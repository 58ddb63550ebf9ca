import { deleteIdentityProvider, getIdentityProvider, identityProviderBody, putIdentityProvider } from '#domain/access/federation';
import type { SecretResolver } from '#domain/kernel/ports';
import { localIdentityProviders } from '../adapters/federation.ts';
import { secretsFromEnv } from '../adapters/secrets.ts';
import { httpHandler } from '../http/handler.ts';

let resolver: SecretResolver | undefined;

/**
 * GET, PUT and DELETE /access/identity-provider: the tenant's identity provider connection (domain/access/federation.ts).
 * The metadata (OIDC discovery, SAML metadata) is read through the outbound rules at save; the client secret is a tenant
 * secret named, read only for its existence.
 */
export const handler = httpHandler(
  { readOnly: ['providerName', 'updatedAt', 'updatedBy'], body: identityProviderBody },
  async ({ deps, ctx, body, route }) => {
    const full = { ...deps, secrets: deps.secrets ?? (resolver ??= secretsFromEnv()), identityProviders: deps.identityProviders ?? localIdentityProviders };
    if (route.method === 'GET') return getIdentityProvider(full, ctx);
    if (route.method === 'DELETE') return deleteIdentityProvider(full, ctx);
    return putIdentityProvider(full, ctx, body!);
  },
);
