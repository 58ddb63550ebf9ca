import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { IDP_GROUPS_CLAIM, parseIdpGroups, providerOf, tenantOfProvider } from '#domain/access/group-mapping';
import { CHECKED_BY_USER_POOL, decideSignIn } from '#domain/access/sign-in';
import { readSignInRecord } from '../adapters/group-mapping-reader.ts';
import { logged, withLambdaContext } from '../adapters/observability.ts';

/**
 * The user pool's pre-token-generation trigger (V2_0 event): for a user who signed in through a tenant's
 * identity provider, decideSignIn (domain/access/sign-in.ts, the decision the local issuer takes too) says
 * whether the sign-in stands and what the ID and access tokens carry: the tenant named by the provider (never
 * a tenant the IdP claims) and `cognito:groups` made by the tenant's group mapping. It refuses a provider whose
 * connection is gone or names another, an email outside the connection's domains, and a person the tenant's
 * SCIM client deactivated. The user pool checked the IdP's answer before (signature, audience, and for SAML
 * the Response's issuer against the provider's metadata).
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
  const claimGroups = parseIdpGroups(attributes[IDP_GROUPS_CLAIM]);
  const token = await logged(
    'pre token generation',
    { provider, trigger: event.triggerSource, idpGroups: claimGroups.length },
    async () => {
      const tenant = tenantOfProvider(provider);
      const record = tenant === null ? { connection: null, mapping: null, person: null } : await readSignInRecord(tenant, attributes.email);
      return decideSignIn({ provider, email: attributes.email, samlIssuer: CHECKED_BY_USER_POOL, claimGroups }, record);
    },
    (t) => ({ tenant: t.tenant, idpGroups: t.idpGroups.length, groups: t.groups.length }),
  );
  const claims = { 'custom:tenant_id': token.tenant };
  event.response.claimsAndScopeOverrideDetails = {
    idTokenGeneration: { claimsToAddOrOverride: claims, claimsToSuppress: suppress },
    accessTokenGeneration: { claimsToAddOrOverride: claims, claimsToSuppress: suppress },
    groupOverrideDetails: { groupsToOverride: token.groups },
  };
  return event;
});
