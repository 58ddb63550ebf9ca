import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ROLES, type Role } from '../../domain/access/auth.ts';
import type { GroupMapEntry, GroupMapping } from '../../domain/access/group-mapping.ts';
import { fail } from '../context.ts';
import { api } from '../http.ts';
import { out, table } from '../output.ts';

/** What GET and PUT /api/v1/access/identity-provider answer (domain/access/federation.ts connectionView). */
interface IdentityProvider {
  kind: 'oidc' | 'saml' | null;
  providerName?: string;
  oidc?: { issuer: string; clientId: string; clientSecret: string };
  saml?: { metadataUrl?: string; entityId: string; ssoUrl: string };
  emailDomains: string[];
  groupsClaim?: string;
  groupsFrom?: 'claim' | 'scim';
  version: number;
  updatedAt?: string;
  updatedBy?: string;
}

const GROUPS_FROM_HELP =
  "where sign-ins read the groups: claim (the IdP's groups claim; on AWS at most 2,048 characters, 52 Entra group ids) or scim (the tenant's SCIM groups, no such limit)";

function show(r: IdentityProvider): void {
  if (!r.kind) return console.log('no identity provider: people sign in with the user pool’s own accounts');
  console.log(`${r.providerName} (${r.kind.toUpperCase()}), version ${r.version}, changed ${r.updatedAt} by ${r.updatedBy}`);
  if (r.oidc) console.log(`  issuer        ${r.oidc.issuer}\n  client id     ${r.oidc.clientId}\n  client secret tenant secret ${r.oidc.clientSecret}`);
  if (r.saml)
    console.log(`  entity id     ${r.saml.entityId}\n  sign-on URL   ${r.saml.ssoUrl}${r.saml.metadataUrl ? `\n  metadata      ${r.saml.metadataUrl}` : ''}`);
  console.log(`  email domains ${r.emailDomains.join(', ')}\n  groups claim  ${r.groupsClaim}\n  groups from   ${r.groupsFrom ?? 'claim'}`);
}

const domains = (v: string, prev: string[] = []) => [
  ...prev,
  ...v
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean),
];

/** What an IdP group maps to, in a few words: `group:payments deployer approver`. */
const mapsTo = (e: Pick<GroupMapEntry, 'group' | 'roles'>) => [e.group !== undefined ? `group:${e.group}` : '', ...(e.roles ?? [])].filter(Boolean).join(' ');

/**
 * Replaces what one IdP group maps to (every entry naming it: none when `to` is null) on the mapping as read,
 * and saves it with the version read: a change someone made in between is refused (409), never overwritten.
 */
async function remap(idpGroup: string, to: Pick<GroupMapEntry, 'group' | 'roles'> | null): Promise<GroupMapping> {
  const current = await api<GroupMapping>('GET', '/api/v1/access/group-mapping');
  const others = current.entries.filter((e) => e.idpGroup !== idpGroup);
  if (to === null && others.length === current.entries.length) fail(`no entry maps '${idpGroup}' (stageline idp groups list shows the mapping)`);
  return api<GroupMapping>('PUT', '/api/v1/access/group-mapping', {
    entries: to === null ? others : [...others, { idpGroup, ...to }],
    version: current.version,
  });
}

/** idp groups: the tenant's group mapping (domain/access/group-mapping.ts): the IdP's groups to Stageline groups and roles, at each person's next token */
function registerGroups(idp: Command): void {
  const groups = idp
    .command('groups')
    .description("your IdP's groups mapped to Stageline groups (that role bindings name) and tenant-wide roles, at each person's next sign-in (admins)");
  groups
    .command('list')
    .description('every entry: the group as the IdP sends it, the Stageline group and the roles its members get')
    .action(async () => {
      const r = await api<GroupMapping>('GET', '/api/v1/access/group-mapping');
      out(r, () =>
        r.entries.length
          ? table(
              r.entries.map((e) => ({ 'idp group': e.idpGroup, group: e.group ?? '', roles: (e.roles ?? []).join(', ') })),
              ['idp group', 'group', 'roles'],
            )
          : console.log('no group mapping: IdP groups grant nothing (people of the IdP sign in with no roles)'),
      );
    });
  groups
    .command('set <idp-group>')
    .description(
      'map an IdP group (exactly as the IdP sends it: an Entra object id, an Okta group name) to a group, roles, or both (replaces what it mapped to)',
    )
    .option('--group <name>', 'the Stageline group its members are in (role bindings name it: stageline roles set --group)')
    .addOption(new Option('--role <roles...>', 'tenant-wide roles its members hold').choices([...ROLES]))
    .action(async (idpGroup: string, o: { group?: string; role?: Role[] }) => {
      if (o.group === undefined && !o.role?.length) fail('name what it maps to: --group <name>, --role <roles...>, or both');
      const r = await remap(idpGroup, { ...(o.group !== undefined ? { group: o.group } : {}), ...(o.role?.length ? { roles: o.role } : {}) });
      const saved = r.entries.filter((e) => e.idpGroup === idpGroup);
      out(r, () => console.log(`'${idpGroup}' maps to ${saved.map(mapsTo).join('; ')} (mapping version ${r.version})`));
    });
  groups
    .command('remove <idp-group>')
    .description('remove every entry for an IdP group: its members get nothing from it at their next sign-in')
    .action(async (idpGroup: string) => {
      const r = await remap(idpGroup, null);
      out(r, () => console.log(`'${idpGroup}' maps to nothing now (mapping version ${r.version})`));
    });
}

