import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ManagedUser, Member, UserAdmin } from '../domain/access/ports.ts';
import { ROLES, type Role } from '../domain/access/auth.ts';
import { AlreadyExists, UserNotFound } from '../domain/kernel/errors.ts';
import type { Directory, DirectoryUser } from '../domain/access/ports.ts';
import { DEMO_USERS, type DemoUser } from './issuer.ts';

type LocalUser = DemoUser & { status: string; createdAt: string; signedOutAt?: string };

const isRole = (g: string): g is Role => (ROLES as readonly string[]).includes(g);

/**
 * The local directory: the local token issuer is the identity provider, so its users are the
 * demo users, the users admins invite through the API (kept in `file` when given, so they survive
 * restarts, as Cognito's do), plus everyone it has signed a token for (tests mint users per tenant).
 * The same lookups the Cognito directory answers on AWS, and the same user management
 * (functions/adapters/cognito-users.ts): a user of another tenant is never found.
 */
export class LocalDirectory implements Directory, UserAdmin {
  private readonly users = new Map<string, LocalUser>();
  /** when each user was last signed out, by tenant/sub (a removed user's too) */
  private readonly signedOut = new Map<string, string>();

  constructor(private readonly file?: string) {
    for (const u of Object.values(DEMO_USERS)) this.add(u);
    if (file && existsSync(file)) {
      for (const u of JSON.parse(readFileSync(file, 'utf8')) as LocalUser[]) this.users.set(this.keyOf(u), u);
    }
  }

  private keyOf(u: Pick<DemoUser, 'tenant' | 'sub'>) {
    return `${u.tenant}/${u.sub.toLowerCase()}`;
  }

  private save(): void {
    if (!this.file) return;
    const demo = new Set(Object.values(DEMO_USERS).map((u) => this.keyOf(u)));
    writeFileSync(
      this.file,
      JSON.stringify(
        [...this.users.entries()].filter(([k]) => !demo.has(k)).map(([, u]) => u),
        null,
        2,
      ),
      { mode: 0o600 },
    );
  }

  /** Told by the issuer about every user it signs a token for: a user seen for the first time is added as the token says. */
  add(u: DemoUser): void {
    const known = this.users.get(this.keyOf(u));
    this.users.set(this.keyOf(u), { ...u, status: 'CONFIRMED', createdAt: known?.createdAt ?? new Date().toISOString() });
  }

  /** A user who may sign in locally, by email (the local sign-in page and `stageline login`). */
  signInAs(email: string): DemoUser | null {
    const u = [...this.users.values()].find((x) => x.email.toLowerCase() === email.toLowerCase());
    return u ? { sub: u.sub, email: u.email, tenant: u.tenant, groups: [...u.groups], ...(u.idpGroups ? { idpGroups: [...u.idpGroups] } : {}) } : null;
  }

  /** Everyone who may sign in locally (the sign-in page lists them): by tenant, then email. */
  signInUsers(): DemoUser[] {
    return [...this.users.values()]
      .filter((u) => u.groups.length || u.idpGroups?.length)
      .sort((a, b) => (a.tenant === b.tenant ? a.email.localeCompare(b.email) : a.tenant.localeCompare(b.tenant)))
      .map((u) => ({ sub: u.sub, email: u.email, tenant: u.tenant, groups: [...u.groups], ...(u.idpGroups ? { idpGroups: [...u.idpGroups] } : {}) }));
  }

  private view(u: DemoUser): DirectoryUser {
    return { id: u.sub.toLowerCase(), email: u.email.toLowerCase(), tenant: u.tenant, groups: u.groups };
  }

  private managed(u: LocalUser): ManagedUser {
    return { ...this.view(u), roles: u.groups.filter(isRole), status: u.status, createdAt: u.createdAt };
  }

  async members(tenant: string, groups: string[]): Promise<DirectoryUser[]> {
    const roleGroups = groups.some((g) => isRole(g));
    return [...this.users.values()]
      .filter((u) => u.tenant === tenant && u.groups.some((g) => groups.includes(g) || (roleGroups && g === 'admin')))
      .map((u) => this.view(u));
  }

  async byEmail(tenant: string, email: string): Promise<DirectoryUser | null> {
    const u = [...this.users.values()].find((x) => x.tenant === tenant && x.email.toLowerCase() === email.toLowerCase());
    return u ? this.view(u) : null;
  }

  async statuses(tenant: string, people: Pick<Member, 'id' | 'username'>[]): Promise<Map<string, Pick<ManagedUser, 'status' | 'createdAt'>>> {
    const out = new Map<string, Pick<ManagedUser, 'status' | 'createdAt'>>();
    for (const p of people) {
      const u = this.users.get(`${tenant}/${p.id.toLowerCase()}`);
      if (u) out.set(p.id, { status: u.status, createdAt: u.createdAt });
    }
    return out;
  }

  /**
   * Signs the user out everywhere, as Cognito's AdminUserGlobalSignOut does: the local login
   * (local/oauth.ts) honours no authorization code issued before it (the local stack issues no
   * refresh tokens, so a code is what a session could still turn into a token).
   */
  async signOut(tenant: string, id: string): Promise<void> {
    const u = this.users.get(`${tenant}/${id.toLowerCase()}`);
    if (!u) throw new UserNotFound(id);
    u.signedOutAt = new Date().toISOString();
    this.signedOut.set(this.keyOf(u), u.signedOutAt);
    this.save();
  }

  /** When the user was last signed out (kept after they are removed); undefined when never. */
  signedOutAt(tenant: string, id: string): string | undefined {
    return this.signedOut.get(`${tenant}/${id.toLowerCase()}`);
  }

  async *everyone(): AsyncIterable<ManagedUser> {
    for (const u of [...this.users.values()]) yield this.managed(u);
  }

  async get(tenant: string, id: string): Promise<ManagedUser | null> {
    const u = this.users.get(`${tenant}/${id.toLowerCase()}`);
    return u ? this.managed(u) : null;
  }

  async create(tenant: string, email: string, roles: Role[]): Promise<ManagedUser> {
    if (this.signInAs(email)) throw new AlreadyExists(`${email} already has an account (an email signs in to one tenant)`);
    const u: LocalUser = {
      sub: `u-${randomBytes(8).toString('hex')}`,
      email: email.toLowerCase(),
      tenant,
      groups: [...roles],
      status: 'INVITED',
      createdAt: new Date().toISOString(),
    };
    this.users.set(this.keyOf(u), u);
    this.save();
    return this.managed(u);
  }

  async setRoles(tenant: string, id: string, roles: Role[]): Promise<ManagedUser> {
    const u = this.users.get(`${tenant}/${id.toLowerCase()}`);
    if (!u) throw new UserNotFound(id);
    u.groups = [...u.groups.filter((g) => !isRole(g)), ...roles];
    this.save();
    return this.managed(u);
  }

  async remove(tenant: string, id: string): Promise<void> {
    if (!this.users.delete(`${tenant}/${id.toLowerCase()}`)) throw new UserNotFound(id);
    this.save();
  }
}
