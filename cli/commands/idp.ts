import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { api } from '../http.ts';
import { out } from '../output.ts';

/** What GET and PUT /api/v1/access/identity-provider answer (domain/access/federation.ts connectionView). */
interface IdentityProvider {
  kind: 'oidc' | 'saml' | null;
  providerName?: string;
  oidc?: { issuer: string; clientId: string; clientSecret: string };
  saml?: { metadataUrl?: string; entityId: string; ssoUrl: string };
  emailDomains: string[];
  groupsClaim?: string;
  version: number;
  updatedAt?: string;
  updatedBy?: string;
}

function show(r: IdentityProvider): void {
  if (!r.kind) return console.log('no identity provider: people sign in with the user pool’s own accounts');
  console.log(`${r.providerName} (${r.kind.toUpperCase()}), version ${r.version}, changed ${r.updatedAt} by ${r.updatedBy}`);
  if (r.oidc) console.log(`  issuer        ${r.oidc.issuer}\n  client id     ${r.oidc.clientId}\n  client secret tenant secret ${r.oidc.clientSecret}`);
  if (r.saml)
    console.log(`  entity id     ${r.saml.entityId}\n  sign-on URL   ${r.saml.ssoUrl}${r.saml.metadataUrl ? `\n  metadata      ${r.saml.metadataUrl}` : ''}`);
  console.log(`  email domains ${r.emailDomains.join(', ')}\n  groups claim  ${r.groupsClaim}`);
}

const domains = (v: string, prev: string[] = []) => [
  ...prev,
  ...v
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean),
];

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
    .action(async (o: { issuer: string; clientId: string; clientSecret?: string; domain: string[]; groupsClaim?: string }) => {
      const r = await api<IdentityProvider>('PUT', '/api/v1/access/identity-provider', {
        kind: 'oidc',
        oidc: { issuer: o.issuer, clientId: o.clientId, ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}) },
        emailDomains: o.domain,
        ...(o.groupsClaim ? { groupsClaim: o.groupsClaim } : {}),
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
    .action(async (o: { metadataUrl?: string; metadataFile?: string; domain: string[]; groupsAttribute?: string }) => {
      const saml = o.metadataFile ? { metadataXml: readFileSync(o.metadataFile, 'utf8') } : { metadataUrl: o.metadataUrl };
      const r = await api<IdentityProvider>('PUT', '/api/v1/access/identity-provider', {
        kind: 'saml',
        saml,
        emailDomains: o.domain,
        ...(o.groupsAttribute ? { groupsClaim: o.groupsAttribute } : {}),
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
}
