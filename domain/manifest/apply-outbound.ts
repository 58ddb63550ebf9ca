import { auditEntry } from '../audit/audit.ts';
import { canonicalJson } from '../kernel/canonical.ts';
import { RuleViolation, ValidationFailed } from '../kernel/errors.ts';
import type { ChangeControl, EntityType, Environment } from '../kernel/model.ts';
import { changeControlToSave } from '../change/service.ts';
import type { ChangeControlBody } from '../change/rule.ts';
import { NOTIFICATION_KINDS, type NotificationSettings } from '../notify/model.ts';
import type { Ctx, Deps, WriteOp, With } from '../kernel/deps.ts';
import { SECRET_REF } from './document.ts';
import { isRedactedUrl, redactUrl, tenantUrlIssue } from '../kernel/url-policy.ts';
import { changedSubscription, newSubscription, webhookAudit } from '../webhooks/subscriptions.ts';
import type { WebhookSecret } from '../webhooks/ports.ts';
import type { WebhookSubscription } from '../webhooks/model.ts';
import { assertGitSecretsExist, gitTargetOf, gitTargetSecrets, gitTargetSummary, storedPullRequest } from '../gitops/service.ts';
import { newRepoLink } from '../artifacts/discovery.ts';
import type { RepoLink } from '../artifacts/model.ts';
import { ownValue } from '../kernel/reserved-keys.ts';
import {
  UNKNOWN_SECRET,
  subscriptionKeys,
  subscriptionDoc,
  repoOf,
  redactedDoc,
  linkDoc,
  gitDoc,
  asShown,
  type Current,
  type Setup,
  type WebhookDoc,
  type ChangeDoc,
} from './sections.ts';
/**
 * What applying a manifest writes beyond environments and rules: the outbound sections (webhook
 * subscriptions, git targets, registry links) with their secrets, webhook gates' secrets, and the
 * notification settings.
 */
export const symmetricDifference = (a: string[], b: string[]) => a.filter((x) => !b.includes(x)).length + b.filter((x) => !a.includes(x)).length;

export function needWebhooks(deps: With<'webhooks'>): NonNullable<Deps['webhooks']> {
  return deps.webhooks;
}

/**
 * The writes of the delivery sections: subscriptions (matched by environment and URL), git targets (by
 * environment) and registry links (by artifact and registry repository), each with the audit entry the
 * API writes for the same change. What is created gets its secret (a subscription's signing secret, a
 * link's notification token) here, shown once in the apply's answer.
 */
