import {
  CognitoIdentityProviderClient,
  ListIdentityProvidersCommand,
  UpdateUserPoolClientCommand,
  type UpdateUserPoolClientCommandInput,
} from '@aws-sdk/client-cognito-identity-provider';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { clientProviders } from '#domain/access/group-mapping';
import { logged, withLambdaContext } from '../adapters/observability.ts';

/**
 * The app client's settings written at deploy time (infra/identity.ts setConsoleUrl: a custom resource of
 * CloudFormation's, run after every update or replacement of the client). The client cannot name the console's
 * address in its own properties (the API's authorizer names the client: a cycle), so this writes the template's
 * settings (the resource's `Settings`, as JSON: CloudFormation would turn numbers and booleans into strings) with the
 * console's address (`ConsoleUrl`) added once to the callback and logout addresses. UpdateUserPoolClient sets every
 * setting, the identity providers too, and CloudFormation's own update of the client has just set them to the
 * template's (COGNITO alone): the list written is the template's plus every tenant's identity provider the user pool
 * holds (clientProviders, domain/access/group-mapping.ts, the rule the tenant's connection follows too), so a deploy
 * does not sign a tenant's people out of their company's sign-in. A provider the pool no longer holds is not named.
 * The answer goes to CloudFormation's pre-signed URL, FAILED with the reason on any error (the deploy fails and rolls
 * back, rather than waiting an hour for an answer). Deleting the resource leaves the client as it is.
 */

interface Properties {
  Settings?: string;
  ConsoleUrl?: string;
}

/** What UpdateUserPoolClient takes, the pool and the client named. */
type Settings = UpdateUserPoolClientCommandInput & { UserPoolId: string; ClientId: string };

const cognito = new CognitoIdentityProviderClient({});

/** Every identity provider's name in the user pool (ListIdentityProviders answers 60 at most a page). */
async function poolProviders(poolId: string): Promise<string[]> {
  const names: string[] = [];
  let next: string | undefined;
  do {
    const page = await cognito.send(new ListIdentityProvidersCommand({ UserPoolId: poolId, MaxResults: 60, ...(next ? { NextToken: next } : {}) }));
    for (const p of page.Providers ?? []) if (p.ProviderName) names.push(p.ProviderName);
    next = page.NextToken;
  } while (next);
  return names;
}

/** The template's settings, as the resource carries them: refused with the property named when they are not what the stack writes. */
function settingsOf(props: Properties): { settings: Settings; consoleUrl: string } {
  let settings: unknown;
  try {
    settings = JSON.parse(props.Settings ?? '');
  } catch {
    throw new Error("the resource's Settings property is not JSON (the app client's settings as the template holds them)");
  }
  const s = settings as Partial<UpdateUserPoolClientCommandInput> | null;
  if (!s || typeof s !== 'object' || typeof s.UserPoolId !== 'string' || typeof s.ClientId !== 'string')
    throw new Error("the resource's Settings property names no UserPoolId and ClientId");
  if (typeof props.ConsoleUrl !== 'string' || !/^https:\/\//.test(props.ConsoleUrl))
    throw new Error("the resource's ConsoleUrl property is not the console's https address");
  return { settings: s as Settings, consoleUrl: props.ConsoleUrl };
}

/** The client's settings to write: the template's, the console's address added once, the providers by the one rule. */
async function write(props: Properties): Promise<string[]> {
  const { settings, consoleUrl } = settingsOf(props);
  const withConsole = (urls: readonly string[] | undefined) => [consoleUrl, ...(urls ?? []).filter((u) => u !== consoleUrl)];
  const providers = clientProviders(settings.SupportedIdentityProviders ?? [], await poolProviders(settings.UserPoolId));
  await cognito.send(
    new UpdateUserPoolClientCommand({
      ...settings,
      CallbackURLs: withConsole(settings.CallbackURLs),
      LogoutURLs: withConsole(settings.LogoutURLs),
      SupportedIdentityProviders: providers,
    }),
  );
  return providers;
}

/** CloudFormation's answer, PUT to its pre-signed URL (signed without a content type, so none is sent). */
async function answer(event: CloudFormationCustomResourceEvent, physicalId: string, failure?: string): Promise<void> {
  const body = JSON.stringify({
    Status: failure === undefined ? 'SUCCESS' : 'FAILED',
    ...(failure === undefined ? {} : { Reason: failure.slice(0, 1000) }),
    PhysicalResourceId: physicalId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  const res = await fetch(event.ResponseURL, { method: 'PUT', headers: { 'content-type': '' }, body });
  if (!res.ok) throw new Error(`CloudFormation's response URL answered ${res.status}`);
}

export const handler = withLambdaContext(async (event: CloudFormationCustomResourceEvent): Promise<void> => {
  const props = event.ResourceProperties as Properties;
  let clientId = 'unknown';
  try {
    clientId = settingsOf(props).settings.ClientId;
  } catch {
    // said in the answer below
  }
  // The same id for every update of the same client: CloudFormation asks no delete of the one it had.
  const physicalId = event.RequestType === 'Create' ? `console-callback-${clientId}` : event.PhysicalResourceId;
  let failure: string | undefined;
  if (event.RequestType !== 'Delete') {
    try {
      await logged(
        'app client written',
        { request: event.RequestType, client: clientId },
        () => write(props),
        (providers) => ({ providers }),
      );
    } catch (err) {
      failure = `${(err as Error).name}: ${(err as Error).message}`;
    }
  }
  await answer(event, physicalId, failure);
});
