import { awsName, ROLE_SESSION_NAME } from '#domain/kernel/aws-names';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { traced } from './tracing.ts';

/**
 * The container's one STS client, made on the first session a request needs: the client (and the
 * AWS Query protocol it speaks) is a chunk `import()` loads then, so module init never reads it,
 * and a container that serves one tenant asks STS once per session lifetime, whatever the tenant count.
 */
let shared: Promise<STSClient> | undefined;
function sharedSts(): Promise<STSClient> {
  return (shared ??= import('@aws-sdk/client-sts').then(
    ({ STSClient }) => traced(new STSClient({})),
    (err: unknown) => {
      shared = undefined;
      throw err;
    },
  ));
}

/**
 * Credentials of a session of the tenant data role, tagged with the caller's tenant. The role's
 * policy allows DynamoDB only where `dynamodb:LeadingKeys` matches `T#${aws:PrincipalTag/tenant}#*`,
 * so whatever a handler does with them stays inside that tenant's keys. Refreshed a minute before
 * they expire. `sts` is the client to use (tests); by default the container's shared one.
 */
export function tenantCredentials(roleArn: string, tenant: string, sts?: STSClient): AwsCredentialIdentityProvider {
  let current: AwsCredentialIdentity | undefined;
  return async () => {
    if (current?.expiration && current.expiration.getTime() - Date.now() > 60_000) return current;
    const [client, { AssumeRoleCommand }] = await Promise.all([sts ?? sharedSts(), import('@aws-sdk/client-sts')]);
    const r = await client.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: awsName('stageline-', [tenant], ROLE_SESSION_NAME),
        DurationSeconds: 900,
        Tags: [{ Key: 'tenant', Value: tenant }],
      }),
    );
    const c = r.Credentials!;
    current = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken, expiration: c.Expiration };
    return current;
  };
}
