/**
 * Part of THE adapter table (infra/adapters.ts): the adapters that read or write secrets — the sealing key, tenants'
 * secrets (always through a session of the tenant secrets role, fenced by the session's tenant tag), registry
 * credentials and Amazon ECR's tokens.
 */

import type { AdapterDecl, Grant, Need, Resource } from './adapter-types.ts';
import { TENANT_SECRET_TAG } from '../functions/adapters/secrets-session.ts';

const adapter = (name: string) => `functions/adapters/${name}.ts`;
const on = (resource: Resource, ...actions: string[]): Grant => ({ actions, on: resource });

const ECR_PULL = ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
const ECR_PUSH = ['ecr:CompleteLayerUpload', 'ecr:InitiateLayerUpload', 'ecr:PutImage', 'ecr:UploadLayerPart'];
const ecrToken = (...actions: string[]): Need => ({
  commands: { GetAuthorizationToken: [on('ecrAuthorization', 'ecr:GetAuthorizationToken'), on('ecrRepositories', ...actions)] },
});
export const getSecret = (resource: Resource): Need['commands'] => ({ GetSecretValue: [on(resource, 'secretsmanager:GetSecretValue')] });

/**
 * Resources whose actions are sent with a session of the tenant secrets role (functions/adapters/secrets-session.ts):
 * granted to that role, on the session's tenant's secrets alone, never to a function's own role (infra/needs.ts).
 */
export const TENANT_SECRET_SESSION: ReadonlySet<Resource> = new Set<Resource>(['tenantSecrets', 'webhookSecrets']);

export const SECRET_ADAPTERS: AdapterDecl[] = [
  {
    module: adapter('secret-box'),
    always: { env: { SECRETS_KEY_SECRET_ARN: 'secretsKey' }, commands: getSecret('secretsKey') },
    notDeployed: { STAGELINE_SECRETS_KEY: 'local mode: the key itself in the environment' },
  },
  {
    module: adapter('secrets'),
    // SECRETS_PREFIX: the stack's prefix of tenants' secrets (infra/names.ts); unset, the default stack's `stageline/`.
    always: { env: { SECRETS_PREFIX: 'secretsPrefix' }, commands: getSecret('tenantSecrets') },
    // Local mode reads each tenant's secrets from the environment by a name made per tenant (localSecretVariable).
    notDeployed: { AWS_LAMBDA_FUNCTION_NAME: 'set by Lambda' },
  },
  {
    module: adapter('registry-credentials'),
    always: { env: { REGISTRY_CREDENTIALS_SECRET: 'registrySecret' }, commands: getSecret('registrySecret') },
    notDeployed: { REGISTRY_CREDENTIALS: 'local mode: the credentials in the environment' },
  },
  {
    // An ECR registry's Basic credentials are a token of the function's own role: copies and attachments pull and push,
    // a signature check only pulls (what the registry authorises each Distribution API call as).
    module: adapter('ecr-tokens'),
    calls: {
      'registry.sync': ecrToken(...ECR_PULL, ...ECR_PUSH),
      'registry.attach': ecrToken(...ECR_PULL, ...ECR_PUSH),
      'registry.verifySignature': ecrToken(...ECR_PULL),
    },
  },
  {
    // Every tenant secret is read and written with a session of the tenant secrets role tagged with its tenant (infra/needs.ts).
    module: adapter('secrets-session'),
    always: {
      env: { TENANT_SECRETS_ROLE_ARN: 'tenantSecretsRole' },
      commands: { AssumeRole: [on('tenantSecretsRole', 'sts:AssumeRole', 'sts:TagSession')] },
    },
  },
  {
    module: adapter('webhook-secrets'),
    calls: {
      'secrets.put': {
        env: { SECRETS_PREFIX: 'secretsPrefix' },
        commands: {
          PutSecretValue: [on('webhookSecrets', 'secretsmanager:PutSecretValue')],
          // Only tagged with the session's tenant, and with that tag alone.
          CreateSecret: [
            {
              actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
              on: 'webhookSecrets',
              condition: {
                StringEquals: { [`aws:RequestTag/${TENANT_SECRET_TAG}`]: ['${aws:PrincipalTag/tenant}'] },
                'ForAllValues:StringEquals': { 'aws:TagKeys': [TENANT_SECRET_TAG] },
              },
            },
          ],
        },
      },
      'secrets.get': { env: { SECRETS_PREFIX: 'secretsPrefix' }, commands: { GetSecretValue: [on('webhookSecrets', 'secretsmanager:GetSecretValue')] } },
      'secrets.remove': { env: { SECRETS_PREFIX: 'secretsPrefix' }, commands: { DeleteSecret: [on('webhookSecrets', 'secretsmanager:DeleteSecret')] } },
    },
  },
];
