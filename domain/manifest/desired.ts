import { graphProblems } from '../config/graph.ts';
import { checkBindings, type Binding } from '../access/bindings.ts';
import { normalGroupMap, type GroupMapEntry } from '../access/group-mapping.ts';
import { assertTargets } from '../config/targets.ts';
import { canonicalJson } from '../kernel/canonical.ts';
import { RuleViolation, ValidationFailed } from '../kernel/errors.ts';
import type { Deps } from '../kernel/deps.ts';
import { SECRET_REF, type Manifest } from './document.ts';
import { assertTenantUrls, checkTenantUrl, isRedactedUrl } from '../kernel/url-policy.ts';
import { checkChangeControl, type ChangeControlBody } from '../change/rule.ts';
import { assertMonitorsHere, type DeploymentPlace } from '../freeze/monitors.ts';
import { checkUrl } from '../webhooks/subscriptions.ts';
import { assertGitFilesFor, checkRepositoryUrl, gitEditIssues, storedPullRequest } from '../gitops/service.ts';
import { linkRefusal } from '../artifacts/discovery.ts';
import type { RepoLink } from '../artifacts/model.ts';
import { ownValue } from '../kernel/reserved-keys.ts';
import { sortTemplates, templateAttachmentIssues } from './templates.ts';
import { templateUrls } from '../verification/template.ts';
import { assertRecurringQuota } from '../promotion/request/recurring.ts';
import {
  type Setup,
  recurringOfDoc,
  sortRecurring,
  freezeKey,
  sortRules,
  sortSubscriptions,
  subscriptionDoc,
  gitDoc,
  sortLinks,
  linkDoc,
  pairOf,
  asShown,
  ruleOfDoc,
  changeControlDoc,
  UNKNOWN_SECRET,
  type ChangeDoc,
} from './sections.ts';

/**
 * The setup a manifest asks for, from the setup there is now: every section the document names,
 * checked as the API checks it (every issue collected, with the document path that names it).
 */

/** Runs a check that throws ValidationFailed, collecting its issues instead. */
function collect(issues: { path: string; message: string }[], check: () => void): void {
  try {
    check();
  } catch (err) {
    if (!(err instanceof ValidationFailed)) throw err;
    issues.push(...err.issues);
  }
}

/**
 * The desired setup: the current one with what the document manages replaced. Checked as the API checks
 * the same input (the same validators: URL policy, monitor account and region), every issue named by its
 * path in the document, before anything is written.
 */
