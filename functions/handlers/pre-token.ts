import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { federatedToken, IDP_GROUPS_CLAIM, parseIdpGroups, providerOf, tenantOfProvider } from '#domain/access/group-mapping';
import { readSignInRecord } from '../adapters/group-mapping-reader.ts';
import { logged, withLambdaContext } from '../adapters/observability.ts';

/**
 * The user pool's pre-token-generation trigger (V2_0 event): for a user who signed in through a tenant's
 * identity provider, the ID and access tokens carry the tenant named by the provider (never a tenant the
 * IdP claims) and `cognito:groups` made by the tenant's group mapping of their IdP groups (claimsFor,
 * domain/access/group-mapping.ts; nothing unmapped; no mapping saved: none). The sign-in is refused when
 * the tenant's identity provider connection is gone or names another provider.
 * A user of the pool itself (no identities) keeps their tenant and groups, and no token carries the raw
 * `custom:idp_groups` (the app client can write that attribute: only what the mapping made of it counts).
 * A throw fails the sign-in.
 */
export const handler = withLambdaContext(async (event: PreTokenGenerationV2TriggerEvent) => {
  const attributes = event.request.userAttributes;
  const provider = providerOf(attributes.identities);
  const suppress = [IDP_GROUPS_CLAIM];
  if (provider === null) {
    event.response.claimsAndScopeOverrideDetails = {
      idTokenGeneration: { claimsToSuppress: suppress },
      accessTokenGeneration: { claimsToSuppress: suppress },
    };
    return event;
  }
  const idpGroups = parseIdpGroups(attributes[IDP_GROUPS_CLAIM]);
  const token = await logged(
    'pre token generation',
    { provider, trigger: event.triggerSource, idpGroups: idpGroups.length },
    async () => {
      const tenant = tenantOfProvider(provider);
      const record = tenant === null ? { connection: null, mapping: null } : await readSignInRecord(tenant);
      return federatedToken(provider, record.connection, record.mapping, idpGroups);
    },
    (t) => ({ tenant: t.tenant, groups: t.groups.length }),
  );
  const claims = { 'custom:tenant_id': token.tenant };
  event.response.claimsAndScopeOverrideDetails = {
    idTokenGeneration: { claimsToAddOrOverride: claims, claimsToSuppress: suppress },
    accessTokenGeneration: { claimsToAddOrOverride: claims, claimsToSuppress: suppress },
    groupOverrideDetails: { groupsToOverride: token.groups },
  };
  return event;
});
