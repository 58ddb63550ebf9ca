import { randomBytes } from 'node:crypto';
import { auditEntry } from '../audit.ts';
import { digestOf } from '../canonical.ts';
import { AlreadyExists, RuleNotFound, RuleViolation, VersionConflict } from '../errors.ts';
import { lineOf } from './policy.ts';
import type { Ctx, Deps, WriteOp } from '../ports.ts';
import { retryOnConflict } from '../retry.ts';
import type { Rule } from './model.ts';
import type { CreateRule, UpdateRule } from './schemas.ts';

/**
 * Promotion rules (seed 002) and approval policies (seed 004) are one model:
 * a rule per source → target pair that says who must approve, how many,
 * for how long, and whether (and when) to promote without a person.
 */
async function write(deps: Deps, ctx: Ctx, op: WriteOp | WriteOp[], action: string, id: string, before: Rule | null, after: Rule | null) {
  const { tenant } = ctx.principal;
  const audit = auditEntry(tenant, {
    actor: ctx.principal.id,
    actorName: ctx.principal.name,
    action,
    entityType: 'rule',
    entityId: id,
    before: before ? digestOf(before) : null,
    after: after ? digestOf(after) : null,
    requestId: ctx.requestId,
  }, deps.clock());
  await deps.store.commit(tenant, [...(Array.isArray(op) ? op : [op]), { kind: 'audit', entry: audit }]);
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
    throw new RuleViolation(`Unknown environment${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(' and ')}; the line is ${known.join(' → ') || '(empty: create environments first)'}`, {
      unknown,
      known,
    });
  }
  const twin = rules.find((x) => x.id !== self && x.sourceEnvironment === r.sourceEnvironment && x.targetEnvironment === r.targetEnvironment);
  if (twin) {
    throw new AlreadyExists(`Rule ${twin.id} ('${twin.name}') already governs ${r.sourceEnvironment} → ${r.targetEnvironment}; update it (PUT) instead of adding a second one`, { ruleId: twin.id });
  }
}

const pairOp = (r: Rule, claim: boolean): WriteOp => ({ kind: 'rulePair', source: r.sourceEnvironment, target: r.targetEnvironment, ruleId: r.id, claim });

export async function createRule(deps: Deps, ctx: Ctx, input: CreateRule): Promise<Rule> {
  const now = deps.clock().toISOString();
  const rule: Rule = { ...input, id: `rule_${randomBytes(6).toString('hex')}`, version: 1, createdAt: now, createdBy: ctx.principal.name, updatedAt: now, updatedBy: ctx.principal.name };
  await retryOnConflict(async () => {
    await checkPair(deps, ctx.principal.tenant, rule, null);
    await write(deps, ctx, [{ kind: 'rule', rule, expectedVersion: null }, pairOp(rule, true)], 'rule.create', rule.id, null, rule);
  });
  return rule;
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
  return retryOnConflict(async () => {
    const cur = await deps.store.getRule(ctx.principal.tenant, id);
    if (!cur) throw new RuleNotFound(id);
    if (cur.version !== input.version) throw new VersionConflict(`Rule ${id} is at version ${cur.version}, not ${input.version}`, { currentVersion: cur.version });
    const { version: _v, ...changes } = input;
    const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
    const next: Rule = { ...cur, ...defined, version: cur.version + 1, updatedAt: deps.clock().toISOString(), updatedBy: ctx.principal.name };
    if (next.requiresApproval && next.requiredApprovers < 1) next.requiredApprovers = 1;
    const moves = next.sourceEnvironment !== cur.sourceEnvironment || next.targetEnvironment !== cur.targetEnvironment;
    if (moves) await checkPair(deps, ctx.principal.tenant, next, id);
    await write(deps, ctx, [{ kind: 'rule', rule: next, expectedVersion: cur.version }, ...(moves ? [pairOp(cur, false), pairOp(next, true)] : [])], 'rule.update', id, cur, next);
    return next;
  });
}

export async function deleteRule(deps: Deps, ctx: Ctx, id: string): Promise<void> {
  await retryOnConflict(async () => {
    const cur = await deps.store.getRule(ctx.principal.tenant, id);
    if (!cur) throw new RuleNotFound(id);
    await write(deps, ctx, [{ kind: 'deleteRule', id, expectedVersion: cur.version }, pairOp(cur, false)], 'rule.delete', id, cur, null);
  });
}
