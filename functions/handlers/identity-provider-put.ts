import { identityProviderBody, putIdentityProvider } from '#domain/access/federation';
import type { SecretResolver } from '#domain/kernel/ports';
import { identityProvidersFromEnv } from '../adapters/cognito-identity-providers.ts';
import { secretsFromEnv } from '../adapters/secrets.ts';
import { compose } from '../http/deps.ts';
import { httpHandler } from '../http/handler.ts';

/** On AWS the connection is the user pool's identity provider (functions/adapters/cognito-identity-providers.ts); locally the stack composes its own. */
const wiring = compose({ identityProviders: identityProvidersFromEnv });

let resolver: SecretResolver | undefined;

/**
 * PUT /access/identity-provider: connects the tenant to its IdP (domain/access/federation.ts). The metadata (OIDC discovery,
 * SAML metadata) is read through the outbound rules at save; the client secret is a tenant secret named, read only for its existence.
 */
export const handler = httpHandler({ readOnly: ['providerName', 'updatedAt', 'updatedBy'], body: identityProviderBody, wiring }, async ({ deps, ctx, body }) =>
  putIdentityProvider({ ...deps, secrets: deps.secrets ?? (resolver ??= secretsFromEnv()) }, ctx, body),
);
