import { Command, Option } from 'commander';
import type { RightsAnswer } from '../../domain/access/binding-settings.ts';
import { BINDING_ROLES, type Binding } from '../../domain/access/bindings.ts';
import type { Grant } from '../../domain/access/rights.ts';
import { fail } from '../context.ts';
import { api } from '../http.ts';
import { out, table } from '../output.ts';

/** What GET and PUT /api/v1/access/bindings answer. */
interface Bindings {
  bindings: Binding[];
  version: number;
}

const who = (b: Binding) => (b.user !== undefined ? `user:${b.user}` : `group:${b.group}`);
const rows = (r: Bindings) => r.bindings.map((b) => ({ subject: who(b), role: b.role, environments: b.environments.join(', ') }));

/** What grants a right, in a few words: `role admin`, `group:payments deployer in staging`, `(bound elsewhere)`. */
export const grantText = (g: Grant) =>
  'role' in g ? `role ${g.role}` : `${who(g.binding)} ${g.binding.role} in ${g.binding.environments.join(',')}${g.elsewhere ? ' (elsewhere: reads)' : ''}`;

/** roles: the tenant's role bindings, scoped to environments (domain/access/bindings.ts; admins) */
export function registerRoles(program: Command): void {
  const roles = program.command('roles').description("your tenant's role bindings: who holds which role in which environments (admins)");
  roles
    .command('list')
    .description('every binding: a user or a group, a role (or break-glass), and the environments where it applies (* for every one)')
    .action(async () => {
      const r = await api<Bindings>('GET', '/api/v1/access/bindings');
      out(r, () => (r.bindings.length ? table(rows(r), ['subject', 'role', 'environments']) : console.log('no bindings: roles come from the token only')));
    });
  roles
    .command('set')
    .description("bind a user or a group to a role in environments (replaces that subject's environments for the role; --env with none: removes the binding)")
    .addOption(new Option('--user <id-or-email>', 'a user (their subject id or email)').conflicts('group'))
    .addOption(new Option('--group <name>', 'a group of the identity provider'))
    .addOption(new Option('--role <role>', 'the role, or break-glass').choices([...BINDING_ROLES]).makeOptionMandatory())
    .option('--env <names...>', 'environment names, or * for every environment (leave out to remove the binding)', [])
    .action(async (opts: { user?: string; group?: string; role: Binding['role']; env: string[] }) => {
      if ((opts.user === undefined) === (opts.group === undefined)) fail('name exactly one subject: --user <id-or-email> or --group <name>');
      const current = await api<Bindings>('GET', '/api/v1/access/bindings');
      const subject: Pick<Binding, 'user' | 'group'> = opts.user !== undefined ? { user: opts.user.toLowerCase() } : { group: opts.group! };
      const same = (b: Binding) => b.role === opts.role && (subject.user !== undefined ? b.user === subject.user : b.group === subject.group);
      const next = current.bindings.filter((b) => !same(b));
      if (opts.env.length) next.push({ ...subject, role: opts.role, environments: opts.env });
      // The version read: a change someone made in between is refused (409), never overwritten.
      const r = await api<Bindings>('PUT', '/api/v1/access/bindings', { bindings: next, version: current.version });
      out(r, () =>
        console.log(
          opts.env.length
            ? `${who({ ...subject, role: opts.role, environments: [] })} is ${opts.role} in ${opts.env.join(', ')} (bindings version ${r.version})`
            : `removed ${opts.role} from ${who({ ...subject, role: opts.role, environments: [] })} (bindings version ${r.version})`,
        ),
      );
    });
  roles
    .command('rights [user]')
    .description(
      "effective rights per environment (view, deploy, approve, admin, break-glass) and what grants each: yours; another person's (id or email) for admins",
    )
    .action(async (user: string | undefined) => {
      const r = await api<RightsAnswer>('GET', `/api/v1/access/rights${user ? `?user=${encodeURIComponent(user)}` : ''}`);
      out(r, () => {
        console.log(`${r.user.email}: tenant-wide roles ${r.roles.join(', ') || 'none'}; groups ${r.groups.join(', ') || 'none'}`);
        const cell = (g: Grant[]) => (g.length ? `yes (${g.map(grantText).join('; ')})` : 'no');
        table(
          r.environments.map((e) => ({
            environment: e.environment ?? '(tenant-wide)',
            view: cell(e.rights.viewer),
            deploy: cell(e.rights.deployer),
            approve: cell(e.rights.approver),
            admin: cell(e.rights.admin),
            'break-glass': cell(e.rights['break-glass']),
          })),
          ['environment', 'view', 'deploy', 'approve', 'admin', 'break-glass'],
        );
      });
    });
}
