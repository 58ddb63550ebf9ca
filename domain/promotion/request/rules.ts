import { randomBytes } from 'node:crypto';
import { auditEntry } from '../../audit/audit.ts';
import { digestOf } from '../../kernel/canonical.ts';
import { AlreadyExists, RuleNotFound, RuleViolation, VersionConflict } from '../../kernel/errors.ts';
import { lineOf } from '../terms/policy.ts';
import type { Ctx, Deps, WriteOp } from '../../kernel/deps.ts';
import { retryOnConflict } from '../../kernel/retry.ts';
import type { Rule } from '../../kernel/promotion-model.ts';
import type { CreateRule, UpdateRule } from '../../kernel/promotion-schemas.ts';

/**
 * Promotion rules and approval policies are one model:
 * a rule per source → target pair that says who must approve, how many,
 * for how long, and whether (and when) to promote without a person.
 */
async function write(deps: Deps, ctx: Ctx, op: WriteOp | WriteOp[], action: string, id: string, before: Rule | null, after: Rule | null) {
  const { tenant } = ctx.principal;
  const audit = auditEntry(
    tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action,
      entityType: 'rule',
      entityId: id,
      before: before ? digestOf(before) : null,
      after: after ? digestOf(after) : null,
      requestId: ctx.requestId,
    },
    deps.clock(),
  );
  await deps.store.commit(tenant, [...(Array.isArray(op) ? op : [op]), { kind: 'audit', entry: audit }]);
}

interface RuleChange {
  ops: WriteOp[];
  action: string;
  id: string;
  after: Rule | null;
}

/**
 * The rules' one write helper: load (when `id` names a rule; 404 when it is gone) → decide → its
 * items and the audit entry in one transaction, all again on a fresh read when the conditional
 * write lost a race. Answers the rule as written (null when deleted).
 */
function writeRule(deps: Deps, ctx: Ctx, id: null, decide: () => Promise<RuleChange>): Promise<Rule>;
function writeRule(deps: Deps, ctx: Ctx, id: string, decide: (cur: Rule) => Promise<RuleChange>): Promise<Rule | null>;
async function writeRule(deps: Deps, ctx: Ctx, id: string | null, decide: (cur: Rule) => Promise<RuleChange>): Promise<Rule | null> {
  return retryOnConflict(deps.tunables, async () => {
    const cur = id ? await deps.store.getRule(ctx.principal.tenant, id) : null;
    if (id && !cur) throw new RuleNotFound(id);
    const d = await decide(cur!);
    await write(deps, ctx, d.ops, d.action, d.id, cur, d.after);
    return d.after;
  });
}

/**
 * A rule must name environments of the line (422 lists them) and be the only rule of its
 * source → target pair (409 names the one there is), so which rule applies is never a guess.
 */
async function checkPair(deps: Deps, tenant: string, r: Pick<Rule, 'sourceEnvironment' | 'targetEnvironment'>, self: string | null): Promise<void> {
  const [envs, rules] = await Promise.all([deps.store.listEnvironments(tenant), deps.store.listRules(tenant)]);
  const known = lineOf(envs).map((e) => e.name);
  const unknown = [r.sourceEnvironment, r.targetEnvironment].filter((n) => !known.includes(n));
  if (unknown.length) {
    throw new RuleViolation(
      `Unknown environment${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(' and ')}; the line is ${known.join(' → ') || '(empty: create environments first)'}`,
      {
        unknown,
        known,
      },
    );
  }
  const twin = rules.find((x) => x.id !== self && x.sourceEnvironment === r.sourceEnvironment && x.targetEnvironment === r.targetEnvironment);
  if (twin) {
    throw new AlreadyExists(
      `Rule ${twin.id} ('${twin.name}') already governs ${r.sourceEnvironment} → ${r.targetEnvironment}; update it (PUT) instead of adding a second one`,
      { ruleId: twin.id },
    );
  }
}

const pairOp = (r: Rule, claim: boolean): WriteOp => ({ kind: 'rulePair', source: r.sourceEnvironment, target: r.targetEnvironment, ruleId: r.id, claim });

export async function createRule(deps: Deps, ctx: Ctx, input: CreateRule): Promise<Rule> {
  const now = deps.clock().toISOString();
  const rule: Rule = {
    ...input,
    id: `rule_${randomBytes(6).toString('hex')}`,
    version: 1,
    createdAt: now,
    createdBy: ctx.principal.name,
    updatedAt: now,
    updatedBy: ctx.principal.name,
  };
  return writeRule(deps, ctx, null, async () => {
    await checkPair(deps, ctx.principal.tenant, rule, null);
    return { ops: [{ kind: 'rule', rule, expectedVersion: null }, pairOp(rule, true)], action: 'rule.create', id: rule.id, after: rule };
  });
}

export async function getRule(deps: Deps, ctx: Ctx, id: string): Promise<Rule> {
  const r = await deps.store.getRule(ctx.principal.tenant, id);
  if (!r) throw new RuleNotFound(id);
  return r;
}

export async function listRules(deps: Deps, ctx: Ctx): Promise<Rule[]> {
  return (await deps.store.listRules(ctx.principal.tenant)).sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
}

export async function updateRule(deps: Deps, ctx: Ctx, id: string, input: UpdateRule): Promise<Rule> {
  const updated = await writeRule(deps, ctx, id, async (cur) => {
    if (cur.version !== input.version)
      throw new VersionConflict(`Rule ${id} is at version ${cur.version}, not ${input.version}`, { currentVersion: cur.version });
    const { version: _v, ...changes } = input;
    const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
    const next: Rule = { ...cur, ...defined, version: cur.version + 1, updatedAt: deps.clock().toISOString(), updatedBy: ctx.principal.name };
    if (next.requiresApproval && next.requiredApprovers < 1) next.requiredApprovers = 1;
    const moves = next.sourceEnvironment !== cur.sourceEnvironment || next.targetEnvironment !== cur.targetEnvironment;
    if (moves) await checkPair(deps, ctx.principal.tenant, next, id);
    return {
      ops: [{ kind: 'rule', rule: next, expectedVersion: cur.version }, ...(moves ? [pairOp(cur, false), pairOp(next, true)] : [])],
      action: 'rule.update',
      id,
      after: next,
    };
  });
  return updated!;
}

export async function deleteRule(deps: Deps, ctx: Ctx, id: string): Promise<void> {
  await writeRule(deps, ctx, id, async (cur) => ({
    ops: [{ kind: 'deleteRule', id, expectedVersion: cur.version }, pairOp(cur, false)],
    action: 'rule.delete',
    id,
    after: null,
  }));
}
