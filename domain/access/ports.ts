import type { Principal, Role } from './auth.ts';
import type { AuditEntry, Environment } from '../kernel/model.ts';
import type { AppKey } from './model.ts';
import type { ScimStorePort } from './scim-model.ts';
import type { Binding, Bindings } from './bindings.ts';
import type { IdentityProviderRepo } from './federation.ts';
import type { GroupMapEntry, GroupMapping } from './group-mapping.ts';

/** A tenant: its id is the `custom:tenant_id` every one of its users carries. */
export interface Tenant {
  id: string;
  displayName: string;
  createdAt: string;
  createdBy: string;
  /**
   * The email domains the tenant's admins invite people from (lower case). An address of any other
   * domain is refused with one answer, whoever holds it (domain/access/users.ts): no tenant learns
   * whether an address exists elsewhere or binds another organisation's address.
   */
  emailDomains?: string[];
}

/** One person of a tenant as the tenant's people index holds them: written with each change of who is who. */
export interface Member {
  tenant: string;
  /** the subject id, lower case (as principals carry it) */
  id: string;
  email: string;
  roles: Role[];
  /** the identity provider's own name for them (Cognito's Username), for the calls that take it */
  username?: string;
  createdAt: string;
}

/**
 * The table's record of tenants (one item each: a tenant is created once) and of their people: the
 * per-tenant index of who is who (members), so listing a tenant's people and counting its admins cost
 * that tenant's people, never the whole user pool's; and per person the second before which their
 * tokens no longer count (set when they are removed or lose a role).
 */
export interface TenantRepo extends IdentityProviderRepo {
  /** Creates the tenant with its audit entry; WriteConflict 'exists' when it already exists. */
  createTenant(tenant: Tenant, audit: AuditEntry): Promise<void>;
  getTenant(id: string): Promise<Tenant | null>;
  /** Sets the email domains of a tenant that exists (WriteConflict 'unknown' otherwise), with its audit entry. */
  setEmailDomains(id: string, domains: string[], audit: AuditEntry): Promise<void>;
  /** Whether the id is taken: a tenant record, a person in its index, or any audit entry (every change writes one). */
  tenantInUse(id: string): Promise<boolean>;
  /** Claims an email domain for a tenant (a conditional write: one tenant per domain): null when it is the tenant's now, else the tenant that holds it. */
  claimDomain(domain: string, tenant: string): Promise<string | null>;
  /** Gives a domain up, if this tenant holds it. */
  releaseDomain(domain: string, tenant: string): Promise<void>;
  /**
   * Writes a person into the index (created or replaced) with the audit entry of the change (none: the
   * migration indexing people who are there already); with `notBefore` (epoch seconds) their tokens
   * issued before it stop counting (a later second already set stays). With `guard`, the write happens only
   * if the person `guard.admin` holds the admin role in the index when it commits (else WriteConflict
   * 'version'): the tenant keeps an admin however many admins change each other at once.
   */
  putMember(member: Member, audit: AuditEntry | null, notBefore?: number, guard?: AdminGuard): Promise<void>;
  /**
   * Writes a person the directory has into the index when the index lacks them (people from before the
   * index), unless they were taken out of it: a removal leaves their "not before" mark, and a person with
   * one is never put back this way (a removal racing with their own change must not undo itself). False
   * when refused for that reason; true when they are in the index now (written here, or already there).
   */
  indexMember(member: Member): Promise<boolean>;
  /** Takes a person out of the index with the audit entry; their tokens issued before `notBefore` stop counting. `guard` as for putMember. */
  removeMember(tenant: string, id: string, audit: AuditEntry, notBefore: number, guard?: AdminGuard): Promise<void>;
  getMember(tenant: string, id: string): Promise<Member | null>;
  /** The tenant's people, by id. */
  listMembers(tenant: string): Promise<Member[]>;
  /** The second (epoch) before which this person's tokens are refused on every change; null when never set. */
  notBefore(tenant: string, id: string): Promise<number | null>;
  /** The tenant's role bindings (domain/access/bindings.ts), one item with the people; null when never saved. */
  getBindings(tenant: string): Promise<Bindings | null>;
  /** The tenant's group mapping (domain/access/group-mapping.ts), one item the pre-token trigger reads whole; null when never saved. */
  getGroupMapping(tenant: string): Promise<GroupMapping | null>;
}

