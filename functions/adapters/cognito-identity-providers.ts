import {
  CognitoIdentityProviderClient,
  CreateIdentityProviderCommand,
  DeleteIdentityProviderCommand,
  DescribeIdentityProviderCommand,
  DescribeUserPoolClientCommand,
  ResourceNotFoundException,
  UpdateIdentityProviderCommand,
  UpdateUserPoolClientCommand,
  type UpdateUserPoolClientCommandInput,
} from '@aws-sdk/client-cognito-identity-provider';
import { IDP_GROUPS_CLAIM, type IdentityProviderConnection, type IdentityProviders } from '#domain/access/federation';
import { clientProviders } from '#domain/access/group-mapping';
import { RuleViolation, ValidationFailed } from '#domain/kernel/errors';
import * as env from '../configuration.ts';
import { checkProvider } from './federation.ts';
import { traced } from './tracing.ts';
import { appClientLockFromEnv, type AppClientLock } from './app-client-lock.ts';

/** Cognito's bounds: a provider name of at most 32 characters, an IdP identifier of at most 40 ([\w\s+=.@-]). */
/** Cognito's quota of identity providers in one user pool. */
export const USER_POOL_PROVIDERS_QUOTA = 300;
/** How many times a save writes the app client's list before it gives up (each write is read back). */
const MAX_CLIENT_WRITES = 3;
const PROVIDER_NAME_MAX = 32;
const IDENTIFIER = /^[\w\s+=.@-]{1,40}$/;

/** The app client's settings UpdateUserPoolClient takes, from what DescribeUserPoolClient answered (it resets any it is not sent). */
const CLIENT_SETTINGS = [
  'UserPoolId',
  'ClientId',
  'ClientName',
  'RefreshTokenValidity',
  'AccessTokenValidity',
  'IdTokenValidity',
  'TokenValidityUnits',
  'ReadAttributes',
  'WriteAttributes',
  'ExplicitAuthFlows',
  'SupportedIdentityProviders',
  'CallbackURLs',
  'LogoutURLs',
  'DefaultRedirectURI',
  'AllowedOAuthFlows',
  'AllowedOAuthScopes',
  'AllowedOAuthFlowsUserPoolClient',
  'AnalyticsConfiguration',
  'PreventUserExistenceErrors',
  'EnableTokenRevocation',
  'EnablePropagateAdditionalUserContextData',
  'AuthSessionValidity',
  'RefreshTokenRotation',
] as const;

/**
 * The tenant's connection on AWS: the user pool's identity provider named for the tenant (t-<tenant>-oidc /
 * t-<tenant>-saml), created or updated with the IdP's settings (OIDC: the client secret resolved from the tenant
 * secret at that moment; SAML: the metadata URL or document), the email and the groups claim mapped (email →
 * email, the groups claim → custom:idp_groups), and the tenant's email domains as its identifiers (Cognito's
 * managed login routes an address of those domains to it); the app client's list of providers keeps it, every
 * other setting of the client written back as it was. A step that fails undoes what this call created.
 */
export class CognitoIdentityProviders implements IdentityProviders {
  constructor(
    private readonly client: CognitoIdentityProviderClient,
    private readonly poolId: string,
    private readonly clientId: string,
    readonly check: IdentityProviders['check'] = checkProvider,
    /** one save at a time writes the app client (identityProvidersFromEnv gives the table's lease; a test may give none) */
    private readonly lock: AppClientLock = { holding: (fn) => fn() },
  ) {}

  private async describe(name: string) {
    try {
      return (await this.client.send(new DescribeIdentityProviderCommand({ UserPoolId: this.poolId, ProviderName: name }))).IdentityProvider ?? null;
    } catch (err) {
      if (err instanceof ResourceNotFoundException || (err as Error).name === 'ResourceNotFoundException') return null;
      throw err;
    }
  }

  /**
   * Adds or takes away a provider in the app client's list, writing back every other setting as Describe answered it:
   * holding the app client's lease (app-client-lock.ts), so no other save reads the list between this read and this
   * write, then reading it back until it says what this save wrote (the deploy-time writer takes no lease).
   */
  private async listed(name: string, present: boolean) {
    await this.lock.holding(async () => {
      for (let write = 0; write <= MAX_CLIENT_WRITES; write++) {
        const current = (await this.client.send(new DescribeUserPoolClientCommand({ UserPoolId: this.poolId, ClientId: this.clientId }))).UserPoolClient;
        if (!current) throw new Error(`the app client ${this.clientId} was not found in the user pool`);
        const list = current.SupportedIdentityProviders ?? [];
        if (list.includes(name) === present) return;
        if (write === MAX_CLIENT_WRITES) break;
        const input: Record<string, unknown> = {};
        for (const k of CLIENT_SETTINGS) if (current[k] !== undefined) input[k] = current[k];
        // The one rule of the client's list (as the deploy-time writer, functions/handlers/console-callback.ts): the deployment's own providers, then the tenants' once each.
        input.SupportedIdentityProviders = clientProviders(list, present ? [...list, name] : list.filter((p) => p !== name));
        await this.client.send(new UpdateUserPoolClientCommand(input as unknown as UpdateUserPoolClientCommandInput));
      }
      throw new Error(`the app client's list of providers did not keep ${name} after ${MAX_CLIENT_WRITES} writes: another writer changes it`);
    });
  }

