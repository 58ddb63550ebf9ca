import * as z from '../kernel/zod.ts';
import { auditEntry } from '../audit/audit.ts';
import { analysisAttachments, attachmentIssues } from '../config/targets.ts';
import { digestOf } from '../kernel/canonical.ts';
import { AnalysisTemplateInUse, AnalysisTemplateNotFound, RuleViolation, ValidationFailed, VersionConflict, type Issue } from '../kernel/errors.ts';
import type { Ctx, Deps } from '../kernel/deps.ts';
import type { Environment } from '../kernel/model.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import { assertTenantUrls } from '../kernel/url-policy.ts';
import { cloudWatchAccountIssues } from './metric-accounts.ts';
import { analysisTemplate, celReady, compileTemplate, templateUrls, type AnalysisTemplate } from './template.ts';

/**
 * A tenant's analysis templates as part of its setup: listed, read, put (checked: the schema, its
 * conditions compiled and placeholders matched by compileTemplate, and every bake that attaches it still
 * long enough) and deleted (refused while anything attaches or uses it). All of them are one item,
 * versioned as a whole: a write names the version it read, or none to take the latest.
 */

export const MAX_TEMPLATES = 50;
export const MAX_TEMPLATES_BYTES = 64 * 1024;

/** PUT /analysis-templates/{name}: the template, its name left out or the same as the path's; `version` the set's version read. */
export const analysisTemplateBody = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    ...analysisTemplate.def.in.shape,
    name: z.optional(analysisTemplate.def.in.shape.name).check(z.describe("the template's name: left out, or the same as the path's")),
    version: z
      .optional(z.number().check(z.int(), z.minimum(0)))
      .check(z.describe('the version of the tenant’s templates you read (GET answers it; 0: none yet): 409 when they changed since; left out: the latest')),
  }),
);
export type AnalysisTemplateBody = z.infer<typeof analysisTemplateBody>;

/** The template's problems as a body's fields (`body.successCondition`). */
export const templateIssues = (t: AnalysisTemplate, field = 'body'): Issue[] => compileTemplate(t).map((i) => ({ ...i, path: `${field}.${i.path}` }));

/** The set's bounds: at most MAX_TEMPLATES templates, MAX_TEMPLATES_BYTES of JSON. */
export function setIssues(templates: readonly AnalysisTemplate[], field = 'body'): Issue[] {
  if (templates.length > MAX_TEMPLATES)
    return [{ path: field, message: `a tenant has at most ${MAX_TEMPLATES} analysis templates (this makes ${templates.length})` }];
  const bytes = Buffer.byteLength(JSON.stringify(templates));
  if (bytes > MAX_TEMPLATES_BYTES)
    return [{ path: field, message: `a tenant's analysis templates are at most ${MAX_TEMPLATES_BYTES} bytes of JSON in all (this makes ${bytes})` }];
  return [];
}

/** Where environments attach a template: `<env>.<field>` for each of its attachments. */
export function referencesTo(envs: readonly Environment[], name: string): string[] {
  return envs.flatMap((e) =>
    analysisAttachments(e, e.name)
      .filter((a) => a.template === name)
      .map((a) => a.path.replace(/\.template$/, '')),
  );
}

/** The attachments that would no longer fit their bake (or name no template) with this set: issues named `environments.<env>.<field>`. */
export function bakeIssues(envs: readonly Environment[], templates: readonly AnalysisTemplate[], only?: string): Issue[] {
  const byName = new Map(templates.map((t) => [t.name, t]));
  return envs.flatMap((e) =>
    attachmentIssues(
      analysisAttachments(e, `environments.${e.name}`).filter((a) => only === undefined || a.template === only),
      byName,
    ),
  );
}

