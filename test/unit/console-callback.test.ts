import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CognitoIdentityProviderClient,
  ListIdentityProvidersCommand,
  UpdateUserPoolClientCommand,
  type UpdateUserPoolClientCommandInput,
} from '@aws-sdk/client-cognito-identity-provider';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientProviders } from '../../domain/access/group-mapping.ts';
import { handler } from '../../functions/handlers/console-callback.ts';

/**
 * The deploy-time writer of the app client (infra/identity.ts setConsoleUrl: CloudFormation invokes it after every
 * change of the client): it writes the template's settings with the console's address added, and the client's
 * identity providers are the template's plus every tenant's provider the user pool holds. CloudFormation's own update
 * of the client has just reset the list to the template's, so a deploy must not sign tenants' people out of their
 * company's sign-in; a provider the pool no longer holds is not named (Cognito refuses an unknown one).
 */
const cognito = mockClient(CognitoIdentityProviderClient);

const CONSOLE = 'https://api.example/dashboard';
const CLI = 'http://localhost:53682/callback';
/** The client as the template holds it (CloudFormation's property names are the API's). */
const TEMPLATE = {
  UserPoolId: 'pool-1',
  ClientId: 'client-1',
  AllowedOAuthFlows: ['code'],
  AllowedOAuthFlowsUserPoolClient: true,
  AllowedOAuthScopes: ['openid', 'email', 'profile'],
  CallbackURLs: [CLI],
  LogoutURLs: [CLI],
  ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
  IdTokenValidity: 60,
  AccessTokenValidity: 60,
  RefreshTokenValidity: 43200,
  TokenValidityUnits: { IdToken: 'minutes', AccessToken: 'minutes', RefreshToken: 'minutes' },
  PreventUserExistenceErrors: 'ENABLED',
  SupportedIdentityProviders: ['COGNITO'],
};

/** Where CloudFormation waits for the answer (its pre-signed S3 URL), here on loopback. */
let server: Server;
let answers: { method: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      answers.push({ method: req.method!, headers: req.headers, body: JSON.parse(text) as Record<string, unknown> });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The user pool's identity providers (ListIdentityProviders, a page at a time) and the client's last write. */
function pool(names: string[], pageSize = 60) {
  cognito.reset();
  answers = [];
  let written: UpdateUserPoolClientCommandInput | undefined;
  cognito.on(ListIdentityProvidersCommand).callsFake((i: { NextToken?: string }) => {
    const start = Number(i.NextToken ?? 0);
    const page = names.slice(start, start + pageSize);
    return {
      Providers: page.map((ProviderName) => ({ ProviderName, ProviderType: ProviderName.endsWith('saml') ? 'SAML' : 'OIDC' })),
      ...(start + pageSize < names.length ? { NextToken: String(start + pageSize) } : {}),
    };
  });
  cognito.on(UpdateUserPoolClientCommand).callsFake((i: UpdateUserPoolClientCommandInput) => {
    written = i;
    return { UserPoolClient: i };
  });
  return { written: () => written };
}

function event(type: 'Create' | 'Update' | 'Delete', settings: Record<string, unknown> = TEMPLATE): CloudFormationCustomResourceEvent {
  const { port } = server.address() as AddressInfo;
  const base = {
    ServiceToken: 'arn:aws:lambda:eu-central-1:123456789012:function:console-callback',
    ResponseURL: `http://127.0.0.1:${port}/answer?signed=1`,
    StackId: 'arn:aws:cloudformation:eu-central-1:123456789012:stack/stageline/1',
    RequestId: 'request-1',
    LogicalResourceId: 'ConsoleCallback',
    ResourceType: 'Custom::ConsoleCallback',
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:eu-central-1:123456789012:function:console-callback',
      Settings: JSON.stringify(settings),
      ConsoleUrl: CONSOLE,
      ClientDigest: 'abc',
    },
  };
  if (type === 'Create') return { ...base, RequestType: 'Create' };
  if (type === 'Update')
    return { ...base, RequestType: 'Update', PhysicalResourceId: 'console-callback-client-1', OldResourceProperties: base.ResourceProperties };
  return { ...base, RequestType: 'Delete', PhysicalResourceId: 'console-callback-client-1' };
}