export async function deliveryOps(deps: Deps, ctx: Ctx, cur: Current, want: Setup, now: Date) {
  const { tenant, name: by } = ctx.principal;
  const ops: WriteOp[] = [];
  const newSecrets: [string, WebhookSecret][] = [];
  const removed: WebhookSubscription[] = [];
  const shown = {
    webhooks: [] as { id: string; url: string; environment: string | null; secret: string }[],
    registry_links: [] as { artifact: string; id: string; registry: string; repository: string; notifyToken: string }[],
  };
  const audit = (action: string, entityType: EntityType, entityId: string, before: string | null, after: string | null) =>
    ({
      kind: 'audit',
      entry: auditEntry(
        tenant,
        { actor: ctx.principal.id, actorName: ctx.principal.name, action, entityType, entityId, before, after, requestId: ctx.requestId },
        now,
      ),
    }) as const;

  const haveSubs = subscriptionKeys(cur.subscriptions, (x) => redactedDoc(subscriptionDoc(x)));
  const wantSubs = subscriptionKeys(want.webhooks, redactedDoc);
  for (const [key, d] of wantSubs) {
    const s = haveSubs.get(key);
    if (s && canonicalJson(redactedDoc(subscriptionDoc(s))) === canonicalJson(redactedDoc(d))) continue;
    if (s) {
      const next = changedSubscription(s, { events: d.events, description: d.description ?? '', enabled: d.enabled ?? true }, by, now);
      ops.push({ kind: 'webhook', sub: next, expectedVersion: s.version }, { kind: 'audit', entry: webhookAudit(deps, ctx, 'webhook.update', s.id, s, next) });
    } else {
      const { sub, secret } = newSubscription(
        tenant,
        { url: d.url, events: d.events, environment: d.environment ?? null, description: d.description, enabled: d.enabled },
        by,
        now,
      );
      newSecrets.push([sub.id, secret]);
      shown.webhooks.push({ id: sub.id, url: sub.url, environment: sub.environment, secret: secret.secret });
      ops.push({ kind: 'webhook', sub, expectedVersion: null }, { kind: 'audit', entry: webhookAudit(deps, ctx, 'webhook.create', sub.id, null, sub) });
    }
  }
  for (const [key, s] of haveSubs) {
    if (wantSubs.has(key)) continue;
    removed.push(s);
    ops.push({ kind: 'deleteWebhook', sub: s }, { kind: 'audit', entry: webhookAudit(deps, ctx, 'webhook.delete', s.id, s, null) });
  }

  for (const env of cur.envs.map((e) => e.name)) {
    const have = cur.gitTargets.find((t) => t.environment === env) ?? null;
    const d = ownValue(want.git_targets, env);
    const wanted = d && {
      ...d,
      edit: d.edit ?? 'yaml-path',
      tokenSecret: d.token ? SECRET_REF.exec(d.token)![1]! : null,
      pullRequest: d.pullRequest ? storedPullRequest(d.pullRequest) : null,
    };
    if (wanted && have && canonicalJson(gitDoc(have)) === canonicalJson(gitDoc(wanted))) continue;
    if (wanted) {
      // The secrets it names exist for the tenant (422 naming the document's field), as PUT …/git-target checks them.
      if (!deps.secrets) throw new Error('a git target is saved only with the tenant secrets to check it against');
      await assertGitSecretsExist(deps.secrets, tenant, gitTargetSecrets(wanted, `document.artifacts.promotion.git_targets.${env}`, 'token'));
      const next = gitTargetOf(tenant, env, wanted, have, by, now);
      ops.push(
        { kind: 'gitTarget', target: next, expectedVersion: have ? have.version : null },
        audit(have ? 'git-target.update' : 'git-target.create', 'git-target', env, gitTargetSummary(have), gitTargetSummary(next)),
      );
    } else if (have) {
      ops.push({ kind: 'deleteGitTarget', target: have }, audit('git-target.delete', 'git-target', env, have.repository, null));
    }
  }

  const artifacts = new Set([...Object.keys(want.registry_links), ...cur.links.map((l) => l.artifact)]);
  for (const artifact of artifacts) {
    const have = new Map(cur.links.filter((l) => l.artifact === artifact).map((l) => [repoOf(l), l]));
    const wanted = new Map((ownValue(want.registry_links, artifact) ?? []).map((l) => [repoOf(l), l]));
    for (const [repo, d] of wanted) {
      const l = have.get(repo);
      if (l && canonicalJson(linkDoc(l)) === canonicalJson(d)) continue;
      if (l) {
        // A new tag filter keeps the link (its id and notification token).
        ops.push(
          { kind: 'repoLink', link: { ...l, tags: d.tags as RepoLink['tags'] }, replace: true },
          audit('artifact.link', 'artifact', artifact, `${repo} ${canonicalJson(l.tags)}`, `${repo} ${canonicalJson(d.tags)}`),
        );
      } else {
        const { link, token } = newRepoLink(tenant, artifact, { registry: d.registry, repository: d.repository, tags: d.tags }, by, now);
        shown.registry_links.push({ artifact, id: link.id, registry: link.registry, repository: link.repository, notifyToken: token });
        ops.push({ kind: 'repoLink', link, replace: false }, audit('artifact.link', 'artifact', artifact, null, repo));
      }
    }
    for (const [repo, l] of have)
      if (!wanted.has(repo)) ops.push({ kind: 'deleteRepoLink', link: l }, audit('artifact.unlink', 'artifact', artifact, repo, null));
  }
  return { ops, newSecrets, removed, shown };
}

