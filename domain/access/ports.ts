import type { Role } from './auth.ts';
import type { AuditEntry, Environment } from '../kernel/model.ts';
import type { AppKey } from './model.ts';

/** A tenant: its id is the `custom:tenant_id` every one of its users carries. */
export interface Tenant {
  id: string;
  displayName: string;
  createdAt: string;
  createdBy: string;
}

/** The table's record of tenants (one item each): a tenant is created once. */
export interface TenantRepo {
  /** Creates the tenant with its audit entry; WriteConflict 'exists' when it already exists. */
  createTenant(tenant: Tenant, audit: AuditEntry): Promise<void>;
  getTenant(id: string): Promise<Tenant | null>;
}

/** A user as the identity provider knows them, with the roles Stageline reads from their groups. */
export interface ManagedUser extends DirectoryUser {
  roles: Role[];
  /** e.g. FORCE_CHANGE_PASSWORD until an invited user signs in the first time (Cognito's UserStatus) */
  status: string;
  createdAt?: string;
}

/**
 * The identity provider's user management, confined to one tenant per call: the Cognito user pool on
 * AWS (AdminCreateUser sends the invitation; groups are roles; `custom:tenant_id` the tenant), the
 * local directory locally. A user of another tenant is never found, changed or removed.
 */
export interface UserAdmin {
  list(tenant: string): Promise<ManagedUser[]>;
  get(tenant: string, id: string): Promise<ManagedUser | null>;
  /** Creates and invites a user; AlreadyExists when the email is taken (in any tenant: an email is one sign-in). */
  create(tenant: string, email: string, roles: Role[]): Promise<ManagedUser>;
  /** Replaces the user's role groups (other groups they are in stay). */
  setRoles(tenant: string, id: string, roles: Role[]): Promise<ManagedUser>;
  remove(tenant: string, id: string): Promise<void>;
}

/** App keys (domain/access/app-keys.ts): the record holds hashes only. */
export interface AppKeyStorePort {
  /** Creates (expectedVersion null) or changes a key, with its audit entry, in one transaction. */
  putAppKey(key: AppKey, expectedVersion: number | null, audit: AuditEntry): Promise<void>;
  getAppKey(tenant: string, id: string): Promise<AppKey | null>;
  listAppKeys(tenant: string): Promise<AppKey[]>;
  /** One consistent read request for both: an app key's record (when `keyId` is given) and the environment it reads. */
  appKeyAndEnvironment(tenant: string, keyId: string | null, env: string): Promise<{ key: AppKey | null; env: Environment | null }>;
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
