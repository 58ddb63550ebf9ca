import { Command, Option } from 'commander';
import { ROLES } from '../../domain/access/auth.ts';
import { fail, q } from '../context.ts';
import type { TenantCreated, User, UserList } from '../answers.ts';
import { api } from '../http.ts';
import { out, table } from '../output.ts';

const rolesOption = () => new Option('--role <role...>', 'a role (repeat or list: --role approver deployer)').choices([...ROLES]).makeOptionMandatory();

const row = (u: User) => ({ ...u, roles: u.roles.join(', '), createdAt: u.createdAt ?? '' });

/** users and tenants: people without the AWS console (domain/access) */
export function registerUsers(program: Command): void {
  const users = program.command('users').description("your tenant's people and their roles (admins)");
  users
    .command('list')
    .description("the tenant's users, their roles and whether they have signed in yet")
    .action(async () => {
      const r = await api<UserList>('GET', '/api/v1/users');
      out(r, () => table(r.items.map(row), ['email', 'roles', 'status', 'id', 'createdAt']));
    });
  users
    .command('invite')
    .description('invite someone with roles (on AWS Cognito emails them a temporary password; locally they sign in with `stageline login --user <email>`)')
    .argument('<email>')
    .addOption(rolesOption())
    .action(async (email: string, opts: { role: string[] }) => {
      const r = await api<User>('POST', '/api/v1/users', { email, roles: opts.role });
      out(r, () => console.log(`invited ${r.email} as ${r.roles.join(', ')} (${r.status}); id ${r.id}`));
    });
  users
    .command('roles')
    .description("replace a user's roles (not your own; the tenant keeps an admin)")
    .argument('<id-or-email>')
    .addOption(rolesOption())
    .action(async (who: string, opts: { role: string[] }) => {
      const r = await api<User>('PATCH', `/api/v1/users/${q(await idOf(who))}`, { roles: opts.role });
      out(r, () => console.log(`${r.email} now holds ${r.roles.join(', ')}`));
    });
  users
    .command('remove')
    .description('remove a user from the tenant (not yourself, not the last admin); tokens already issued expire within the hour')
    .argument('<id-or-email>')
    .action(async (who: string) => {
      const id = await idOf(who);
      await api('DELETE', `/api/v1/users/${q(id)}`);
      out({ removed: id }, () => console.log(`removed ${who}`));
    });

  const tenants = program.command('tenants').description('tenants (platform operators: the platform-admin group)');
  tenants
    .command('create')
    .description('create a tenant and invite its first admin')
    .argument('<id>', 'lower-case letters, digits and dashes: every user of the tenant carries it')
    .requiredOption('--admin <email>', "the tenant's first admin")
    .option('--name <display name>', 'how the tenant is shown')
    .option('--domain <domains...>', "the email domains its admins invite people from (default: the first admin's); each belongs to one tenant")
    .option('--allow-public-domains', 'let the tenant hold a public mail domain (gmail.com, outlook.com, …): a deliberate choice')
    .action(async (id: string, opts: { admin: string; name?: string; domain?: string[]; allowPublicDomains?: boolean }) => {
      const r = await api<TenantCreated>('POST', '/api/v1/tenants', {
        id,
        adminEmail: opts.admin,
        ...(opts.name ? { displayName: opts.name } : {}),
        ...(opts.domain ? { emailDomains: opts.domain } : {}),
        ...(opts.allowPublicDomains ? { allowPublicDomains: true } : {}),
      });
      out(r, () => console.log(`tenant ${r.tenant.id} (${r.tenant.displayName}) created; ${r.admin.email} invited as its admin`));
    });
}

/** A user's id from an id or an email (the list is the tenant's own). */
async function idOf(who: string): Promise<string> {
  if (!who.includes('@')) return who;
  const r = await api<UserList>('GET', '/api/v1/users');
  const hit = r.items.find((u) => u.email === who.toLowerCase());
  if (!hit) fail(`no user ${who} in your tenant (stageline users list)`);
  return hit.id;
}
