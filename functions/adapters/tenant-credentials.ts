import { awsName, ROLE_SESSION_NAME } from '#domain/kernel/aws-names';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { traced } from './tracing.ts';

/**
 * Credentials of a session of the tenant data role, tagged with the caller's tenant. The role's
 * policy allows DynamoDB only where `dynamodb:LeadingKeys` matches `T#${aws:PrincipalTag/tenant}#*`,
 * so whatever a handler does with them stays inside that tenant's keys. Refreshed a minute before
 * they expire.
 */
export function tenantCredentials(roleArn: string, tenant: string, sts: STSClient = traced(new STSClient({}))): AwsCredentialIdentityProvider {
  let current: AwsCredentialIdentity | undefined;
  return async () => {
    if (current?.expiration && current.expiration.getTime() - Date.now() > 60_000) return current;
    const r = await sts.send(
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
