import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { federatedToken, IDP_GROUPS_CLAIM, parseIdpGroups, providerOf, tenantOfProvider } from '#domain/access/group-mapping';
import { readGroupMapping } from '../adapters/group-mapping-reader.ts';
import { logged, withLambdaContext } from '../adapters/observability.ts';

/**
 * The user pool's pre-token-generation trigger (V2_0 event): for a user who signed in through a tenant's
 * identity provider, the ID and access tokens carry the tenant named by the provider (never a tenant the
 * IdP claims) and `cognito:groups` made by the tenant's group mapping of their IdP groups (claimsFor,
 * domain/access/group-mapping.ts; nothing unmapped), and the raw IdP groups leave the ID token.
 * A user of the pool itself (no identities) keeps the token Cognito made. A throw fails the sign-in.
 */
export const handler = withLambdaContext(async (event: PreTokenGenerationV2TriggerEvent) => {
  const attributes = event.request.userAttributes;
  const provider = providerOf(attributes.identities);
  if (provider === null) return event;
  const idpGroups = parseIdpGroups(attributes[IDP_GROUPS_CLAIM]);
  const token = await logged(
    'pre token generation',
    { provider, trigger: event.triggerSource, idpGroups: idpGroups.length },
    async () => {
      const tenant = tenantOfProvider(provider);
      const mapping = tenant === null ? null : await readGroupMapping(tenant);
      return federatedToken(provider, mapping, idpGroups);
    },
    (t) => ({ tenant: t.tenant, groups: t.groups.length }),
  );
  const claims = { 'custom:tenant_id': token.tenant };
  event.response.claimsAndScopeOverrideDetails = {
    idTokenGeneration: { claimsToAddOrOverride: claims, claimsToSuppress: [IDP_GROUPS_CLAIM] },
    accessTokenGeneration: { claimsToAddOrOverride: claims },
    groupOverrideDetails: { groupsToOverride: token.groups },
  };
  return event;
});
