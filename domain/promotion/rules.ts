import { randomBytes } from 'node:crypto';
import { chainEntry } from '../audit.ts';
import { requireRole } from '../auth.ts';
import { digestOf } from '../canonical.ts';
import { RuleNotFound, VersionConflict } from '../errors.ts';
import type { Ctx, Deps, WriteOp } from '../ports.ts';
import { retryOnConflict } from '../retry.ts';
import type { Rule } from './model.ts';
import type { CreateRule, UpdateRule } from './schemas.ts';

/**
 * Promotion rules (seed 002) and approval policies (seed 004) are one model:
 * a rule per source → target pair that says who must approve, how many,
 * for how long, and whether (and when) to promote without a person.
 */
async function write(deps: Deps, ctx: Ctx, op: WriteOp, action: string, id: string, before: Rule | null, after: Rule | null) {
  const { tenant } = ctx.principal;
  const audit = chainEntry(tenant, await deps.store.auditHead(tenant), {
    actor: ctx.principal.id,
    actorName: ctx.principal.name,
    action,
    entityType: 'rule',
    entityId: id,
    before: before ? digestOf(before) : null,
    after: after ? digestOf(after) : null,
    requestId: ctx.requestId,
  }, deps.clock());
  await deps.store.commit(tenant, [op, { kind: 'audit', entry: audit }]);
}

export async function createRule(deps: Deps, ctx: Ctx, input: CreateRule): Promise<Rule> {
  requireRole(ctx.principal, 'admin');
  const now = deps.clock().toISOString();
  const rule: Rule = { ...input, id: `rule_${randomBytes(6).toString('hex')}`, version: 1, createdAt: now, createdBy: ctx.principal.name, updatedAt: now, updatedBy: ctx.principal.name };
  await retryOnConflict(() => write(deps, ctx, { kind: 'rule', rule, expectedVersion: null }, 'rule.create', rule.id, null, rule));
  return rule;
}

export async function getRule(deps: Deps, ctx: Ctx, id: string): Promise<Rule> {
  requireRole(ctx.principal, 'viewer');
  const r = await deps.store.getRule(ctx.principal.tenant, id);
  if (!r) throw new RuleNotFound(id);
  return r;
}

export async function listRules(deps: Deps, ctx: Ctx): Promise<Rule[]> {
  requireRole(ctx.principal, 'viewer');
  return (await deps.store.listRules(ctx.principal.tenant)).sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
}

export async function updateRule(deps: Deps, ctx: Ctx, id: string, input: UpdateRule): Promise<Rule> {
  requireRole(ctx.principal, 'admin');
  return retryOnConflict(async () => {
    const cur = await deps.store.getRule(ctx.principal.tenant, id);
    if (!cur) throw new RuleNotFound(id);
    if (cur.version !== input.version) throw new VersionConflict(`Rule ${id} is at version ${cur.version}, not ${input.version}`, { currentVersion: cur.version });
    const { version: _v, ...changes } = input;
    const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
    const next: Rule = { ...cur, ...defined, version: cur.version + 1, updatedAt: deps.clock().toISOString(), updatedBy: ctx.principal.name };
    if (next.requiresApproval && next.requiredApprovers < 1) next.requiredApprovers = 1;
    await write(deps, ctx, { kind: 'rule', rule: next, expectedVersion: cur.version }, 'rule.update', id, cur, next);
    return next;
  });
}

export async function deleteRule(deps: Deps, ctx: Ctx, id: string): Promise<void> {
  requireRole(ctx.principal, 'admin');
  await retryOnConflict(async () => {
    const cur = await deps.store.getRule(ctx.principal.tenant, id);
    if (!cur) throw new RuleNotFound(id);
    await write(deps, ctx, { kind: 'deleteRule', id, expectedVersion: cur.version }, 'rule.delete', id, cur, null);
  });
}