const sorted = (ts: AnalysisTemplate[]) => [...ts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

export async function listAnalysisTemplates(deps: Deps, ctx: Ctx): Promise<{ templates: AnalysisTemplate[]; version: number }> {
  const stored = await deps.store.getAnalysisTemplates(ctx.principal.tenant);
  return { templates: sorted(stored?.templates ?? []), version: stored?.version ?? 0 };
}

export async function getAnalysisTemplate(deps: Deps, ctx: Ctx, name: string): Promise<AnalysisTemplate & { version: number }> {
  const { templates, version } = await listAnalysisTemplates(deps, ctx);
  const t = templates.find((x) => x.name === name);
  if (!t)
    throw new AnalysisTemplateNotFound(
      name,
      templates.map((x) => x.name),
    );
  return { ...t, version };
}

const audit = (ctx: Ctx, action: string, name: string, before: AnalysisTemplate | null, after: AnalysisTemplate | null, now: Date) =>
  auditEntry(
    ctx.principal.tenant,
    {
      actor: ctx.principal.id,
      actorName: ctx.principal.name,
      action,
      entityType: 'analysis-template',
      entityId: name,
      before: before && digestOf(before),
      after: after && digestOf(after),
      requestId: ctx.requestId,
    },
    now,
  );

const checkVersion = (expected: number | undefined, current: number) => {
  if (expected !== undefined && expected !== current)
    throw new VersionConflict(`The analysis templates are at version ${current}, not ${expected}; read them again and reapply your change`, {
      currentVersion: current,
    });
};

/** Creates or replaces one template (admin). 400 naming the field for a template that does not compile or would not fit a bake that attaches it. */
export async function putAnalysisTemplate(deps: Deps, ctx: Ctx, name: string, body: AnalysisTemplateBody): Promise<AnalysisTemplate & { version: number }> {
  const { tenant } = ctx.principal;
  if (body.name !== undefined && body.name !== name)
    throw new ValidationFailed([{ path: 'body.name', message: `is '${body.name}', the path names '${name}': leave name out or make them the same` }]);
  const { version: expected, ...fields } = body;
  await celReady();
  const parsed = analysisTemplate.safeParse({ ...fields, name });
  if (!parsed.success) throw new ValidationFailed(parsed.error.issues.map((i) => ({ path: ['body', ...i.path.map(String)].join('.'), message: i.message })));
  // The schema compiles the conditions and checks the placeholders (compileTemplate): their issues name the body's field.
  const template = parsed.data;
  // The addresses it calls, with the deployment's setting: loopback only in local mode.
  assertTenantUrls(templateUrls(template, 'body'), { allowLoopback: deps.tunables.allowLoopbackOutbound });
  return retryOnConflict(deps.tunables, async () => {
    const stored = await deps.store.getAnalysisTemplates(tenant);
    checkVersion(expected, stored?.version ?? 0);
    const before = stored?.templates.find((t) => t.name === name) ?? null;
    const next = sorted([...(stored?.templates ?? []).filter((t) => t.name !== name), template]);
    const bounds = setIssues(next);
    if (bounds.length) throw new ValidationFailed(bounds);
    // A changed template must still fit every bake that attaches it.
    if (before) {
      const envs = await deps.store.listEnvironments(tenant);
      const tooLong = bakeIssues(envs, next, name);
      if (tooLong.length) throw new ValidationFailed(tooLong, `Template '${name}' would no longer fit the bakes that attach it`);
      // A CloudWatch template already attached reads only accounts with a registered role: 422 naming the target.
      if (template.provider.type === 'cloudwatch') {
        const accounts = (await deps.store.getMetricAccounts(tenant))?.accounts;
        const unread = envs.flatMap((e) =>
          cloudWatchAccountIssues(e, [template], accounts, `environments.${e.name}`).filter((i) => i.path.endsWith('.template')),
        );
        if (unread.length)
          throw new RuleViolation(`Template '${name}' is attached where it has no account with a registered role: ${unread[0]!.message}`, { issues: unread });
      }
    }
    await deps.store.commit(tenant, [
      { kind: 'analysisTemplates', templates: next, expectedVersion: stored ? stored.version : null },
      { kind: 'audit', entry: audit(ctx, 'analysis_template.put', name, before, template, deps.clock()) },
    ]);
    return { ...template, version: (stored?.version ?? 0) + 1 };
  });
}

/**
 * The EXECUTING promotions that use a template: into an environment that attaches it, or carrying it in
 * their rollout's snapshot of templates.
 */
async function executingWith(deps: Deps, tenant: string, envs: readonly Environment[], name: string, attaching: ReadonlySet<string>): Promise<string[]> {
  const active = (await Promise.all(envs.map((e) => deps.store.activePromotions(tenant, e.name)))).flat();
  return active
    .filter((p) => p.status === 'EXECUTING')
    .filter((p) => {
      const snapshot = (p.rollout as { templates?: readonly { name: string }[] } | undefined)?.templates;
      return attaching.has(p.targetEnvironment) || (Array.isArray(snapshot) && snapshot.some((t) => t.name === name));
    })
    .map((p) => p.id);
}

/** Removes a template (admin): 404 when there is none; 409 naming what attaches it or the promotions rolling out with it. */
export async function deleteAnalysisTemplate(deps: Deps, ctx: Ctx, name: string, expected?: number): Promise<void> {
  const { tenant } = ctx.principal;
  await retryOnConflict(deps.tunables, async () => {
    const [stored, envs] = await Promise.all([deps.store.getAnalysisTemplates(tenant), deps.store.listEnvironments(tenant)]);
    const before = stored?.templates.find((t) => t.name === name);
    if (!stored || !before)
      throw new AnalysisTemplateNotFound(
        name,
        (stored?.templates ?? []).map((t) => t.name),
      );
    checkVersion(expected, stored.version);
    const references = referencesTo(envs, name);
    const attaching = new Set(references.map((r) => r.split('.')[0]!));
    const promotions = await executingWith(deps, tenant, envs, name, attaching);
    if (references.length || promotions.length)
      throw new AnalysisTemplateInUse(
        `Analysis template '${name}' is in use${references.length ? `: attached at ${references.join(', ')}` : ''}${promotions.length ? `; promotions rolling out with it: ${promotions.join(', ')}` : ''}. Detach it (and let those promotions finish) first`,
        { template: name, references, promotions },
      );
    await deps.store.commit(tenant, [
      { kind: 'analysisTemplates', templates: stored.templates.filter((t) => t.name !== name), expectedVersion: stored.version },
      { kind: 'audit', entry: audit(ctx, 'analysis_template.delete', name, before, null, deps.clock()) },
    ]);
  });
}