export function desired(tenant: string, cur: Setup, m: Manifest, place: DeploymentPlace | undefined, tunables: Deps['tunables']): Setup {
  const p = m.artifacts.promotion;
  const known = new Set(cur.environments);
  const issues: { path: string; message: string }[] = [];
  if (p.environments && canonicalJson(p.environments) !== canonicalJson(cur.environments)) {
    throw new RuleViolation(
      `the document's line is ${p.environments.join(' → ') || 'empty'}, the tenant's is ${cur.environments.join(' → ') || 'empty'}: create, delete or reorder environments through the API (POST /api/v1/environments), then plan again`,
      { document: p.environments, current: cur.environments },
    );
  }
  for (const [section, map] of [
    ['environment_settings', p.environment_settings],
    ['gates', p.gates],
    ['webhook_gates', p.webhook_gates],
  ] as const) {
    for (const env of Object.keys(map ?? {}))
      if (!known.has(env))
        issues.push({
          path: `document.artifacts.promotion.${section}.${env}`,
          message: `no environment '${env}' in the line (${cur.environments.join(', ')})`,
        });
  }
  const pairs = new Set<string>();
  for (const [i, r] of (p.approval_rules ?? []).entries()) {
    for (const f of ['sourceEnvironment', 'targetEnvironment'] as const) {
      if (!known.has(r[f]))
        issues.push({
          path: `document.artifacts.promotion.approval_rules.${i}.${f}`,
          message: `no environment '${r[f]}' in the line (${cur.environments.join(', ')})`,
        });
    }
    if (pairs.has(pairOf(r)))
      issues.push({
        path: `document.artifacts.promotion.approval_rules.${i}`,
        message: `a second rule for ${r.sourceEnvironment} → ${r.targetEnvironment}: one rule per pair`,
      });
    pairs.add(pairOf(r));
  }
  for (const [i, w] of (p.freeze_windows ?? []).entries()) {
    if (w.environment && !known.has(w.environment))
      issues.push({ path: `document.artifacts.promotion.freeze_windows.${i}.environment`, message: `no environment '${w.environment}' in the line` });
  }
  const doc = 'document.artifacts.promotion';
  // A recurring promotion's pair is one a promotion may take: the next environment, or one a rule of the document's lets it skip to.
  const rulesAfter = p.approval_rules ?? cur.approval_rules;
  // The quota, as PUT /recurring-promotions holds it: 422 before anything else of the document is looked at.
  if (p.recurring_promotions) assertRecurringQuota(tunables, cur.recurring_promotions.length, p.recurring_promotions.length);
  for (const [i, r] of (p.recurring_promotions ?? []).entries()) {
    const si = cur.environments.indexOf(r.source);
    const ti = cur.environments.indexOf(r.target);
    for (const [f, at] of [
      ['source', si],
      ['target', ti],
    ] as const)
      if (at < 0)
        issues.push({ path: `${doc}.recurring_promotions.${i}.${f}`, message: `no environment '${r[f]}' in the line (${cur.environments.join(', ')})` });
    if (si < 0 || ti < 0) continue;
    const skips = rulesAfter.some((x) => x.sourceEnvironment === r.source && x.targetEnvironment === r.target && x.allowSkip);
    if (ti <= si || (ti > si + 1 && !skips))
      issues.push({
        path: `${doc}.recurring_promotions.${i}.target`,
        message: `'${r.target}' is not the next environment after '${r.source}' (the line is ${cur.environments.join(' → ')})`,
      });
  }
  const urls = { allowLoopback: tunables.allowLoopbackOutbound };
  // The webhook gates' URLs passed the schema's rules; loopback is the deployment's to allow (a redacted URL keeps a stored one).
  for (const [env, gates] of Object.entries(p.webhook_gates ?? {})) {
    gates.forEach((g, i) => {
      if (!isRedactedUrl(g.url)) collect(issues, () => assertTenantUrls([{ path: `${doc}.webhook_gates.${env}.${i}.url`, url: g.url }], urls));
    });
  }
  // The analysis templates' addresses, as PUT /analysis-templates checks them (templateUrls).
  (p.analysis_templates ?? []).forEach((t, i) => collect(issues, () => assertTenantUrls(templateUrls(t, `${doc}.analysis_templates.${i}`), urls)));
  for (const [env, s] of Object.entries(p.environment_settings ?? {})) {
    if (s.monitors) collect(issues, () => assertMonitorsHere(tenant, s.monitors, place, `${doc}.environment_settings.${env}.monitors`));
    if (s.targets || s.rollout) collect(issues, () => assertTargets(tenant, s.targets, s.rollout, place, urls, `${doc}.environment_settings.${env}`));
  }
  // The line's edges as the document leaves them: an unknown or self edge, or a cycle, named where it is written.
  const edges = cur.environments.map((name, position) => ({
    name,
    position,
    after: ownValue(p.environment_settings, name)?.after ?? ownValue(cur.settings, name)?.after,
  }));
  // What the line's edges are now, the document not applied: a cycle is named on an edge the document adds.
  const now = cur.environments.map((name, position) => ({ name, position, after: ownValue(cur.settings, name)?.after }));
  for (const g of graphProblems(edges, now)) issues.push({ path: `${doc}.environment_settings.${g.path}`, message: g.message });
  for (const [env, s] of Object.entries(p.environment_settings ?? {}))
    for (const from of s.require_attestation_from ?? [])
      if (from === env || !known.has(from))
        issues.push({
          path: `${doc}.environment_settings.${env}.require_attestation_from`,
          message:
            from === env ? `'${env}' cannot require an attestation from itself` : `no environment '${from}' in the line (${cur.environments.join(', ')})`,
        });
  for (const [i, w] of (p.webhooks ?? []).entries()) {
    if (isRedactedUrl(w.url)) {
      // A redacted URL (as the export writes it) keeps a stored subscription's URL: it must name one.
      if (!cur.webhooks.some((h) => h.url === asShown(w.url)))
        issues.push({ path: `${doc}.webhooks.${i}.url`, message: 'is a redacted URL that names no subscription of this tenant: send the full URL' });
    } else collect(issues, () => checkUrl(w.url, urls, `${doc}.webhooks.${i}.url`));
    if (w.environment && !known.has(w.environment))
      issues.push({ path: `${doc}.webhooks.${i}.environment`, message: `no environment '${w.environment}' in the line (${cur.environments.join(', ')})` });
  }
  for (const [env, t] of Object.entries(p.git_targets ?? {})) {
    if (!known.has(env)) issues.push({ path: `${doc}.git_targets.${env}`, message: `no environment '${env}' in the line (${cur.environments.join(', ')})` });
    if (t) collect(issues, () => checkRepositoryUrl(t.repository, urls, `${doc}.git_targets.${env}.repository`, t.pullRequest?.apiUrl));
    if (t) issues.push(...gitEditIssues(t, `${doc}.git_targets.${env}`));
    // A file per target needs the environment's targets: the document's, else the current ones.
    const targets = (p.environment_settings?.[env]?.targets ?? cur.settings[env]?.targets ?? []).map((x: { name: string }) => x.name);
    if (t) collect(issues, () => assertGitFilesFor(t, targets, `${doc}.git_targets.${env}`));
  }
  const change_control = { ...cur.change_control };
  for (const [env, d] of Object.entries(p.change_control ?? {})) {
    const at = `${doc}.change_control.${env}`;
    if (!known.has(env)) issues.push({ path: at, message: `no environment '${env}' in the line (${cur.environments.join(', ')})` });
    if (!d) {
      delete change_control[env];
      continue;
    }
    const checked = changeControlOf(d, at, urls, ownValue(cur.change_control, env));
    issues.push(...checked.issues);
    if (checked.doc) change_control[env] = checked.doc;
  }
  for (const [artifact, links] of Object.entries(p.registry_links ?? {})) {
    links.forEach((l, i) => {
      const refused = linkRefusal(tenant, l.registry, l.repository);
      if (refused) issues.push({ path: `${doc}.registry_links.${artifact}.${i}.repository`, message: refused });
    });
  }
  if (issues.length) throw new ValidationFailed(issues, 'The manifest does not fit the tenant: see the issues for each field');
  const settings = { ...cur.settings };
  for (const env of cur.environments) {
    const s = ownValue(p.environment_settings, env);
    // The document-wide verification applies where the environment does not say its own.
    settings[env] = { ...settings[env]!, ...(p.verification ? { verification: p.verification } : {}), ...s };
    if (!settings[env].monitors?.length) delete settings[env].monitors;
    // 0 is no soak: written as the export writes it (left out), so export | apply plans nothing.
    if (!settings[env].soak_seconds) delete settings[env].soak_seconds;
    // null is no allowed hours: left out, as the export writes it.
    if (!settings[env].allowed_hours) delete settings[env].allowed_hours;
    if (!settings[env].require_attestation_from?.length) delete settings[env].require_attestation_from;
    if (!settings[env].auto_promote) delete settings[env].auto_promote;
    if (!settings[env].after?.length) {
      delete settings[env].after;
      delete settings[env].after_mode;
    }
    if (!settings[env].targets?.length) {
      delete settings[env].targets;
      delete settings[env].rollout;
    }
    if (!settings[env].analysis?.length) delete settings[env].analysis;
    if (!settings[env].pre_analysis?.length) delete settings[env].pre_analysis;
    if (settings[env].verification === 'signature_match' && !settings[env].signing_key) {
      issues.push({
        path: `document.artifacts.promotion.environment_settings.${env}.signing_key`,
        message: `'${env}' uses signature_match: give signing_key (the PEM public key its promotions must be signed with)`,
      });
    }
  }
  if (issues.length) throw new ValidationFailed(issues, 'The manifest asks for signature_match without a key');
  const analysis_templates = p.analysis_templates ? sortTemplates(p.analysis_templates) : cur.analysis_templates;
  issues.push(...templateAttachmentIssues(cur, { ...cur, settings, analysis_templates }, doc));
  if (issues.length) throw new ValidationFailed(issues, 'The manifest attaches analysis templates it does not have, or that do not fit their bake');
  const gates = { ...cur.gates, ...Object.fromEntries(Object.entries(p.gates ?? {}).map(([env, g]) => [env, { ...g }])) };
  const notifications = p.notifications
    ? {
        ...(p.notifications.slack ? { slack: p.notifications.slack } : {}),
        ...(p.notifications.email ? { email: { ...p.notifications.email, recipients: p.notifications.email.recipients.map((r) => r.toLowerCase()) } } : {}),
        ...(p.notifications.events ? { events: p.notifications.events } : {}),
      }
    : cur.notifications;
  const freeze = p.freeze_windows
    ? p.freeze_windows
        .map((w) => ({ ...w, ...(w.start ? { start: new Date(w.start).toISOString(), end: new Date(w.end!).toISOString() } : {}) }))
        .sort((a, b) => (freezeKey(a) < freezeKey(b) ? -1 : 1))
    : cur.freeze_windows;
  const recurring_promotions = p.recurring_promotions ? sortRecurring(p.recurring_promotions.map(recurringOfDoc)) : cur.recurring_promotions;
  // Every environment a binding names is one of the line (400 naming the field), as PUT /access/bindings holds it.
  const bindings = p.bindings ? checkBindings(p.bindings as Binding[], cur.environments, 'document.artifacts.promotion.bindings') : cur.bindings;
  const group_mapping = p.group_mapping ? normalGroupMap(p.group_mapping as GroupMapEntry[]) : cur.group_mapping;
  const approval_rules = p.approval_rules ? sortRules(p.approval_rules.map(ruleOfDoc)) : cur.approval_rules;
  const webhook_gates = { ...cur.webhook_gates, ...(p.webhook_gates ?? {}) };
  const webhooks = p.webhooks ? sortSubscriptions(p.webhooks.map(subscriptionDoc)) : cur.webhooks;
  const git_targets = { ...cur.git_targets };
  for (const [env, t] of Object.entries(p.git_targets ?? {})) {
    if (t)
      git_targets[env] = gitDoc({
        ...t,
        tokenSecret: t.token ? SECRET_REF.exec(t.token)![1]! : null,
        pullRequest: t.pullRequest ? storedPullRequest(t.pullRequest) : null,
      });
    else delete git_targets[env];
  }
  const registry_links = { ...cur.registry_links };
  for (const [artifact, links] of Object.entries(p.registry_links ?? {})) {
    if (links.length) registry_links[artifact] = sortLinks(links.map((l) => linkDoc(l as RepoLink)));
    else delete registry_links[artifact];
  }
  return {
    environments: cur.environments,
    settings,
    gates,
    notifications,
    freeze_windows: freeze,
    approval_rules,
    webhook_gates,
    webhooks,
    git_targets,
    change_control,
    registry_links,
    analysis_templates,
    recurring_promotions,
    bindings,
    group_mapping,
  };
}

