import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Duration, RemovalPolicy, Validations, type Stack } from 'aws-cdk-lib';
import { PLATFORM_GROUP, ROLES } from '../domain/access/auth.ts';
import { StackPart } from './part.ts';
import { CLI_REDIRECT_URI } from '../functions/adapters/login.ts';

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

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
      standardAttributes: { email: { required: true, mutable: true } },
      customAttributes: {
        // Immutable: moving a user to another tenant means a new user, so a
        // token can never carry a tenant its subject was not created in.
        tenant_id: new cognito.StringAttribute({ minLen: 1, maxLen: 64, mutable: false }),
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
    // a second Stageline stack in the account gets its own.
    this.domain = this.userPool.addDomain('Login', { cognitoDomain: { domainPrefix: `${stack.stackName.toLowerCase()}-${stack.account}` } });

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
      readAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true, emailVerified: true }).withCustomAttributes('tenant_id'),
      // Never custom:tenant_id: a user must not be able to rewrite their tenant.
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }),
    });
  }

  /** The console (the API's /dashboard) is a callback and logout address of the app client. */
  setConsoleUrl(url: string): void {
    const cfn = this.userPoolClient.node.defaultChild as cognito.CfnUserPoolClient;
    cfn.callbackUrLs = [url, CLI_REDIRECT_URI];
    cfn.logoutUrLs = [url, CLI_REDIRECT_URI];
  }
}
