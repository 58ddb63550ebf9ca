import { deleteIdentityProvider, getIdentityProvider } from '#domain/access/federation';
import { identityProvidersFromEnv } from '../adapters/cognito-identity-providers.ts';
import { compose } from '../http/deps.ts';
import { httpHandler, WithHeaders } from '../http/handler.ts';

/** DELETE takes the user pool's identity provider away (made on first use: a GET never constructs it). */
const wiring = compose({ identityProviders: identityProvidersFromEnv });

/** GET and DELETE /access/identity-provider: the tenant's identity provider connection (domain/access/federation.ts). Setting it is identity-provider-put. */
export const handler = httpHandler({ wiring }, async ({ deps, ctx, route }) => {
  if (route.method === 'DELETE') {
    await deleteIdentityProvider(deps, ctx);
    return new WithHeaders(null, {}, 204);
  }
  return getIdentityProvider(deps, ctx);
});