/**
 * A document's change-control rule, checked as PUT …/change-control checks the same fields (checkChangeControl: every
 * issue named by its document path), in the form the export writes (defaults filled in). Its credential is a reference:
 * read, checked and sealed at apply (domain/manifest/apply-outbound.ts changeControlOfDoc); the placeholder of one set
 * through the API keeps it, and names nothing where there is none.
 */
function changeControlOf(
  d: NonNullable<NonNullable<Manifest['artifacts']['promotion']['change_control']>[string]>,
  at: string,
  urls: { allowLoopback: boolean },
  have: ChangeDoc | undefined,
): { issues: { path: string; message: string }[]; doc?: ChangeDoc } {
  const { credentials, ...rest } = d;
  const checked = checkChangeControl(rest as ChangeControlBody, (u) => checkTenantUrl(u, urls));
  const issues = checked.issues.map((i) => ({ path: i.path.replace(/^body\./, `${at}.`), message: i.message.replace(/\bbody\./g, '') }));
  if (credentials === UNKNOWN_SECRET && have?.credentials !== UNKNOWN_SECRET)
    issues.push({
      path: `${at}.credentials`,
      message: `${UNKNOWN_SECRET} keeps a credential set through the API, and this environment has no rule with one: name the tenant secret that holds it, e.g. \${SERVICENOW_CREDENTIAL} (purpose change-credential)`,
    });
  if (issues.length) return { issues };
  const credentialRef = credentials === UNKNOWN_SECRET ? undefined : SECRET_REF.exec(credentials)![1]!;
  return {
    issues,
    doc: changeControlDoc({
      provider: checked.provider,
      instanceUrl: d.instanceUrl,
      type: checked.type,
      template: d.template ?? undefined,
      approvedStates: checked.approvedStates,
      jira: checked.jira,
      credentialRef,
    }),
  };
}
