import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminListGroupsForUserCommand,
  AdminRemoveUserFromGroupCommand,
  CognitoIdentityProviderClient,
  ListUsersCommand,
  ListUsersInGroupCommand,
  type UserType,
} from '@aws-sdk/client-cognito-identity-provider';
import type { ManagedUser, UserAdmin } from '#domain/access/ports';
import { ROLES, type Role } from '#domain/access/auth';
import { AlreadyExists, UserNotFound } from '#domain/kernel/errors';
import * as env from '../configuration.ts';
import { traced } from './tracing.ts';

const attr = (u: UserType, name: string) => u.Attributes?.find((a) => a.Name === name)?.Value;
const isRole = (g: string): g is Role => (ROLES as readonly string[]).includes(g);
/** Cognito's filter language quotes with "; a value never carries one (or a backslash) into it. */
const quoted = (v: string) => `"${v.replace(/["\\]/g, '')}"`;

/**
 * User management in the Cognito user pool: a user's tenant is the `custom:tenant_id` attribute set
 * when they are created (users cannot write it: the app client's write attributes leave it out),
 * their roles are the role groups they are in, and AdminCreateUser sends the invitation email with a
 * temporary password. Every call is confined to the tenant given: a user of another tenant is
 * not found. Separate from the directory adapter so that only the user routes hold the Admin* grants.
 */
export class CognitoUserAdmin implements UserAdmin {
  constructor(
    private readonly client: CognitoIdentityProviderClient,
    private readonly poolId: string,
  ) {}

  private async groupsOf(username: string): Promise<string[]> {
    const r = await this.client.send(new AdminListGroupsForUserCommand({ UserPoolId: this.poolId, Username: username, Limit: 60 }));
    return (r.Groups ?? []).map((g) => g.GroupName!).filter(Boolean);
  }

  private async view(u: UserType, tenant: string): Promise<(ManagedUser & { username: string }) | null> {
    const sub = attr(u, 'sub');
    const email = attr(u, 'email');
    if (attr(u, 'custom:tenant_id') !== tenant || !sub || !email || !u.Username) return null;
    const groups = await this.groupsOf(u.Username);
    return {
      id: sub.toLowerCase(),
      email: email.toLowerCase(),
      tenant,
      groups,
      roles: groups.filter(isRole),
      status: u.Enabled === false ? 'DISABLED' : (u.UserStatus ?? 'UNKNOWN'),
      createdAt: u.UserCreateDate?.toISOString(),
      username: u.Username,
    };
  }

  private async find(filter: string, tenant: string) {
    const r = await this.client.send(new ListUsersCommand({ UserPoolId: this.poolId, Filter: filter, Limit: 5 }));
    for (const u of r.Users ?? []) {
      const v = await this.view(u, tenant);
      if (v) return v;
    }
    return null;
  }

  async list(tenant: string): Promise<ManagedUser[]> {
    // Custom attributes cannot be filtered on: the members of the role groups, kept when of this tenant.
    const out = new Map<string, ManagedUser>();
    for (const group of ROLES) {
      let token: string | undefined;
      do {
        const r = await this.client.send(new ListUsersInGroupCommand({ UserPoolId: this.poolId, GroupName: group, NextToken: token, Limit: 60 }));
        for (const u of r.Users ?? []) {
          if (attr(u, 'custom:tenant_id') !== tenant || out.has(attr(u, 'sub') ?? '')) continue;
          const v = await this.view(u, tenant);
          if (v) out.set(v.id, strip(v));
        }
        token = r.NextToken;
      } while (token);
    }
    return [...out.values()];
  }

  async get(tenant: string, id: string): Promise<ManagedUser | null> {
    const v = await this.find(`sub = ${quoted(id)}`, tenant);
    return v ? strip(v) : null;
  }

  async create(tenant: string, email: string, roles: Role[]): Promise<ManagedUser> {
    const taken = await this.client.send(new ListUsersCommand({ UserPoolId: this.poolId, Filter: `email = ${quoted(email)}`, Limit: 1 }));
    if (taken.Users?.length) throw new AlreadyExists(`${email} already has an account (an email signs in to one tenant)`);
    let username: string;
    try {
      const r = await this.client.send(
        new AdminCreateUserCommand({
          UserPoolId: this.poolId,
          Username: email,
          UserAttributes: [
            { Name: 'email', Value: email },
            { Name: 'email_verified', Value: 'true' },
            { Name: 'custom:tenant_id', Value: tenant },
          ],
          DesiredDeliveryMediums: ['EMAIL'],
        }),
      );
      username = r.User!.Username!;
    } catch (err) {
      if ((err as { name?: string }).name === 'UsernameExistsException')
        throw new AlreadyExists(`${email} already has an account (an email signs in to one tenant)`);
      throw err;
    }
    for (const role of roles) await this.client.send(new AdminAddUserToGroupCommand({ UserPoolId: this.poolId, Username: username, GroupName: role }));
    const made = await this.find(`email = ${quoted(email)}`, tenant);
    if (!made) throw new Error(`the user ${email} was created but cannot be read back`);
    return strip(made);
  }

  async setRoles(tenant: string, id: string, roles: Role[]): Promise<ManagedUser> {
    const user = await this.find(`sub = ${quoted(id)}`, tenant);
    if (!user) throw new UserNotFound(id);
    for (const role of roles)
      if (!user.roles.includes(role))
        await this.client.send(new AdminAddUserToGroupCommand({ UserPoolId: this.poolId, Username: user.username, GroupName: role }));
    for (const role of user.roles)
      if (!roles.includes(role))
        await this.client.send(new AdminRemoveUserFromGroupCommand({ UserPoolId: this.poolId, Username: user.username, GroupName: role }));
    const groups = [...user.groups.filter((g) => !isRole(g)), ...roles];
    return strip({ ...user, groups, roles: [...roles] });
  }

  async remove(tenant: string, id: string): Promise<void> {
    const user = await this.find(`sub = ${quoted(id)}`, tenant);
    if (!user) throw new UserNotFound(id);
    await this.client.send(new AdminDeleteUserCommand({ UserPoolId: this.poolId, Username: user.username }));
  }
}

function strip(u: ManagedUser & { username?: string }): ManagedUser {
  const { username: _username, ...rest } = u;
  return rest;
}

export function userAdminFromEnv(): UserAdmin {
  const pool = env.USER_POOL_ID();
  if (!pool) throw new Error('USER_POOL_ID is not set');
  return new CognitoUserAdmin(traced(new CognitoIdentityProviderClient({})), pool);
}
