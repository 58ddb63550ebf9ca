import { deleteIdentityProvider, getIdentityProvider } from '#domain/access/federation';
import { localIdentityProviders } from '../adapters/federation.ts';
import { httpHandler, WithHeaders } from '../http/handler.ts';

/** GET and DELETE /access/identity-provider: the tenant's identity provider connection (domain/access/federation.ts). Setting it is identity-provider-put. */
export const handler = httpHandler({}, async ({ deps, ctx, route }) => {
  if (route.method === 'DELETE') {
    await deleteIdentityProvider({ ...deps, identityProviders: deps.identityProviders ?? localIdentityProviders }, ctx);
    return new WithHeaders(null, {}, 204);
  }
  return getIdentityProvider(deps, ctx);
});