  async sync(conn: IdentityProviderConnection, clientSecret: string | null): Promise<void> {
    if (conn.providerName.length > PROVIDER_NAME_MAX)
      throw new RuleViolation(
        `The identity provider's name ${conn.providerName} is longer than the user pool takes (${PROVIDER_NAME_MAX} characters): a tenant id of at most ${PROVIDER_NAME_MAX - 7} characters connects an identity provider`,
      );
    const bad = conn.emailDomains.map((d, i) => ({ d, i })).filter(({ d }) => !IDENTIFIER.test(d));
    if (bad.length)
      throw new ValidationFailed(
        bad.map(({ d, i }) => ({ path: `body.emailDomains.${i}`, message: `'${d}' is longer than the 40 characters a user pool routes by` })),
      );
    let details: Record<string, string>;
    if (conn.kind === 'oidc') {
      if (!conn.oidc || !clientSecret) throw new Error('an OIDC connection is synced with its client secret');
      details = {
        client_id: conn.oidc.clientId,
        client_secret: clientSecret,
        attributes_request_method: 'GET',
        oidc_issuer: conn.oidc.issuer,
        authorize_scopes: 'openid email profile',
      };
    } else {
      if (!conn.saml) throw new Error('a SAML connection is synced with its metadata');
      details = conn.saml.metadataUrl
        ? { MetadataURL: conn.saml.metadataUrl, IDPSignout: 'false' }
        : { MetadataFile: conn.saml.metadataXml, IDPSignout: 'false' };
    }
    const settings = {
      UserPoolId: this.poolId,
      ProviderName: conn.providerName,
      ProviderDetails: details,
      // Groups from SCIM: the claim is not mapped, so a person in many groups is not held to the attribute's 2,048 characters.
      AttributeMapping: { email: 'email', ...(conn.groupsFrom === 'scim' ? {} : { [IDP_GROUPS_CLAIM]: conn.groupsClaim }) },
      IdpIdentifiers: [...conn.emailDomains],
    };
    const existing = await this.describe(conn.providerName);
    if (existing) await this.client.send(new UpdateIdentityProviderCommand(settings));
    else {
      try {
        await this.client.send(new CreateIdentityProviderCommand({ ...settings, ProviderType: conn.kind === 'oidc' ? 'OIDC' : 'SAML' }));
      } catch (err) {
        if ((err as Error).name === 'LimitExceededException')
          throw new RuleViolation(
            `The user pool holds as many identity providers as Cognito allows (${USER_POOL_PROVIDERS_QUOTA} per user pool, one per connected tenant): no other tenant can connect one until the quota is raised or a connection is removed`,
          );
        throw err;
      }
    }
    try {
      await this.listed(conn.providerName, true);
    } catch (err) {
      // The connection is not saved when this fails: a provider this call created goes again.
      if (!existing) {
        try {
          await this.client.send(new DeleteIdentityProviderCommand({ UserPoolId: this.poolId, ProviderName: conn.providerName }));
        } catch {
          // the refusal to report is the first one
        }
      }
      throw err;
    }
  }

  async remove(conn: IdentityProviderConnection): Promise<void> {
    // Off the app client first (a provider a client names cannot be deleted), then the provider itself.
    await this.listed(conn.providerName, false);
    try {
      await this.client.send(new DeleteIdentityProviderCommand({ UserPoolId: this.poolId, ProviderName: conn.providerName }));
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException || (err as Error).name === 'ResourceNotFoundException')) throw err;
    }
  }
}

export function identityProvidersFromEnv(): IdentityProviders {
  const pool = env.USER_POOL_ID();
  const client = env.JWT_AUDIENCE();
  if (!pool || !client) throw new Error('USER_POOL_ID and JWT_AUDIENCE (the app client) must be set');
  return new CognitoIdentityProviders(traced(new CognitoIdentityProviderClient({})), pool, client, checkProvider, appClientLockFromEnv());
}
