/**
 * A small evaluator of the part of KMS's authorization that Stageline's keys use, so a test can ask "may this principal
 * make this call on this key?" of a key policy (the adapter's, the template's) and the caller's IAM statements (the
 * template's). Neither moto nor any emulator evaluates key policies: this is the only place they are checked before AWS.
 *
 * What it models (AWS KMS Developer Guide, "Key policies" and "Default key policy"; IAM User Guide, "Policy evaluation
 * logic"), for a caller in the key's own account:
 * - Only Allow statements. A Deny, a NotAction, a NotPrincipal or a NotResource is not evaluated: the evaluator throws
 *   rather than answer wrongly (teach it first, if a policy needs one).
 * - A key policy statement applies to the caller when its Principal is `*`, or an AWS entry is the caller's own ARN.
 *   An entry naming the account (its root ARN, or the bare 12-digit account id) does not allow the caller by itself: it
 *   lets the account's IAM policies allow the action ("delegation to IAM"). So a call is allowed when the key policy
 *   allows the caller directly, or the key policy allows the account and one of the caller's IAM statements allows it
 *   too (its Action, its Resource naming the key, its Conditions). Without the key policy, no IAM policy counts.
 * - Action patterns: `*` and `?` wildcards, case-insensitive, a service prefix (`kms:Get*`, `kms:*`, `*`).
 * - Resource: key policies say `*` (the key itself); IAM statements name the key's ARN, with wildcards. Template values
 *   are compared as flat text (test/support/cdk-template.ts `flat`): `<AWS::AccountId>`, `<Id.Arn>`.
 * - Conditions: StringEquals, StringLike and StringNotEquals, each key against the request's context value; every
 *   operator and every key of a statement must hold (AND), any of a key's values may match (OR). A key the request has
 *   no value for fails StringEquals/StringLike and holds for StringNotEquals, as in IAM. Other operators throw.
 * - KMS's lockout check (CreateKey and PutKeyPolicy with a policy, unless BypassPolicyLockoutSafetyCheck): the new
 *   policy must let the caller make a later PutKeyPolicy, by the policy itself or by the account and the caller's IAM.
 *   A CreateKey without a policy gets KMS's default key policy (the account: kms:*) and is not checked.
 */

export interface Statement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  [other: string]: unknown;
}

export interface Caller {
  /** the caller's ARN (a role's, as a principal is named in a policy) */
  arn: string;
  /** its account's root ARN, when its ARN does not show it (a template's `<Role.Arn>`) */
  account?: string;
  /** the caller's IAM statements (identity-based policies) */
  iam: Statement[];
}

export interface KmsRequest {
  action: string;
  /** the key's ARN, as IAM statements name it */
  key: string;
  /** the condition keys the request carries and their values (kms:SigningAlgorithm, aws:ResourceTag/…) */
  context?: Record<string, string | undefined>;
}

const UNSUPPORTED = ['NotAction', 'NotPrincipal', 'NotResource'] as const;
const OPERATORS = ['StringEquals', 'StringLike', 'StringNotEquals'] as const;

/** A pattern with `*` (any run) and `?` (one character) as a regular expression, whole string. */
const wildcard = (pattern: string, ignoreCase: boolean) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    ignoreCase ? 'i' : '',
  );

/** The account root ARN and id of an ARN (`arn:<partition>:<service>:<region>:<account>:…`); a template's `<AWS::AccountId>` is a part. */
export const accountOf = (arn: string) => {
  const part = '(<[^>]+>|[^:]*)';
  const m = new RegExp(`^arn:${part}:${part}:${part}:${part}:`).exec(arn);
  if (!m) throw new Error(`not an ARN with an account: ${arn}`);
  return { root: `arn:${m[1]}:iam::${m[4]}:root`, id: m[4]! };
};

const list = (v: unknown): string[] => (v === undefined ? [] : [v].flat().map(String));

/** Refuses what the evaluator does not model, so a policy it cannot read is never called allowed or denied. */
function supported(s: Statement): void {
  if (s.Effect !== 'Allow') throw new Error(`the key policy evaluator models Allow statements only, not ${JSON.stringify(s.Effect)} (${s.Sid ?? ''})`);
  for (const k of UNSUPPORTED) if (k in s) throw new Error(`the key policy evaluator does not model ${k} (${s.Sid ?? ''})`);
}

export const actionMatches = (s: Statement, action: string) => list(s.Action).some((a) => wildcard(a, true).test(action));

/** Do all of a statement's conditions hold for the request's context? */
export function conditionsHold(s: Statement, context: Record<string, string | undefined> = {}): boolean {
  for (const [operator, keys] of Object.entries(s.Condition ?? {})) {
    if (!(OPERATORS as readonly string[]).includes(operator)) throw new Error(`the key policy evaluator does not model the condition operator ${operator}`);
    for (const [key, values] of Object.entries(keys)) {
      const actual = context[key];
      const matches = actual !== undefined && list(values).some((v) => (operator === 'StringLike' ? wildcard(v, false).test(actual) : v === actual));
      if (operator === 'StringNotEquals' ? matches : !matches) return false;
    }
  }
  return true;
}

/** Whom a key policy statement names: the caller itself, the caller's account (delegation to IAM), or neither. */
function principalOf(s: Statement, caller: Caller): 'caller' | 'account' | undefined {
  if (s.Principal === '*') return 'caller';
  const aws = list((s.Principal as { AWS?: unknown } | undefined)?.AWS);
  if (aws.includes('*') || aws.includes(caller.arn)) return 'caller';
  const account = caller.account ? { root: caller.account, id: accountOf(caller.account).id } : accountOf(caller.arn);
  if (aws.some((p) => p === account.root || p === account.id)) return 'account';
  return undefined;
}

/** Does one of the caller's IAM statements allow the request (action, the key as its resource, conditions)? */
export function iamAllows(iam: Statement[], r: KmsRequest): boolean {
  return iam.some((s) => {
    supported(s);
    return actionMatches(s, r.action) && list(s.Resource).some((res) => wildcard(res, false).test(r.key)) && conditionsHold(s, r.context);
  });
}

/** Why a call is allowed ('key policy': the key policy names the caller; 'IAM': the key policy delegates and IAM allows), or null. */
export function kmsAllows(keyPolicy: Statement[], caller: Caller, r: KmsRequest): 'key policy' | 'IAM' | null {
  let delegated = false;
  for (const s of keyPolicy) {
    supported(s);
    if (!actionMatches(s, r.action) || !conditionsHold(s, r.context)) continue;
    const who = principalOf(s, caller);
    if (who === 'caller') return 'key policy';
    if (who === 'account') delegated = true;
  }
  return delegated && iamAllows(caller.iam, r) ? 'IAM' : null;
}

/**
 * KMS's lockout check of a key policy sent by `caller` (CreateKey or PutKeyPolicy): null when it passes, else the
 * reason KMS would refuse it (MalformedPolicyDocumentException). Setting BypassPolicyLockoutSafetyCheck is refused
 * here too: Stageline never sets it.
 */
export function lockoutRefusal(policy: Statement[] | undefined, caller: Caller, key: string, bypass?: unknown): string | null {
  if (bypass) return 'BypassPolicyLockoutSafetyCheck is set';
  if (policy === undefined) return null;
  return kmsAllows(policy, caller, { action: 'kms:PutKeyPolicy', key })
    ? null
    : `the new key policy will not allow ${caller.arn} to update the key policy in the future (neither names it for kms:PutKeyPolicy nor delegates to an IAM policy of its that allows it)`;
}
