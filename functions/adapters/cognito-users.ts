import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminUserGlobalSignOutCommand,
  CognitoIdentityProviderClient,
  ListUsersCommand,
  ListUsersInGroupCommand,
  type UserType,
} from '@aws-sdk/client-cognito-identity-provider';
import type { ManagedUser, Member, UserAdmin } from '#domain/access/ports';
import { PLATFORM_GROUP, ROLES, type Role } from '#domain/access/auth';
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
 * Which users a tenant has comes from the table's people index (custom attributes cannot be
 * filtered on, so asking the pool would page through every tenant's users): the pool is asked about
 * the caller and about each of the tenant's people by name, never listed.
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

  async statuses(tenant: string, people: Pick<Member, 'id' | 'username'>[]): Promise<Map<string, Pick<ManagedUser, 'status' | 'createdAt'>>> {
    const out = new Map<string, Pick<ManagedUser, 'status' | 'createdAt'>>();
    const one = async (p: Pick<Member, 'id' | 'username'>) => {
      if (!p.username) {
        const v = await this.find(`sub = ${quoted(p.id)}`, tenant);
        if (v) out.set(p.id, { status: v.status, createdAt: v.createdAt });
        return;
      }
      try {
        const u = await this.client.send(new AdminGetUserCommand({ UserPoolId: this.poolId, Username: p.username }));
        const a = (name: string) => u.UserAttributes?.find((x) => x.Name === name)?.Value;
        if (a('custom:tenant_id') !== tenant || a('sub')?.toLowerCase() !== p.id) return;
        out.set(p.id, { status: u.Enabled === false ? 'DISABLED' : (u.UserStatus ?? 'UNKNOWN'), createdAt: u.UserCreateDate?.toISOString() });
      } catch (err) {
        if ((err as { name?: string }).name !== 'UserNotFoundException') throw err;
      }
    };
    // A few at a time: Cognito's user-read quota is shared by the account.
    for (let i = 0; i < people.length; i += 8) await Promise.all(people.slice(i, i + 8).map(one));
    return out;
  }

  async signOut(tenant: string, id: string): Promise<void> {
    const user = await this.find(`sub = ${quoted(id)}`, tenant);
    if (!user) throw new UserNotFound(id);
    await this.client.send(new AdminUserGlobalSignOutCommand({ UserPoolId: this.poolId, Username: user.username }));
  }

  async *everyone(): AsyncIterable<ManagedUser> {
    // The role groups' members once (not a call per user), then every user of the pool page by page.
    const groups = new Map<string, string[]>();
    for (const group of [...ROLES, PLATFORM_GROUP]) {
      let token: string | undefined;
      do {
        const r = await this.client.send(new ListUsersInGroupCommand({ UserPoolId: this.poolId, GroupName: group, NextToken: token, Limit: 60 }));
        for (const u of r.Users ?? []) if (u.Username) groups.set(u.Username, [...(groups.get(u.Username) ?? []), group]);
        token = r.NextToken;
      } while (token);
    }
    let page: string | undefined;
    do {
      const r = await this.client.send(new ListUsersCommand({ UserPoolId: this.poolId, PaginationToken: page, Limit: 60 }));
      for (const u of r.Users ?? []) {
        const sub = attr(u, 'sub');
        const email = attr(u, 'email');
        const tenant = attr(u, 'custom:tenant_id');
        if (!sub || !email || !tenant || !u.Username) continue;
        const g = groups.get(u.Username) ?? [];
        yield {
          id: sub.toLowerCase(),
          email: email.toLowerCase(),
          tenant,
          groups: g,
          roles: g.filter(isRole),
          status: u.Enabled === false ? 'DISABLED' : (u.UserStatus ?? 'UNKNOWN'),
          createdAt: u.UserCreateDate?.toISOString(),
          username: u.Username,
        };
      }
      page = r.PaginationToken;
    } while (page);
  }

  async get(tenant: string, id: string): Promise<ManagedUser | null> {
    const v = await this.find(`sub = ${quoted(id)}`, tenant);
    return v;
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
    return made;
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
    return { ...user, groups, roles: [...roles] };
  }

  async remove(tenant: string, id: string): Promise<void> {
    const user = await this.find(`sub = ${quoted(id)}`, tenant);
    if (!user) throw new UserNotFound(id);
    await this.client.send(new AdminDeleteUserCommand({ UserPoolId: this.poolId, Username: user.username }));
  }
}

export function userAdminFromEnv(): UserAdmin {
  const pool = env.USER_POOL_ID();
  if (!pool) throw new Error('USER_POOL_ID is not set');
  return new CognitoUserAdmin(traced(new CognitoIdentityProviderClient({})), pool);
}
