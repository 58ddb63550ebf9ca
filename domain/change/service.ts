import { auditEntry } from '../audit/audit.ts';
import type { Ctx, Deps, With } from '../kernel/deps.ts';
import {
  ChangeControlNotFound,
  EnvironmentNotFound,
  PromotionNotFound,
  RuleViolation,
  TransitionNotAllowed,
  Unavailable,
  ValidationFailed,
} from '../kernel/errors.ts';
import type { ChangeControl, Environment } from '../kernel/model.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import { checkTenantUrl } from '../kernel/url-policy.ts';
import { ChangeRefused, ChangeUnavailable } from './ports.ts';
import { changeControlView, changeRequestView, checkChangeControl, toolText, type ChangeControlBody } from './rule.ts';

/** An environment's change-control rule (GET …/environments/{env}/change-control): 404 when it has none. */
export async function getChangeControl(deps: Deps, ctx: Ctx, env: string) {
  const e = await deps.store.getEnvironment(ctx.principal.tenant, env);
  if (!e) throw new EnvironmentNotFound(env);
  if (!e.changeControl) throw new ChangeControlNotFound(env);
  return changeControlView(env, e.changeControl);
}

/**
 * The rule a body asks for, as it is saved: every field checked and named (`body.…`: provider, type, template, states,
 * the instance URL through the outbound rules); the credential sealed (a body without it keeps the stored one, and the
 * secret it was named by); the tool reached as promotions will reach it, a standard change's template looked up now and
 * its answer said plainly (and a Jira rule's service desk and request type). PUT …/change-control and a manifest's change_control section (domain/manifest) both save through it.
 */
export async function changeControlToSave(
  deps: With<'sealer' | 'changes'>,
  body: ChangeControlBody,
  /** the rule stored now (read once the body is checked: a bad body is a 400 before anything is read) */
  storedRule: () => Promise<ChangeControl | undefined>,
  actorName: string,
  /** the tenant secret the credential was read from (a manifest's `${NAME}`); left out: given in the body, or kept */
  credentialRef?: string,
): Promise<ChangeControl> {
  const urls = { allowLoopback: deps.tunables.allowLoopbackOutbound };
  const checked = checkChangeControl(body, (u) => checkTenantUrl(u, urls));
  if (checked.issues.length) throw new ValidationFailed(checked.issues);
  const stored = await storedRule();
  if (!checked.credentials && !stored)
    throw new ValidationFailed([{ path: 'body.credentials', message: 'required for a new rule: {"basic": {"user", "password"}} or {"bearer": {"token"}}' }]);
  const plain = checked.credentials ? JSON.stringify(checked.credentials) : undefined;
  const ref = checked.credentials ? credentialRef : stored?.credentialRef;
  const rule: ChangeControl = {
    provider: checked.provider,
    instanceUrl: body.instanceUrl,
    type: checked.type,
    ...(checked.type === 'standard' && body.template ? { template: body.template } : {}),
    approvedStates: checked.approvedStates,
    ...(checked.jira ? { jira: checked.jira } : {}),
    credentials: plain ? await deps.sealer.seal(plain) : stored!.credentials,
    credentialKind: checked.credentials ? ('basic' in checked.credentials ? 'basic' : 'bearer') : stored!.credentialKind,
    ...(ref ? { credentialRef: ref } : {}),
    updatedAt: deps.clock().toISOString(),
    updatedBy: actorName,
  };
  // The tool, as promotions will reach it: a provider not available says so (422); a template is looked up now.
  try {
    const tool = await deps.changes.open(rule, plain);
    if (rule.type === 'standard' && tool.checkTemplate) await tool.checkTemplate(rule.template!);
    // A Jira rule's service desk and request type are looked up now, as a template is: a request never fails on them later.
    if (rule.provider === 'jira' && tool.checkRequestType) await tool.checkRequestType();
  } catch (err) {
    if (err instanceof ChangeRefused && err.status === 422) throw new RuleViolation(err.message, { field: 'body.provider' });
    if (err instanceof ChangeRefused)
      throw new ValidationFailed([
        {
          path: err.field ? `body.${err.field}` : rule.type === 'standard' ? 'body.template' : 'body.credentials',
          message: toolText(err.message),
        },
      ]);
    if (err instanceof ChangeUnavailable)
      throw new Unavailable(
        `the ${rule.provider === 'jira' ? 'service desk and request type' : 'template'} could not be checked: ${toolText(err.message)}; try again`,
      );
    throw err;
  }
  return rule;
}

/**
 * Sets an environment's change-control rule. Every field is checked and named (provider, type, template, states, the
 * instance URL through the outbound rules); the credential is sealed (a body without it keeps the stored one, so a GET's
 * answer may be sent back); a standard change's template is looked up in the tool now, and its answer said plainly.
 */
export async function putChangeControl(
  deps: With<'sealer' | 'changes'>,
  ctx: Ctx,
  env: string,
  body: ChangeControlBody,
): Promise<ReturnType<typeof changeControlView>> {
  const { tenant, name: actorName, id: actor } = ctx.principal;
  const rule = await changeControlToSave(
    deps,
    body,
    async () => {
      const current = await deps.store.getEnvironment(tenant, env);
      if (!current) throw new EnvironmentNotFound(env);
      return current.changeControl;
    },
    actorName,
  );
  await retryOnConflict(deps.tunables, async () => {
    const cur = (await deps.store.getEnvironment(tenant, env))!;
    const next: Environment = { ...cur, changeControl: rule, version: cur.version + 1, updatedAt: rule.updatedAt, updatedBy: actorName };
    const audit = auditEntry(
      tenant,
      {
        actor,
        actorName,
        action: 'environment.change-control',
        entityType: 'environment',
        entityId: env,
        before: cur.changeControl ? `${cur.changeControl.provider} ${cur.changeControl.instanceUrl} ${cur.changeControl.type}` : null,
        after: `${rule.provider} ${rule.instanceUrl} ${rule.type}${rule.template ? ` ${rule.template}` : ''}${rule.jira ? ` service desk ${rule.jira.serviceDeskId} request type ${rule.jira.requestTypeId}` : ''}; approved: ${rule.approvedStates.join(', ')}`,
        requestId: ctx.requestId,
      },
      deps.clock(),
    );
    await deps.store.updateEnvironment(next, cur, audit);
  });
  return changeControlView(env, rule);
}

/** Removes an environment's change-control rule (promotions already waiting keep waiting for the request they opened). */
export async function deleteChangeControl(deps: Deps, ctx: Ctx, env: string): Promise<void> {
  const { tenant, name: actorName, id: actor } = ctx.principal;
  await retryOnConflict(deps.tunables, async () => {
    const cur = await deps.store.getEnvironment(tenant, env);
    if (!cur) throw new EnvironmentNotFound(env);
    if (!cur.changeControl) throw new ChangeControlNotFound(env);
    const { changeControl, ...rest } = cur;
    const next: Environment = { ...rest, version: cur.version + 1, updatedAt: deps.clock().toISOString(), updatedBy: actorName };
    const audit = auditEntry(
      tenant,
      {
        actor,
        actorName,
        action: 'environment.change-control',
        entityType: 'environment',
        entityId: env,
        before: `${changeControl.provider} ${changeControl.instanceUrl} ${changeControl.type}`,
        after: null,
        requestId: ctx.requestId,
      },
      deps.clock(),
    );
    await deps.store.updateEnvironment(next, cur, audit);
  });
}