describe('functions/handlers/console-callback.ts (the app client written at deploy time)', () => {
  beforeEach(() => cognito.reset());

  it("keeps every tenant's identity provider the pool holds on the client, COGNITO too, after CloudFormation reset the list to the template's", async () => {
    const state = pool(['t-acme-oidc', 't-globex-saml']);
    for (const type of ['Create', 'Update'] as const) {
      await handler(event(type));
      expect(state.written()!.SupportedIdentityProviders, type).toEqual(['COGNITO', 't-acme-oidc', 't-globex-saml']);
      expect(answers.at(-1)!.body, type).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'console-callback-client-1', RequestId: 'request-1' });
    }
  });

  it('drops a provider the pool no longer holds (Cognito refuses a client naming one), and names no provider of the pool that is no tenant’s', async () => {
    const state = pool(['t-acme-oidc', 'Google', 'corp-saml']);
    await handler(event('Update', { ...TEMPLATE, SupportedIdentityProviders: ['COGNITO', 't-gone-oidc'] }));
    expect(state.written()!.SupportedIdentityProviders).toEqual(['COGNITO', 't-acme-oidc']);
  });

  it("reads every page of the pool's providers", async () => {
    const tenants = Array.from({ length: 7 }, (_, i) => `t-tenant${i}-oidc`);
    const state = pool(tenants, 3);
    await handler(event('Update'));
    expect(state.written()!.SupportedIdentityProviders).toEqual(['COGNITO', ...tenants]);
    expect(cognito.commandCalls(ListIdentityProvidersCommand).map((c) => c.args[0].input)).toEqual([
      { UserPoolId: 'pool-1', MaxResults: 60 },
      { UserPoolId: 'pool-1', MaxResults: 60, NextToken: '3' },
      { UserPoolId: 'pool-1', MaxResults: 60, NextToken: '6' },
    ]);
  });

  it("writes the template's settings, as their types, with the console's address added once to the callback and logout addresses", async () => {
    const state = pool([]);
    await handler(event('Update', { ...TEMPLATE, CallbackURLs: [CONSOLE, CLI] }));
    expect(state.written()).toEqual({
      ...TEMPLATE,
      CallbackURLs: [CONSOLE, CLI],
      LogoutURLs: [CONSOLE, CLI],
      SupportedIdentityProviders: ['COGNITO'],
    });
    expect(answers).toHaveLength(1);
    // The pre-signed URL is signed without a content type: none is sent.
    expect(answers[0]!).toMatchObject({ method: 'PUT', headers: { 'content-type': '' } });
  });

  it('answers FAILED with the reason when the client cannot be written (CloudFormation fails and rolls back the deploy, it does not wait an hour)', async () => {
    pool(['t-acme-oidc']);
    cognito.on(UpdateUserPoolClientCommand).rejects(Object.assign(new Error('Provider t-acme-oidc does not exist'), { name: 'InvalidParameterException' }));
    await handler(event('Update'));
    expect(answers).toHaveLength(1);
    expect(answers[0]!.body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'console-callback-client-1' });
    expect(String(answers[0]!.body.Reason)).toMatch(/InvalidParameterException: Provider t-acme-oidc does not exist/);
  });

  it('answers FAILED, naming the property, for settings that are not the JSON it writes', async () => {
    pool([]);
    const bad = event('Create');
    bad.ResourceProperties.Settings = '{not json';
    await handler(bad);
    expect(answers[0]!.body).toMatchObject({ Status: 'FAILED' });
    expect(String(answers[0]!.body.Reason)).toMatch(/Settings/);
    expect(cognito.commandCalls(UpdateUserPoolClientCommand)).toHaveLength(0);
  });

  it("leaves the client as it is when the resource is deleted (the client is the stack's: its settings go with it)", async () => {
    pool(['t-acme-oidc']);
    await handler(event('Delete'));
    expect(cognito.calls()).toHaveLength(0);
    expect(answers[0]!.body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'console-callback-client-1' });
  });
});

describe('clientProviders (domain/access/group-mapping.ts): the one rule for the app client’s list of providers', () => {
  it("keeps the deployment's own providers in their order, then each tenant provider once, sorted", () => {
    expect(clientProviders(['COGNITO', 't-old-oidc'], ['t-b-saml', 't-a-oidc', 't-b-saml', 'Google'])).toEqual(['COGNITO', 't-a-oidc', 't-b-saml']);
    expect(clientProviders(['COGNITO'], [])).toEqual(['COGNITO']);
    expect(clientProviders(['COGNITO', 'COGNITO'], ['t-a-oidc'])).toEqual(['COGNITO', 't-a-oidc']);
  });
});