/** idp: the tenant's identity provider connection (SAML or OIDC federation; admins) */
export function registerIdp(program: Command): void {
  const idp = program.command('idp').description("your tenant's identity provider: sign-in through your company's SAML or OIDC IdP (admins)");
  idp
    .command('show')
    .description('the connection: its kind, the IdP, the email domains that sign in through it, the groups claim')
    .action(async () => {
      const r = await api<IdentityProvider>('GET', '/api/v1/access/identity-provider');
      out(r, () => show(r));
    });
  idp
    .command('set-oidc')
    .description('connect to an OpenID Connect IdP (its discovery document is read now); the client secret is a tenant secret you name')
    .requiredOption('--issuer <url>', "the IdP's issuer URL")
    .requiredOption('--client-id <id>', 'the client (application) id registered at the IdP')
    .option('--client-secret <NAME>', 'the NAME of the tenant secret holding the client secret (left out: the stored one stays)')
    .requiredOption('--domain <domains>', 'an email domain that signs in through it (repeat, or comma-separated)', domains)
    .option('--groups-claim <name>', 'the claim that lists the groups (default groups)')
    .option('--groups-from <claim|scim>', GROUPS_FROM_HELP)
    .action(async (o: { issuer: string; clientId: string; clientSecret?: string; domain: string[]; groupsClaim?: string; groupsFrom?: string }) => {
      const r = await api<IdentityProvider>('PUT', '/api/v1/access/identity-provider', {
        kind: 'oidc',
        oidc: { issuer: o.issuer, clientId: o.clientId, ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}) },
        emailDomains: o.domain,
        ...(o.groupsClaim ? { groupsClaim: o.groupsClaim } : {}),
        ...(o.groupsFrom ? { groupsFrom: o.groupsFrom } : {}),
      });
      out(r, () => show(r));
    });
  idp
    .command('set-saml')
    .description('connect to a SAML 2.0 IdP by its metadata URL (read now) or a metadata file')
    .option('--metadata-url <url>', "the IdP's metadata URL")
    .option('--metadata-file <path>', "the IdP's metadata document (XML)")
    .requiredOption('--domain <domains>', 'an email domain that signs in through it (repeat, or comma-separated)', domains)
    .option('--groups-attribute <name>', 'the attribute that lists the groups (default groups)')
    .option('--groups-from <claim|scim>', GROUPS_FROM_HELP)
    .action(async (o: { metadataUrl?: string; metadataFile?: string; domain: string[]; groupsAttribute?: string; groupsFrom?: string }) => {
      const saml = o.metadataFile ? { metadataXml: readFileSync(o.metadataFile, 'utf8') } : { metadataUrl: o.metadataUrl };
      const r = await api<IdentityProvider>('PUT', '/api/v1/access/identity-provider', {
        kind: 'saml',
        saml,
        emailDomains: o.domain,
        ...(o.groupsAttribute ? { groupsClaim: o.groupsAttribute } : {}),
        ...(o.groupsFrom ? { groupsFrom: o.groupsFrom } : {}),
      });
      out(r, () => show(r));
    });
  idp
    .command('remove')
    .description('disconnect the IdP: people sign in with the user pool’s own accounts again')
    .action(async () => {
      await api('DELETE', '/api/v1/access/identity-provider');
      console.log('identity provider removed');
    });
  registerGroups(idp);
}
