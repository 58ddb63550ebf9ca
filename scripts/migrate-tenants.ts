import { migrateTenants } from '#domain/access/migrate';
import { userAdminFromEnv } from '../functions/adapters/cognito-users.ts';
import { compose } from '../functions/http/deps.ts';

/**
 * `npm run migrate-tenants` (docs/operations/deploy-aws.md): once per deployment that has users from
 * before the people routes, with the stack's outputs as TABLE_NAME and USER_POOL_ID and credentials
 * that may read the pool and write the table. Every tenant its users name gets its record (so
 * `POST /tenants` refuses its id) with its users' email domains, and every user goes into their
 * tenant's people index (domain/access/migrate.ts). Running it again changes nothing.
 */
const report = await migrateTenants(compose({ users: userAdminFromEnv }).deps());
for (const [tenant, domains] of Object.entries(report.domains))
  console.log(`${report.created.includes(tenant) ? 'created' : 'domains set for'} tenant ${tenant}: invites from ${domains.join(', ')}`);
console.log(`${report.created.length} tenant record(s) created, ${report.indexed} user(s) indexed; a second run changes nothing`);
