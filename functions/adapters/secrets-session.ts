import { awsName, ROLE_SESSION_NAME } from '#domain/kernel/aws-names';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import * as env from '../configuration.ts';
import { traced } from './tracing.ts';

/**
 * The Secrets Manager client a tenant's secrets are read and written with (functions/adapters/secrets.ts,
 * webhook-secrets.ts), in every function, API or background. On AWS (TENANT_SECRETS_ROLE_ARN set by CDK on
 * each function whose bundle touches tenants' secrets) it holds a session of the tenant secrets role tagged
 * with the tenant the secret belongs to: the role may touch only `<prefix>${aws:PrincipalTag/tenant}/…`
 * (infra/needs.ts), so IAM itself keeps a read, write or delete inside that tenant's secrets, whatever the
 * code asks for; the function's own role may read no tenant's secret. A background function (a stream
 * record, a workflow step, a scheduled delivery) asks with the tenant of the item it works on. One session
 * per tenant and container, renewed a minute before it expires. Without the variable (the local stack and
 * tests, which have no IAM) one client with the function's own credentials.
 */

/** The tag a secret Stageline creates carries, naming its tenant (the role may create a secret only tagged with its session's tenant). */
export const TENANT_SECRET_TAG = 'stageline:tenant';

let sts: Promise<STSClient> | undefined;
let plain: Promise<SecretsManagerClient> | undefined;
const byTenant = new Map<string, { credentials: AwsCredentialIdentityProvider; client: Promise<SecretsManagerClient> }>();

/** The STS client sessions are asked from (tests give one); by default the container's, made on the first session. */
export function setSecretsSessionSts(client: STSClient | undefined): void {
  sts = client ? Promise.resolve(client) : undefined;
  plain = undefined;
  byTenant.clear();
}

function stsClient(): Promise<STSClient> {
  return (sts ??= import('@aws-sdk/client-sts').then(
    ({ STSClient }) => traced(new STSClient({})),
    (err: unknown) => {
      sts = undefined;
      throw err;
    },
  ));
}

/** Credentials of a session of `roleArn` tagged `tenant=<tenant>`, renewed a minute before they expire. */
function tenantSession(roleArn: string, tenant: string): AwsCredentialIdentityProvider {
  let current: AwsCredentialIdentity | undefined;
  return async () => {
    if (current?.expiration && current.expiration.getTime() - Date.now() > 60_000) return current;
    const [client, { AssumeRoleCommand }] = await Promise.all([stsClient(), import('@aws-sdk/client-sts')]);
    const r = await client.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: awsName('stageline-secrets-', [tenant], ROLE_SESSION_NAME),
        DurationSeconds: 900,
        Tags: [{ Key: 'tenant', Value: tenant }],
      }),
    );
    const c = r.Credentials!;
    current = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken, expiration: c.Expiration };
    return current;
  };
}

/**
 * The client for this tenant's secrets (see above), once its session is there: the session is asked for (or
 * found fresh) before any command is sent, so a tenant's secret is never sent for with other credentials.
 */
export async function secretsClientFor(tenant: string, source?: env.Source): Promise<SecretsManagerClient> {
  const role = env.TENANT_SECRETS_ROLE_ARN(source);
  if (!role) return (plain ??= import('@aws-sdk/client-secrets-manager').then(({ SecretsManagerClient }) => traced(new SecretsManagerClient({}))));
  let s = byTenant.get(tenant);
  if (!s) {
    const credentials = tenantSession(role, tenant);
    s = {
      credentials,
      client: import('@aws-sdk/client-secrets-manager').then(({ SecretsManagerClient }) => traced(new SecretsManagerClient({ credentials }))),
    };
    if (byTenant.size >= 500) byTenant.clear();
    byTenant.set(tenant, s);
  }
  await s.credentials();
  return s.client;
}
