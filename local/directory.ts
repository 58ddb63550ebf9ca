import type { Directory, DirectoryUser } from '../domain/ports.ts';
import { DEMO_USERS, type DemoUser } from './issuer.ts';

/**
 * The local directory: the local token issuer is the identity provider, so its users are the
 * demo users plus everyone it has signed a token for (tests mint users per tenant). The same
 * lookups the Cognito directory answers on AWS.
 */
export class LocalDirectory implements Directory {
  private readonly users = new Map<string, DemoUser>();

  constructor() {
    for (const u of Object.values(DEMO_USERS)) this.add(u);
  }

  add(u: DemoUser): void {
    this.users.set(`${u.tenant}/${u.sub.toLowerCase()}`, u);
  }

  private view(u: DemoUser): DirectoryUser {
    return { id: u.sub.toLowerCase(), email: u.email.toLowerCase(), tenant: u.tenant, groups: u.groups };
  }

  async members(tenant: string, groups: string[]): Promise<DirectoryUser[]> {
    const roleGroups = groups.some((g) => ['viewer', 'deployer', 'approver', 'admin'].includes(g));
    return [...this.users.values()]
      .filter((u) => u.tenant === tenant && u.groups.some((g) => groups.includes(g) || (roleGroups && g === 'admin')))
      .map((u) => this.view(u));
  }

  async byEmail(tenant: string, email: string): Promise<DirectoryUser | null> {
    const u = [...this.users.values()].find((x) => x.tenant === tenant && x.email.toLowerCase() === email.toLowerCase());
    return u ? this.view(u) : null;
  }
}
