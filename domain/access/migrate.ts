import { auditEntry } from '../audit/audit.ts';
import { refusedByStored } from '../kernel/retry.ts';
import type { With } from '../kernel/deps.ts';
import type { ManagedUser } from './ports.ts';
import { domainOf, memberOf } from './users.ts';

/** What a migration did: tenants given a record, tenants given email domains, people indexed. */
export interface MigrationReport {
  created: string[];
  domains: Record<string, string[]>;
  indexed: number;
}

/**
 * Brings tenants from before the people routes up to date, from the user pool (the local directory
 * locally): every tenant its users name gets its record (so `POST /tenants` refuses its id), with the
 * email domains of its users as the domains it invites from (a record without domains gets them), and
 * every user goes into their tenant's people index. Safe to run again: what is there is left as it is,
 * so a second run changes nothing. `npm start` runs it at every start; a deployment runs it once
 * (scripts/migrate-tenants.ts, docs/operations/deploy-aws.md). A tenant with data and no users at all
 * needs no record to be safe: `POST /tenants` refuses any id with an audit entry.
 */
export async function migrateTenants(deps: With<'users'>): Promise<MigrationReport> {
  const byTenant = new Map<string, ManagedUser[]>();
  for await (const u of deps.users.everyone()) byTenant.set(u.tenant, [...(byTenant.get(u.tenant) ?? []), u]);
  const report: MigrationReport = { created: [], domains: {}, indexed: 0 };
  for (const [tenant, people] of [...byTenant].sort(([a], [b]) => a.localeCompare(b))) {
    const now = deps.clock();
    const domains = [...new Set(people.map((p) => domainOf(p.email)))].sort();
    const audit = (action: string, after: string) =>
      auditEntry(tenant, { actor: 'migration', actorName: 'migration', action, entityType: 'tenant', entityId: tenant, before: null, after }, now);
    const record = await deps.store.getTenant(tenant);
    if (!record) {
      try {
        await deps.store.createTenant(
          { id: tenant, displayName: tenant, createdAt: now.toISOString(), createdBy: 'migration', emailDomains: domains },
          audit('tenant.migrate', domains.join(',')),
        );
        report.created.push(tenant);
        report.domains[tenant] = domains;
      } catch (err) {
        if (!refusedByStored(err)) throw err; // created meanwhile: left as it is (a busy store: tried again)
      }
    } else if (!record.emailDomains) {
      await deps.store.setEmailDomains(tenant, domains, audit('tenant.domains', domains.join(',')));
      report.domains[tenant] = domains;
    }
    // Each domain the tenant holds is claimed for it (one tenant per domain), so no new tenant can take it.
    for (const d of (await deps.store.getTenant(tenant))?.emailDomains ?? []) await deps.store.claimDomain(d, tenant);
    for (const p of people) {
      if (await deps.store.getMember(tenant, p.id)) continue;
      if (await deps.store.indexMember(memberOf(tenant, p, now.toISOString()))) report.indexed++;
    }
  }
  return report;
}