/** The tenant's role bindings: one item (bounded: MAX_BINDINGS), replaced whole, conditioned on the version read (null: none yet). */
export type AccessOp =
  | { kind: 'accessBindings'; bindings: Binding[]; expectedVersion: number | null }
  /** The tenant's group mapping: one item (bounded: MAX_GROUP_MAP_ENTRIES), replaced whole, conditioned on the version read. */
  | { kind: 'groupMapping'; entries: GroupMapEntry[]; expectedVersion: number | null };

/** A user as the identity provider knows them, with the roles Stageline reads from their groups. */
export interface ManagedUser extends DirectoryUser {
  roles: Role[];
  /** the identity provider's own name for them (Cognito's Username), kept in the people index */
  username?: string;
  /** e.g. FORCE_CHANGE_PASSWORD until an invited user signs in the first time (Cognito's UserStatus) */
  status: string;
  createdAt?: string;
}

/**
 * The identity provider's user management, confined to one tenant per call: the Cognito user pool on
 * AWS (AdminCreateUser sends the invitation; groups are roles; `custom:tenant_id` the tenant), the
 * local directory locally. A user of another tenant is never found, changed or removed. Which people
 * a tenant has is the table's people index (TenantRepo); this port is asked about them one by one.
 */
export interface UserAdmin {
  /** The user with their current groups and roles: what the people routes authorize the caller against. */
  get(tenant: string, id: string): Promise<ManagedUser | null>;
  /** The sign-in status of these people of the tenant (by id); one missing from the answer has no account any more. */
  statuses(tenant: string, people: Pick<Member, 'id' | 'username'>[]): Promise<Map<string, Pick<ManagedUser, 'status' | 'createdAt'>>>;
  /** Creates and invites a user; AlreadyExists when the email is taken (in any tenant: an email is one sign-in). */
  create(tenant: string, email: string, roles: Role[]): Promise<ManagedUser>;
  /** Replaces the user's role groups (other groups they are in stay). */
  setRoles(tenant: string, id: string, roles: Role[]): Promise<ManagedUser>;
  remove(tenant: string, id: string): Promise<void>;
  /** Signs the user out everywhere: no refresh token of theirs gives a new token (Cognito's AdminUserGlobalSignOut). */
  signOut(tenant: string, id: string): Promise<void>;
  /** Every user of the pool with their role groups, tenant by tenant as they come (the migration that indexes them). */
  everyone(): AsyncIterable<ManagedUser>;
}

/** App keys (domain/access/app-keys.ts): the record holds hashes only. */
export interface AppKeyStorePort {
  /** Creates (expectedVersion null) or changes a key, with its audit entry, in one transaction. */
  putAppKey(key: AppKey, expectedVersion: number | null, audit: AuditEntry): Promise<void>;
  getAppKey(tenant: string, id: string): Promise<AppKey | null>;
  listAppKeys(tenant: string): Promise<AppKey[]>;
  /**
   * One consistent read request for both: an app key's record (when `keyId` is given) and the environment it reads.
   * `targets: false`: the read names no target, so the environment's targets are read only when the key is scoped to one.
   * `target` (or the key's own target): the environment comes with that target alone, read from its page (O(1)).
   */
  appKeyAndEnvironment(
    tenant: string,
    keyId: string | null,
    env: string,
    opts?: { targets?: boolean; target?: string },
  ): Promise<{ key: AppKey | null; env: Environment | null }>;
  /** Writes the key's last-used time (never moves it back). */
  touchAppKey(tenant: string, id: string, at: string): Promise<void>;
}

/** Who the users are (Cognito on AWS, the local token issuer locally): approvers to notify, and who a link or a Slack user acts as. */
export interface DirectoryUser {
  /** the subject id, lower case (as principals carry it) */
  id: string;
  email: string;
  tenant: string;
  groups: string[];
}

export interface Directory {
  /** users of the tenant in any of these groups */
  members(tenant: string, groups: string[]): Promise<DirectoryUser[]>;
  byEmail(tenant: string, email: string): Promise<DirectoryUser | null>;
}

/** A write's condition: this person (the acting admin) still holds the admin role in the tenant's people index. */
export interface AdminGuard {
  admin: string;
}

/** The access context's part of what a use case is given (domain/kernel/deps.ts): tenants, people and app keys in the store; who the users are and their management; the caller's principal. */
declare module '../kernel/deps.ts' {
  interface Store extends AppKeyStorePort, TenantRepo, ScimStorePort {}
  interface WriteOps {
    access: AccessOp;
  }
  interface Ports {
    /** who the users are: the notifier's and the review page's */
    directory: Directory;
    /** user management in the identity provider (the users and tenants routes only; domain/access) */
    users: UserAdmin;
  }
  interface Ctx {
    principal: Principal;
  }
}
