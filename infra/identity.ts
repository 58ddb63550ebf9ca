import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { HandlerFunction, logGroup, RUNTIME } from './function.ts';
import { CustomResource, Duration, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { createHash } from 'node:crypto';
import { PLATFORM_GROUP, ROLES } from '../domain/access/auth.ts';
import { loginDomainStart } from './names.ts';
import { StackPart } from './part.ts';
import { CLI_REDIRECT_URI } from '../functions/adapters/login.ts';

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The deploy-time writer of the app client (functions/handlers/console-callback.ts) and the calls its role may make on the user pool. */
export const CONSOLE_CALLBACK = 'console-callback';
export const CONSOLE_CALLBACK_ACTIONS = ['cognito-idp:ListIdentityProviders', 'cognito-idp:UpdateUserPoolClient'] as const;

/** cdk-nag findings on the console-callback function (one call at deploy time, made by CloudFormation), and why each is fine there. */
const CONSOLE_CALLBACK_FINDINGS = [
  {
    id: 'AwsSolutions-L1',
    reason:
      'Node.js 22 is pinned deliberately (LTS, supported by Lambda) and must match the esbuild target (ESBUILD_TARGET in infra/bundle.ts), as for every function.',
  },
  {
    id: 'Serverless-LambdaLatestVersion',
    reason:
      'Node.js 22 is pinned deliberately (LTS, supported by Lambda) and must match the esbuild target (ESBUILD_TARGET in infra/bundle.ts), as for every function.',
  },
  {
    id: 'NIST.800.53.R5-LambdaInsideVPC',
    reason: "Calls the user pool's API (cognito-idp) and CloudFormation's response URL at deploy time: no private resource to reach.",
  },
  { id: 'NIST.800.53.R5-LambdaConcurrency', reason: 'Invoked by CloudFormation once per deploy that changes the app client: nothing to reserve.' },
  {
    id: 'NIST.800.53.R5-LambdaDLQ',
    reason: 'Invoked by CloudFormation, which waits for its answer and fails (and rolls back) the deploy on a FAILED one: nothing is lost unseen.',
  },
  {
    id: 'Serverless-LambdaDLQ',
    reason: 'Invoked by CloudFormation, which waits for its answer and fails (and rolls back) the deploy on a FAILED one: nothing is lost unseen.',
  },
  { id: 'Serverless-LambdaTracing', reason: 'One deploy-time call; CloudFormation shows its outcome and its log group holds its line.' },
  { id: 'Serverless-LambdaAsyncFailureDestination', reason: 'CloudFormation waits for its answer and fails the deploy on an error.' },
];

/** Identity: users, their tenant (custom:tenant_id) and roles (groups), and the one public client. */
export class Identity extends StackPart {
  readonly userPool: cognito.UserPool;
  readonly userPoolClient: cognito.UserPoolClient;
  readonly domain: cognito.UserPoolDomain;

  constructor(stack: Stack, id: string) {
    super(stack, id);
    this.userPool = new cognito.UserPool(stack, 'Users', {
      // Admins create users: with self sign-up a user would choose their own
      // custom:tenant_id at sign-up, i.e. pick which tenant they belong to.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      // Alice@x and alice@x are one person: separation of duties compares normalised identities.
      signInCaseSensitive: false,
      autoVerify: { email: true },
      // A person may change their own email (the client writes it: federation's mapping needs that), but it stays the
      // verified one until they prove the new address: role bindings and approvals name people by email.
      keepOriginal: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      customAttributes: {
        // Immutable: moving a user to another tenant means a new user, so a
        // token can never carry a tenant its subject was not created in.
        tenant_id: new cognito.StringAttribute({ minLen: 1, maxLen: 64, mutable: false }),
        // The groups a tenant's identity provider sent at the last federated sign-in (a JSON array string), for the
        // tenant's mapping to turn into roles: written by the identity provider's attribute mapping at each sign-in.
        idp_groups: new cognito.StringAttribute({ minLen: 0, maxLen: 2048, mutable: true }),
      },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.userPool).acknowledge(
      {
        id: 'AwsSolutions-COG2',
        reason:
          'MFA is optional: TOTP (no SMS) is available to every user, but not forced, to keep onboarding of admin-created users and automated test users simple. Set Mfa.REQUIRED for production pools if policy demands.',
      },
      {
        id: 'AwsSolutions-COG8',
        reason:
          'The Plus tier (threat protection) is billed per monthly active user; Essentials is the cost baseline for this service. Revisit for production tenants.',
      },
    );

    // Groups are the roles the handlers check (cognito:groups claim).
    // Precedence only matters for IAM role mapping; lower = more privileged.
    ROLES.forEach((role, i) => {
      new cognito.CfnUserPoolGroup(stack, `Group${upperFirst(role)}`, {
        userPoolId: this.userPool.userPoolId,
        groupName: role,
        description: `Stageline ${role}`,
        precedence: ROLES.length - i,
      });
    });
    // Platform operators create tenants and their first admins (POST /api/v1/tenants, domain/access).
    new cognito.CfnUserPoolGroup(stack, 'GroupPlatformAdmin', {
      userPoolId: this.userPool.userPoolId,
      groupName: PLATFORM_GROUP,
      description: 'Stageline platform operators: create tenants and invite their first admins',
      precedence: ROLES.length + 1,
    });

    // The login pages (Cognito's hosted login on the pool's own domain), named after the stack and account:
    // a second Stageline stack in the account gets its own (at most 63 characters: loginDomainStart).
    this.domain = this.userPool.addDomain('Login', { cognitoDomain: { domainPrefix: `${loginDomainStart(stack.stackName)}-${stack.account}` } });

    this.userPoolClient = this.userPool.addClient('Client', {
      // Public client (console, CLI): no secret; SRP keeps the password off the wire, and the user pool
      // domain's login page serves the authorization code flow (PKCE required for a public client).
      generateSecret: false,
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        // The console's address is the API's, known once the API exists: the stack sets it (setConsoleUrl).
        callbackUrls: [CLI_REDIRECT_URI],
        logoutUrls: [CLI_REDIRECT_URI],
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      readAttributes: new cognito.ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true })
        .withCustomAttributes('tenant_id', 'idp_groups'),
      // Never custom:tenant_id: a user must not be able to rewrite their tenant. custom:idp_groups is written by the
      // tenant identity providers' attribute mapping, which Cognito allows only for attributes the client may write:
      // it is trusted only for a federated identity (the token's `identities` names the tenant's provider).
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }).withCustomAttributes('idp_groups'),
    });
  }

  /**
   * The console (the API's /dashboard) is a callback and logout address of the app client. The API's JWT
   * authorizer names the client (its audience, in the API's OpenAPI body: infra/api-definition.ts), so the
   * client cannot name the API's address in its own properties (a dependency cycle): once both exist, a custom
   * resource writes the client's settings again with the console's address added (UpdateUserPoolClient sets
   * every setting, so it is sent every one of them, as CloudFormation holds them). Its function is ours
   * (functions/handlers/console-callback.ts, bundled as every function), invoked by CloudFormation itself: the
   * client's identity providers it writes are the template's plus every tenant's the user pool holds, since
   * CloudFormation's own update of the client has just set them to the template's (COGNITO alone) and a deploy
   * must not sign tenants' people out of their company's sign-in. That update writes back the template's addresses
   * and providers alone, so the call must run again after every update or replacement of the client: its
   * properties carry the client's settings and id, and a digest of the client as the template holds it (every
   * property, those the call does not send included, and its logical id), so any change of the client changes them
   * and runs it again, after the client's own update (it depends on the client). Between the two, the client names
   * COGNITO alone (docs/operations/identity-providers.md).
   */
  setConsoleUrl(stack: Stack, url: string): void {
    const cfn = this.userPoolClient.node.defaultChild as cognito.CfnUserPoolClient;
    /** The client as the template holds it: its logical id and its resource (CloudFormation's property names are the API's). */
    const rendered = () => {
      const template = Stack.of(cfn).resolve((cfn as unknown as { _toCloudFormation(): unknown })._toCloudFormation()) as {
        Resources: Record<string, { Properties: Record<string, unknown> }>;
      };
      const [logicalId, resource] = Object.entries(template.Resources)[0]!;
      return { logicalId, resource };
    };
    // The template's settings as JSON (CloudFormation hands a custom resource's numbers and booleans over as strings).
    const settings = Lazy.string({
      produce: () => {
        const { GenerateSecret: _secret, UserPoolId: userPoolId, ...rest } = rendered().resource.Properties;
        return stack.toJsonString({ ...rest, UserPoolId: userPoolId, ClientId: this.userPoolClient.userPoolClientId });
      },
    });
    // Its function's role: listing the pool's identity providers and writing the client, and writing to its own log group.
    const logs = logGroup(
      stack,
      'ConsoleCallbackLogs',
      RetentionDays.ONE_MONTH,
      "the console-callback function's lines (one per deploy that changes the app client: the providers it wrote)",
    );
    const role = new iam.Role(stack, 'ConsoleCallbackRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description:
        "Writes the app client's settings with the console's address added and the tenants' identity providers kept (ListIdentityProviders, UpdateUserPoolClient)",
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...CONSOLE_CALLBACK_ACTIONS],
        resources: [this.userPool.userPoolArn],
      }),
    );
    logs.grantWrite(role);
    const bundle = HandlerFunction.bundle(stack, CONSOLE_CALLBACK, false);
    const fn = new lambda.Function(stack, 'ConsoleCallbackFunction', {
      description: `Writes the app client at deploy time (${CONSOLE_CALLBACK}): the console's address added, the tenants' identity providers kept`,
      code: lambda.Code.fromAsset(bundle.dir),
      handler: 'index.handler',
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(1),
      role,
      logGroup: logs,
    });
    Validations.of(fn).acknowledge(...CONSOLE_CALLBACK_FINDINGS);
    const update = new CustomResource(stack, 'ConsoleClient', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::ConsoleCallback',
      properties: {
        Settings: settings,
        ConsoleUrl: url,
        // Any change of the client (an update in place, a replacement, a new logical id) changes this property: CloudFormation runs the call again.
        ClientDigest: Lazy.string({ produce: () => createHash('sha256').update(JSON.stringify(rendered())).digest('hex') }),
      },
    });
    update.node.addDependency(this.userPoolClient);
    // Its role's policy exists before CloudFormation invokes the function.
    update.node.addDependency(role);
  }
}