/**
 * The webhook gates a document asks for, with their secrets read from the references (or kept, for a gate
 * exported with the placeholder because its secret was set through the API).
 */
export async function resolveWebhookGates(deps: With<'sealer'>, tenant: string, env: Environment, want: WebhookDoc[]): Promise<Environment['webhookGates']> {
  const out: Environment['webhookGates'] = [];
  for (const [i, h] of want.entries()) {
    const path = `document.artifacts.promotion.webhook_gates.${env.name}.${i}.secret`;
    const prev = env.webhookGates?.find((x) => x.name === h.name);
    const ref = SECRET_REF.exec(h.secret)?.[1];
    // The same reference (or the placeholder of a secret set through the API): the stored one, kept sealed as it is.
    const kept = prev && (h.secret === UNKNOWN_SECRET ? !prev.secretRef : prev.secretRef === ref) ? prev.secret : undefined;
    const secret = kept ? null : ref && h.secret !== UNKNOWN_SECRET ? await deps.secrets?.resolve(tenant, ref, 'gate-key') : undefined;
    if (!kept && !secret)
      throw new ValidationFailed([
        {
          path,
          message:
            ref && h.secret !== UNKNOWN_SECRET
              ? `no webhook gate key ${ref} for this tenant (Secrets Manager stageline/${tenant}/gate-key/${ref}; locally the environment variable STAGELINE_SECRET_<TENANT>__GATE_KEY__${ref})`
              : `'${h.name}' is new: its secret must be a reference like \${HOOK_SECRET}`,
        },
      ]);
    if (secret && secret.length < 16) throw new ValidationFailed([{ path, message: `the secret ${ref} must be at least 16 characters` }]);
    // A redacted URL (as the export writes it) keeps this gate's stored URL; it names no other.
    const url = !isRedactedUrl(h.url) ? h.url : prev && asShown(redactUrl(prev.url)) === asShown(h.url) ? prev.url : null;
    if (!url)
      throw new ValidationFailed([
        {
          path: `document.artifacts.promotion.webhook_gates.${env.name}.${i}.url`,
          message: `is a redacted URL that is not '${h.name}'s stored one: send the full URL`,
        },
      ]);
    out.push({
      name: h.name,
      url,
      timeoutMs: h.timeout_ms,
      blocking: h.blocking,
      secret: kept ?? (await deps.sealer.seal(secret!)),
      ...(h.secret !== UNKNOWN_SECRET && ref ? { secretRef: ref } : prev?.secretRef ? { secretRef: prev.secretRef } : {}),
    });
  }
  return out;
}

