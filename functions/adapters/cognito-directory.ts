import {
  AdminListGroupsForUserCommand,
  CognitoIdentityProviderClient,
  ListUsersCommand,
  ListUsersInGroupCommand,
  type UserType,
} from '@aws-sdk/client-cognito-identity-provider';
import { ROLES } from '#domain/access/auth';
import type { Directory, DirectoryUser } from '#domain/access/ports';
import * as env from '../configuration.ts';
import { traced } from './tracing.ts';

const attr = (u: UserType, name: string) => u.Attributes?.find((a) => a.Name === name)?.Value;

/**
 * The Cognito user pool as the directory: approvers to notify are the members of the policy's
 * groups (a role group also counts the roles that imply it: admins approve too) within the tenant.
 */
export class CognitoDirectory implements Directory {
  constructor(
    private readonly client: CognitoIdentityProviderClient,
    private readonly poolId: string,
  ) {}

  private async groupsOf(username: string): Promise<string[]> {
    const r = await this.client.send(new AdminListGroupsForUserCommand({ UserPoolId: this.poolId, Username: username, Limit: 60 }));
    return (r.Groups ?? []).map((g) => g.GroupName!).filter(Boolean);
  }

  private async toUser(u: UserType, tenant: string): Promise<DirectoryUser | null> {
    if (attr(u, 'custom:tenant_id') !== tenant || u.Enabled === false) return null;
    const sub = attr(u, 'sub');
    const email = attr(u, 'email');
    if (!sub || !email) return null;
    return { id: sub.toLowerCase(), email: email.toLowerCase(), tenant, groups: await this.groupsOf(u.Username!) };
  }

  async members(tenant: string, groups: string[]): Promise<DirectoryUser[]> {
    const names = new Set(groups);
    // A role is held by its own group and by the roles that imply it (admin implies every role).
    for (const g of groups) if ((ROLES as readonly string[]).includes(g)) names.add('admin');
    const out = new Map<string, DirectoryUser>();
    for (const group of names) {
      let token: string | undefined;
      do {
        const r = await this.client.send(new ListUsersInGroupCommand({ UserPoolId: this.poolId, GroupName: group, NextToken: token, Limit: 60 }));
        for (const u of r.Users ?? []) {
          const user = await this.toUser(u, tenant);
          if (user) out.set(user.id, user);
        }
        token = r.NextToken;
      } while (token);
    }
    return [...out.values()];
  }

  async byEmail(tenant: string, email: string): Promise<DirectoryUser | null> {
    const safe = email.replace(/["\\]/g, '');
    const r = await this.client.send(new ListUsersCommand({ UserPoolId: this.poolId, Filter: `email = "${safe}"`, Limit: 5 }));
    for (const u of r.Users ?? []) {
      const user = await this.toUser(u, tenant);
      if (user) return user;
    }
    return null;
  }
}

export function directoryFromEnv(): Directory {
  const pool = env.USER_POOL_ID();
  if (!pool) throw new Error('USER_POOL_ID is not set');
  return new CognitoDirectory(traced(new CognitoIdentityProviderClient({})), pool);
}
