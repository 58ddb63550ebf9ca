import type { Command } from 'commander';
import type { ScimToken, ScimTokenIssued } from '../answers.ts';
import { api } from '../http.ts';
import { out } from '../output.ts';

/** SCIM provisioning: the tenant's SCIM token, which the identity provider (Entra ID, Okta) sends to /scim/v2 */
export function registerScim(program: Command): void {
  const scim = program.command('scim').description("SCIM provisioning: the tenant's SCIM token for its identity provider (base URL: <api>/scim/v2)");
  const token = scim.command('token').description("the tenant's SCIM token (admin)");
  token
    .command('create')
    .description('make the SCIM token, or replace it (the previous one stops working at once); it is printed once')
    .action(async () => {
      const r = await api<ScimTokenIssued>('POST', '/api/v1/scim/token');
      out(r, () => {
        console.error(`SCIM token of tenant ${r.tenant}${r.rotatedAt ? ' (replaces the previous one)' : ''}; shown this once:`);
        console.log(r.token);
      });
    });
  token
    .command('show')
    .description('when the SCIM token was made and by whom, and the id its changes are audited under (never the token)')
    .action(async () => {
      const r = await api<ScimToken>('GET', '/api/v1/scim/token');
      out(r, () =>
        console.log(
          `SCIM token of tenant ${r.tenant}: created ${r.createdAt} by ${r.createdBy}${r.rotatedAt ? `, replaced ${r.rotatedAt}` : ''}; its changes are audited as scim:${r.id}`,
        ),
      );
    });
  token
    .command('revoke')
    .description('revoke the SCIM token: provisioning stops until a new one is made')
    .action(async () => {
      await api('DELETE', '/api/v1/scim/token');
      console.log('SCIM token revoked');
    });
}