export async function notifySettings(
  deps: With<'sealer'>,
  tenant: string,
  want: NonNullable<Setup['notifications']>,
  prev: NotificationSettings | null,
  by: string,
  at: string,
): Promise<NotificationSettings> {
  let slack: NotificationSettings['slack'];
  if (want.slack) {
    const ref = SECRET_REF.exec(want.slack.webhook)?.[1];
    if (!ref)
      throw new ValidationFailed([{ path: 'document.artifacts.promotion.notifications.slack.webhook', message: 'must be a reference like ${SLACK_WEBHOOK}' }]);
    // The same reference, or the placeholder an export writes for a webhook set through the API: keep the stored one.
    const same = prev?.slack && (prev.slack.webhookRef === ref || (!prev.slack.webhookRef && want.slack.webhook === UNKNOWN_SECRET));
    const webhook = same ? null : await deps.secrets?.resolve(tenant, ref, 'slack-webhook');
    if (!same && !webhook)
      throw new ValidationFailed([
        {
          path: 'document.artifacts.promotion.notifications.slack.webhook',
          message: `no Slack webhook secret ${ref} for this tenant (Secrets Manager stageline/${tenant}/slack-webhook/${ref}; locally the environment variable STAGELINE_SECRET_<TENANT>__SLACK_WEBHOOK__${ref})`,
        },
      ]);
    // The URL behind the reference is checked like one given directly (never repeated: it is a secret).
    const refused = webhook ? tenantUrlIssue(webhook, { allowLoopback: deps.tunables.allowLoopbackOutbound }) : null;
    if (refused) throw new ValidationFailed([{ path: 'document.artifacts.promotion.notifications.slack.webhook', message: `the secret ${ref} ${refused}` }]);
    // Sealed here, where it is written; its origin is kept beside it for reads (never the secret path).
    slack = {
      ...(webhook
        ? { webhook: await deps.sealer.seal(webhook), origin: new URL(webhook).origin }
        : { webhook: prev!.slack!.webhook, ...(prev!.slack!.origin ? { origin: prev!.slack!.origin } : {}) }),
      webhookRef: ref,
      channels: want.slack.channels,
      ...(want.slack.team_id ? { teamId: want.slack.team_id } : {}),
    };
  }
  return {
    tenant,
    scope: 'tenant',
    ...(slack ? { slack } : {}),
    // A manifest does not carry Teams (its URL is a secret set through the API): an apply keeps the stored one.
    ...(prev?.teams ? { teams: prev.teams } : {}),
    ...(want.email ? { email: want.email } : {}),
    ...(want.events ? { events: want.events as (typeof NOTIFICATION_KINDS)[number][] } : {}),
    version: (prev?.version ?? 0) + 1,
    updatedAt: at,
    updatedBy: by,
  };
}

/**
 * The change-control rule a document asks for, saved as PUT …/change-control saves one (domain/change/service.ts
 * changeControlToSave: the same checks, the template looked up in the tool), every issue named by its document path.
 * The credential is read from the tenant secret the document names (purpose change-credential), unless it is the one
 * the stored rule was read from, or the placeholder of one set through the API: then the stored one is kept.
 */
export async function changeControlOfDoc(deps: With<'sealer' | 'changes'>, tenant: string, env: Environment, d: ChangeDoc, by: string): Promise<ChangeControl> {
  const at = `document.artifacts.promotion.change_control.${env.name}`;
  const stored = env.changeControl;
  const ref = d.credentials === UNKNOWN_SECRET ? undefined : SECRET_REF.exec(d.credentials)?.[1];
  let credentials: unknown;
  if (ref && ref !== stored?.credentialRef) {
    const value = await deps.secrets?.resolve(tenant, ref, 'change-credential');
    const issue = (message: string) =>
      new RuleViolation(`The change-control rule of '${env.name}' names a credential it cannot use: ${message}`, {
        issues: [{ path: `${at}.credentials`, message }],
      });
    if (!value)
      throw issue(
        `the secret '${ref}' does not exist for this tenant (purpose change-credential): create Secrets Manager stageline/${tenant}/change-credential/${ref} (locally the environment variable STAGELINE_SECRET_<TENANT>__CHANGE_CREDENTIAL__${ref}), then apply again`,
      );
    try {
      credentials = JSON.parse(value);
    } catch {
      // Never repeated: it is a secret.
      throw issue(`the secret '${ref}' must hold the credential as JSON: {"basic": {"user": "...", "password": "..."}} or {"bearer": {"token": "..."}}`);
    }
  }
  const { credentials: _ref, ...rule } = d;
  const body = { ...rule, ...(credentials !== undefined ? { credentials } : {}) } as ChangeControlBody;
  try {
    return await changeControlToSave(deps, body, async () => stored, by, ref);
  } catch (err) {
    if (err instanceof ValidationFailed)
      throw new ValidationFailed(
        err.issues.map((i) => ({
          path: i.path.replace(/^body\./, `${at}.`),
          message: i.path === 'body.credentials' && ref ? `the secret '${ref}' ${i.message}` : i.message.replace(/\bbody\./g, ''),
        })),
        'The manifest does not fit the tenant: see the issues for each field',
      );
    if (err instanceof RuleViolation) throw new RuleViolation(err.message, { field: `${at}.provider` });
    throw err;
  }
}
