import type { AuditEntry } from '../kernel/model.ts';
import type { AppKeySecret } from './model.ts';

/** SCIM provisioning's records and their store (the rules: domain/access/scim.ts). */

/** The tenant's SCIM token: hashes of its secret only. */
export interface ScimToken {
  tenant: string;
  secrets: AppKeySecret[];
  createdAt: string;
  createdBy: string;
  rotatedAt?: string;
  version: number;
}

/** A provisioned user: the SCIM attributes as the identity provider wrote them (validated by the SCIM schema), and what they are here. */
export interface ScimUser {
  tenant: string;
  kind: 'User';
  /** the SCIM id (stable while the person is deactivated and activated again) */
  id: string;
  userName: string;
  active: boolean;
  /** the directory user while active (their subject id, lower case) */
  memberId?: string;
  /** the address they sign in with (lower case), as of the last write: no two users of a tenant share it */
  email?: string;
  /** every other attribute the client sent (externalId, name, displayName, emails, …) */
  attributes: Record<string, unknown>;
  created: string;
  lastModified: string;
  version: number;
}

export interface ScimGroup {
  tenant: string;
  kind: 'Group';
  id: string;
  displayName: string;
  /** SCIM user ids */
  members: string[];
  attributes: Record<string, unknown>;
  created: string;
  lastModified: string;
  version: number;
}

export type ScimRecord = ScimUser | ScimGroup;

/**
 * What no two records of a tenant share, without regard to case (RFC 7643: userName is caseExact=false):
 * a user's userName and sign-in address, a group's displayName. The store claims each in the same
 * write as the record, on a condition, so two concurrent creates of one name give one record.
 */
export function uniquesOf(r: ScimRecord): string[] {
  if (r.kind === 'Group') return [`Group#displayName#${r.displayName.toLowerCase()}`];
  // A record from before `email` was kept: its address as its attributes give it (as it was then kept unique).
  const email = r.email ?? addressOf({ userName: r.userName, emails: r.attributes?.emails });
  return [`User#userName#${r.userName.toLowerCase()}`, ...(email ? [`User#email#${email.toLowerCase()}`] : [])];
}

/** The address a SCIM user signs in with: the primary (or first) email, else the userName when it is one; null when that is no address. */
export function addressOf(input: { userName: string; emails?: unknown }): string | null {
  const mails = (Array.isArray(input.emails) ? (input.emails as { value?: unknown; primary?: unknown }[]) : []).filter((e) => typeof e?.value === 'string');
  const chosen = (mails.find((e) => e.primary) ?? mails[0])?.value ?? input.userName;
  const address = String(chosen).trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address) ? address : null;
}

/** Where SCIM records and the token are kept (functions/adapters/store/scim.ts). */
export interface ScimStorePort {
  /** Creates (expectedVersion null) or replaces the token, with its audit entry. */
  putScimToken(token: ScimToken, expectedVersion: number | null, audit: AuditEntry): Promise<void>;
  getScimToken(tenant: string): Promise<ScimToken | null>;
  deleteScimToken(tenant: string, audit: AuditEntry): Promise<void>;
  /**
   * Creates (expectedVersion null) or changes a record (`previous`: the version it replaces), with its audit entry
   * and its claims on uniquesOf (WriteConflict 'exists' when another record holds one; the previous ones it no longer has are released).
   */
  putScimRecord(record: ScimRecord, expectedVersion: number | null, audit: AuditEntry, previous?: ScimRecord): Promise<void>;
  getScimRecord(tenant: string, kind: ScimRecord['kind'], id: string): Promise<ScimRecord | null>;
  listScimRecords(tenant: string, kind: ScimRecord['kind']): Promise<ScimRecord[]>;
  /** Deletes a record and releases its claims. */
  deleteScimRecord(record: ScimRecord, audit: AuditEntry): Promise<void>;
  /** Whether every record of the tenant holds its claims (false until markScimClaimsComplete: records from before claims were kept hold none). */
  scimClaimsComplete(tenant: string): Promise<boolean>;
  /** Gives a record one of its claims (WriteConflict 'version' when the record changed or went, 'exists' when another record holds it). */
  claimScimValue(record: ScimRecord, value: string): Promise<void>;
  /** The id of the record holding each claim, or null. */
  scimClaimHolders(tenant: string, values: string[]): Promise<(string | null)[]>;
  markScimClaimsComplete(tenant: string): Promise<void>;
}
