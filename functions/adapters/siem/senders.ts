import type { AuditDestination, AuditSenders } from '#domain/audit/stream';
import { AuditSendRefused, type AuditDestinationKind, type AuditSender } from '#domain/audit/stream-ports';
import { openSealed } from '../secret-box.ts';
import { checkSplunk, splunkSender } from './splunk.ts';
import { checkOtlp, otlpSender } from './otlp.ts';
import { checkDatadogDestination, datadogSender } from './datadog.ts';
import { platformSts, s3Sender, tenantRoleCredentials } from './s3.ts';

/** A destination's settings (no secret) and its opened secrets (`token`, `apiKey`, `header:<name>`). */
export type SenderSettings = AuditDestination['settings'];

/** How one kind is reached: its sender, and the check its endpoint passes when it is saved (an issue names the field). */
export interface SenderFactory {
  /** `tenant`: whose entries it sends (a sender writing with a tenant's own role is bound to that tenant) */
  open(settings: SenderSettings, secrets: Record<string, string>, tenant: string): AuditSender;
  /** `secrets`: those the save gave in full (a masked one is left out: the stored one was checked when it was given) */
  check(settings: SenderSettings, secrets: Record<string, string>): Promise<{ field: string; message: string } | null>;
}

/**
 * The one registry of the audit stream's senders, by kind. A kind mapped to null has its schema but no sender in
 * this deployment yet: saving one answers 422 "not available".
 */
export const AUDIT_SENDERS: Record<AuditDestinationKind, SenderFactory | null> = {
  splunk: {
    open: (s, secrets) => splunkSender({ url: s.url!, token: secrets.token!, index: s.index, sourcetype: s.sourcetype, ack: s.ack }),
    check: (s, secrets) => checkSplunk({ url: s.url!, token: secrets.token, ack: s.ack }),
  },
  otlp: {
    open: (s, secrets) => otlpSender({ url: s.url!, headers: headersOf(secrets) }),
    check: (s, secrets) => checkOtlp({ url: s.url!, headers: headersOf(secrets) }),
  },
  datadog: {
    open: (s, secrets) => datadogSender({ site: s.site!, service: s.service, tags: s.tags }, secrets.apiKey!),
    check: async (s, secrets) => {
      // A masked key was checked when it was given: nothing to try.
      if (secrets.apiKey === undefined) return null;
      const why = await checkDatadogDestination({ site: s.site!, service: s.service, tags: s.tags }, secrets.apiKey);
      return why ? { field: 'apiKey', message: why } : null;
    },
  },
  s3: {
    // Written with the tenant's own role (assumed with its external id), never with the platform's credentials.
    open: (s, _secrets, tenant) => s3Sender({ bucket: s.bucket!, prefix: s.prefix, region: s.region }, tenantRoleCredentials(tenant, s.roleArn!, platformSts)),
    // The bucket is the tenant's, reached with its role: its first batch says whether the role and the bucket let it (a dead letter names why).
    check: async () => null,
  },
};

const headersOf = (secrets: Record<string, string>) =>
  Object.fromEntries(Object.entries(secrets).flatMap(([k, v]) => (k.startsWith('header:') ? [[k.slice(7), v]] : [])));

/** The shipper's port: opens a destination's sealed secrets (this function holds the key) and its kind's sender. */
export function auditSenders(): AuditSenders {
  return {
    async open(d: AuditDestination): Promise<AuditSender> {
      const factory = AUDIT_SENDERS[d.kind];
      if (!factory) throw new AuditSendRefused(`${d.kind} destinations are not available in this deployment`);
      const secrets: Record<string, string> = {};
      for (const [k, v] of Object.entries(d.secrets)) secrets[k] = await openSealed(v);
      return factory.open(d.settings, secrets, d.tenant);
    },
  };
}
