import { GetKeyPolicyCommand, KMSClient, ListAliasesCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { fileURLToPath } from 'node:url';
import { accountRootOf, tenantKeyPolicy } from '../functions/adapters/kms-s3-anchor.ts';

/**
 * `npm run repair-tenant-keys` (docs/operations/deploy-aws.md): puts today's key policy (KMS's default, the account
 * root allowed kms:*: functions/adapters/kms-s3-anchor.ts tenantKeyPolicy) on every tenant attestation key made with
 * the former one, which named the stream consumer's role of the day as its one signer: a deploy that replaced that
 * role left such a key unable to sign. Only keys found by an alias under the stack's prefix
 * (`alias/<stack name in lower case>/tenant/`) whose policy is the former one are changed; a key a tenant brought is
 * named and left as it is. Without `--apply` it only says what it would change. Run it with credentials allowed
 * kms:ListAliases, kms:GetKeyPolicy and kms:PutKeyPolicy (an administrator of the account: the former policy lets the
 * account's IAM policies change it). Running it again changes nothing.
 */

/** The statements of the former tenant key policy, by Sid: a key carrying them was made by the stream consumer before. */
const FORMER_SIDS = ['AccountAdministersTheKeyButCannotSign', 'AccountVerifiesAttestations', 'StreamConsumerSignsAttestations'];

export interface RepairReport {
  /** key policies put (or, without apply, that would be) */
  repaired: { alias: string; keyId: string }[];
  /** keys whose policy is already today's */
  current: string[];
  /** keys under the prefix with a policy of another shape (brought by a tenant): left as they are */
  foreign: string[];
}

export async function repairTenantKeyPolicies(kms: KMSClient, aliasPrefix: string, apply: boolean): Promise<RepairReport> {
  const report: RepairReport = { repaired: [], current: [], foreign: [] };
  let marker: string | undefined;
  do {
    const page = await kms.send(new ListAliasesCommand({ ...(marker ? { Marker: marker } : {}) }));
    for (const alias of page.Aliases ?? []) {
      if (!alias.AliasName?.startsWith(aliasPrefix) || !alias.TargetKeyId || !alias.AliasArn) continue;
      const wanted = tenantKeyPolicy(accountRootOf(alias.AliasArn));
      const { Policy } = await kms.send(new GetKeyPolicyCommand({ KeyId: alias.TargetKeyId, PolicyName: 'default' }));
      const policy = JSON.parse(Policy ?? '{}') as { Statement?: { Sid?: string }[] };
      const sids = (policy.Statement ?? []).map((s) => s.Sid ?? '');
      if (JSON.stringify(policy.Statement) === JSON.stringify(wanted.Statement)) report.current.push(alias.AliasName);
      else if (sids.length === FORMER_SIDS.length && FORMER_SIDS.every((sid) => sids.includes(sid))) {
        // No BypassPolicyLockoutSafetyCheck: the new policy lets the account (so this caller, through IAM) change it again.
        if (apply) await kms.send(new PutKeyPolicyCommand({ KeyId: alias.TargetKeyId, PolicyName: 'default', Policy: JSON.stringify(wanted) }));
        report.repaired.push({ alias: alias.AliasName, keyId: alias.TargetKeyId });
      } else report.foreign.push(alias.AliasName);
    }
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return report;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const apply = process.argv.includes('--apply');
  const prefix = process.env.ATTESTATION_KEY_ALIAS_PREFIX ?? 'alias/stageline/tenant/';
  const report = await repairTenantKeyPolicies(new KMSClient({}), prefix, apply);
  for (const r of report.repaired) console.log(`${apply ? 'repaired' : 'would repair'} ${r.alias} (${r.keyId})`);
  for (const a of report.foreign) console.log(`left as it is (not a key the stream consumer made): ${a}`);
  console.log(
    `${report.repaired.length} key polic${report.repaired.length === 1 ? 'y' : 'ies'} ${apply ? 'put' : 'to put (run again with --apply)'}, ${report.current.length} already current, ${report.foreign.length} left as they are`,
  );
}
