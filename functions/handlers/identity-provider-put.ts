import { identityProviderBody, putIdentityProvider } from '#domain/access/federation';
import type { SecretResolver } from '#domain/kernel/ports';
import { localIdentityProviders } from '../adapters/federation.ts';
import { secretsFromEnv } from '../adapters/secrets.ts';
import { httpHandler } from '../http/handler.ts';

let resolver: SecretResolver | undefined;

/**
 * PUT /access/identity-provider: connects the tenant to its IdP (domain/access/federation.ts). The metadata (OIDC discovery,
 * SAML metadata) is read through the outbound rules at save; the client secret is a tenant secret named, read only for its existence.
 */
export const handler = httpHandler({ readOnly: ['providerName', 'updatedAt', 'updatedBy'], body: identityProviderBody }, async ({ deps, ctx, body }) =>
  putIdentityProvider(
    { ...deps, secrets: deps.secrets ?? (resolver ??= secretsFromEnv()), identityProviders: deps.identityProviders ?? localIdentityProviders },
    ctx,
    body,
  ),
);
