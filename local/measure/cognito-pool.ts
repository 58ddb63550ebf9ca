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
  UsernameExistsException,
  UserNotFoundException,
  type UserType,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import { randomUUID } from 'node:crypto';

interface PoolUser {
  username: string;
  sub: string;
  email: string;
  tenant: string;
  groups: Set<string>;
  status: string;
  created: Date;
  signedOut: number;
}

/** Cognito pages ListUsers and ListUsersInGroup by 60 at most. */
const PAGE = 60;

/**
 * A user pool in memory behind aws-sdk-client-mock, answering the calls the user-management adapter
 * (functions/adapters/cognito-users.ts) makes, with Cognito's paging (60 a page) and its errors:
 * what the people cost test and the bench count Cognito calls on (`calls()`), without an AWS account.
 * Filters are Cognito's `attr = "value"` on email and sub, as the adapter sends them.
 */
export function fakeUserPool() {
  const users = new Map<string, PoolUser>();
  const client = new CognitoIdentityProviderClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const mock = mockClient(client);
  const view = (u: PoolUser): UserType => ({
    Username: u.username,
    Enabled: true,
    UserStatus: u.status as UserType['UserStatus'],
    UserCreateDate: u.created,
    Attributes: [
      { Name: 'sub', Value: u.sub },
      { Name: 'email', Value: u.email },
      { Name: 'custom:tenant_id', Value: u.tenant },
    ],
  });
  const must = (username: string | undefined) => {
    const u = users.get(username ?? '');
    if (!u) throw new UserNotFoundException({ message: 'User does not exist.', $metadata: {} });
    return u;
  };
  const pageOf = (all: PoolUser[], token: string | undefined, limit = PAGE) => {
    const from = token ? Number(token) : 0;
    const next = from + Math.min(limit, PAGE);
    return { Users: all.slice(from, next).map(view), next: next < all.length ? String(next) : undefined };
  };

  mock.on(ListUsersCommand).callsFake((input) => {
    const m = /^(email|sub) = "(.*)"$/.exec(input.Filter ?? '');
    const all = [...users.values()].filter((u) => !m || (m[1] === 'email' ? u.email : u.sub) === m[2]);
    const p = pageOf(all, input.PaginationToken, input.Limit);
    return { Users: p.Users, PaginationToken: p.next };
  });
  mock.on(ListUsersInGroupCommand).callsFake((input) => {
    const p = pageOf(
      [...users.values()].filter((u) => u.groups.has(input.GroupName!)),
      input.NextToken,
      input.Limit,
    );
    return { Users: p.Users, NextToken: p.next };
  });
  mock.on(AdminListGroupsForUserCommand).callsFake((input) => ({ Groups: [...must(input.Username).groups].map((GroupName) => ({ GroupName })) }));
  mock.on(AdminGetUserCommand).callsFake((input) => {
    const v = view(must(input.Username));
    return { Username: v.Username, Enabled: v.Enabled, UserStatus: v.UserStatus, UserCreateDate: v.UserCreateDate, UserAttributes: v.Attributes };
  });
  mock.on(AdminCreateUserCommand).callsFake((input) => {
    const email = input.UserAttributes?.find((a: { Name?: string }) => a.Name === 'email')?.Value ?? input.Username!;
    if ([...users.values()].some((u) => u.email === email))
      throw new UsernameExistsException({ message: 'An account with the email already exists.', $metadata: {} });
    const u = add({
      email,
      tenant: input.UserAttributes?.find((a: { Name?: string }) => a.Name === 'custom:tenant_id')?.Value ?? '',
      status: 'FORCE_CHANGE_PASSWORD',
    });
    return { User: view(u) };
  });
  mock.on(AdminAddUserToGroupCommand).callsFake((input) => void must(input.Username).groups.add(input.GroupName!));
  mock.on(AdminRemoveUserFromGroupCommand).callsFake((input) => void must(input.Username).groups.delete(input.GroupName!));
  mock.on(AdminDeleteUserCommand).callsFake((input) => void users.delete(must(input.Username).username));
  mock.on(AdminUserGlobalSignOutCommand).callsFake((input) => void (must(input.Username).signedOut = Date.now()));

  function add(u: { email: string; tenant: string; groups?: string[]; status?: string; sub?: string }): PoolUser {
    const user: PoolUser = {
      username: randomUUID(),
      sub: u.sub ?? randomUUID(),
      email: u.email.toLowerCase(),
      tenant: u.tenant,
      groups: new Set(u.groups ?? []),
      status: u.status ?? 'CONFIRMED',
      created: new Date(),
      signedOut: 0,
    };
    users.set(user.username, user);
    return user;
  }

  return {
    client,
    /** a user as an operator (or an earlier version of Stageline) put them in the pool */
    add,
    byEmail: (email: string) => [...users.values()].find((u) => u.email === email.toLowerCase()),
    /** every call sent since the last reset, by command name */
    calls: () => mock.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, '')),
    resetCalls: () => mock.resetHistory(),
    restore: () => mock.restore(),
  };
}
