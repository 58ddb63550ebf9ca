import { auditEntry } from '../audit/audit.ts';
import { assertAdminLeft } from '../access/binding-settings.ts';
import { normalBindings, type Binding } from '../access/bindings.ts';
import { normalGroupMap, type GroupMapEntry } from '../access/group-mapping.ts';
import { assertNotRollingOut, watchedMonitors } from '../config/targets.ts';
import { canonicalJson, digestOf, sha256Hex } from '../kernel/canonical.ts';
import { RuleViolation, VersionConflict } from '../kernel/errors.ts';
import type { FreezeWindow } from '../freeze/model.ts';
import type { EntityType } from '../kernel/model.ts';
import type { Ctx, Deps, WriteOp, With } from '../kernel/deps.ts';
import { lineOf } from '../kernel/line.ts';
import { ownValue } from '../kernel/reserved-keys.ts';
import { retryOnConflict } from '../kernel/retry.ts';
import { GATE_NAMES, type Gates } from '../kernel/schemas.ts';
import type { Rule } from '../kernel/promotion-model.ts';
import { freezeHoldsEnded } from '../promotion/run/freeze-hold.ts';
import { randomBytes } from 'node:crypto';
import { manifestYaml, parseManifest, type Manifest } from './document.ts';
import { armFreezeEdge, freezeAddedOps, freezeRemovedOps } from '../freeze/windows.ts';
import type { GitTarget } from '../gitops/ports.ts';
import { resolveWebhookGates, deliveryOps, notifySettings, symmetricDifference, needWebhooks, changeControlOfDoc } from './apply-outbound.ts';
import {
  type Current,
  type Setup,
  UNKNOWN_SECRET,
  freezeDoc,
  freezeKey,
  sortRules,
  ruleDoc,
  webhookDoc,
  sortSubscriptions,
  redactedDoc,
  subscriptionDoc,
  gitDoc,
  changeControlDoc,
  sortLinks,
  linkDoc,
  type Promo,
  type Change,
  pairOf,
  byPair,
  redactedGate,
  subscriptionKeys,
  repoOf,
  recurringDoc,
  sortRecurring,
  type RecurringDoc,
} from './sections.ts';

import type { Simulation, SimulateOptions } from './simulate.ts';
import { cloudWatchManifestIssues, sortTemplates, templatesByName } from './templates.ts';
import { recurringOps, scheduleRecurring } from './recurring.ts';
import { assertMayApply, withNeeds, type PlannedChange } from './rights.ts';

/**
 * Promotion policy as code: the tenant's setup as one document (domain/manifest/document.ts),
 * planned field by field, applied as ONE audited transaction, exported back so that
 * `export | apply` changes nothing. A section the document leaves out is not managed by it.
 * The plan carries the digest of the setup it was made against; apply refuses a stale plan, and a
 * conditional write of the manifest head makes two applies of the same plan never interleave.
 */

/**
 * The tenant's setup. Registry links are read for the artifacts the tenant's link index names, those in
 * the line (a link saved before that index existed) and those the document names.
 */
async function current(deps: Deps, tenant: string, named: string[] = []): Promise<Current> {
  const [envs, windows, notify, head, rules, subscriptions, templates, recurring, bindings, groupMapping] = await Promise.all([
    deps.store.listEnvironments(tenant),
    deps.store.listFreezeWindows(tenant),
    deps.store.getNotificationSettings(tenant, 'tenant'),
    deps.store.manifestHead(tenant),
    deps.store.listRules(tenant),
    deps.store.listWebhooks(tenant),
    deps.store.getAnalysisTemplates(tenant),
    deps.store.listRecurringPromotions(tenant),
    deps.store.getBindings(tenant),
    deps.store.getGroupMapping(tenant),
  ]);
  const line = lineOf(envs);
  const [targets, pointers, linked] = await Promise.all([
    Promise.all(line.map((e) => deps.store.getGitTarget(tenant, e.name))),
    Promise.all(line.map((e) => deps.store.listPointers(tenant, e.name))),
    deps.store.linkedArtifacts(tenant),
  ]);
  const gitTargets = targets.filter((t): t is GitTarget => t !== null);
  const artifacts = [...new Set([...linked, ...pointers.flat().map((p) => p.name), ...named])].sort();
  const links = (await Promise.all(artifacts.map((a) => deps.store.listRepoLinks(tenant, a)))).flat();
  const setup: Setup = {
    environments: line.map((e) => e.name),
    settings: Object.fromEntries(
      line.map((e) => [
        e.name,
        {
          description: e.description,
          protected: e.protected,
          bake_seconds: e.bakeSeconds ?? 0,
          ...(e.soakSeconds ? { soak_seconds: e.soakSeconds } : {}),
          ...(e.allowedHours ? { allowed_hours: e.allowedHours } : {}),
          ...(e.after?.length ? { after: e.after, ...(e.afterMode ? { after_mode: e.afterMode } : {}) } : {}),
          ...(e.requireAttestationFrom?.length ? { require_attestation_from: e.requireAttestationFrom } : {}),
          ...(e.autoPromote ? { auto_promote: true } : {}),
          ...(e.cacheMaxAgeSeconds ? { cache_max_age_seconds: e.cacheMaxAgeSeconds } : {}),
          concurrency: e.concurrency ?? 'queue',
          verification: e.verification ?? 'digest_match',
          ...(e.signingKey ? { signing_key: e.signingKey } : {}),
          ...(e.monitors?.length ? { monitors: e.monitors } : {}),
          // A target saved before targets had analyses reads as one with none (as the schema's default writes it).
          ...(e.targets?.length ? { targets: e.targets.map((t) => ({ ...t, analysis: t.analysis ?? [] })), ...(e.rollout ? { rollout: e.rollout } : {}) } : {}),
          ...(e.analysis?.length ? { analysis: e.analysis } : {}),
          ...(e.preAnalysis?.length ? { pre_analysis: e.preAnalysis } : {}),
        },
      ]),
    ),
    gates: Object.fromEntries(line.map((e) => [e.name, Object.fromEntries(GATE_NAMES.map((g) => [g, e.gates[g] ?? g === 'policy_compliance'])) as Gates])),
    notifications: notify
      ? {
          ...(notify.slack
            ? {
                slack: {
                  webhook: notify.slack.webhookRef ? `\${${notify.slack.webhookRef}}` : UNKNOWN_SECRET,
                  channels: notify.slack.channels,
                  ...(notify.slack.teamId ? { team_id: notify.slack.teamId } : {}),
                },
              }
            : {}),
          ...(notify.email ? { email: notify.email } : {}),
          ...(notify.events ? { events: notify.events } : {}),
        }
      : null,
    freeze_windows: windows.map(freezeDoc).sort((a, b) => (freezeKey(a) < freezeKey(b) ? -1 : 1)),
    approval_rules: sortRules(rules.map(ruleDoc)),
    webhook_gates: Object.fromEntries(line.map((e) => [e.name, (e.webhookGates ?? []).map(webhookDoc)])),
    // Redacted: a receiver's URL often carries its credential; a redacted URL in a document keeps the stored one.
    webhooks: sortSubscriptions(subscriptions.map((x) => redactedDoc(subscriptionDoc(x)))),
    git_targets: Object.fromEntries(gitTargets.map((t) => [t.environment, gitDoc(t)])),
    change_control: Object.fromEntries(line.filter((e) => e.changeControl).map((e) => [e.name, changeControlDoc(e.changeControl!)])),
    registry_links: Object.fromEntries(
      artifacts.map((a) => [a, sortLinks(links.filter((l) => l.artifact === a).map(linkDoc))] as const).filter(([, l]) => l.length),
    ),
    analysis_templates: sortTemplates(templates?.templates ?? []),
    recurring_promotions: sortRecurring(recurring.map(recurringDoc)),
    bindings: normalBindings(bindings?.bindings ?? []),
    group_mapping: normalGroupMap(groupMapping?.entries ?? []),
  };
  return {
    setup,
    envs: line,
    windows,
    notify,
    head,
    rules,
    subscriptions,
    gitTargets,
    links,
    templatesVersion: templates?.version ?? null,
    recurring,
    bindingsVersion: bindings?.version ?? null,
    groupMappingVersion: groupMapping?.version ?? null,
  };
}

/** The setup's digest; a tenant without recurring promotions keeps the digest it had before they were part of the setup. */
export const setupDigest = (s: Setup) => {
  // Sections added later count only when they hold something: a tenant without them keeps its digest.
  const { recurring_promotions, bindings, group_mapping, change_control, ...rest } = s;
  return digestOf({
    ...rest,
    ...(Object.keys(change_control).length ? { change_control } : {}),
    ...(recurring_promotions.length ? { recurring_promotions } : {}),
    ...(bindings.length ? { bindings } : {}),
    ...(group_mapping.length ? { group_mapping } : {}),
  });
};

/** The document for a setup: the manifest.yaml shape plus Stageline's sections. */
export function toManifest(s: Setup): Manifest {
  return {
    artifacts: {
      promotion: {
        environments: s.environments,
        environment_settings: s.settings,
        gates: s.gates,
        ...(s.notifications ? { notifications: s.notifications as Promo['notifications'] } : {}),
        freeze_windows: s.freeze_windows,
        approval_rules: s.approval_rules,
        webhook_gates: s.webhook_gates,
        webhooks: s.webhooks,
        git_targets: s.git_targets,
        ...(Object.keys(s.change_control).length ? { change_control: s.change_control } : {}),
        registry_links: s.registry_links,
        analysis_templates: s.analysis_templates,
        ...(s.recurring_promotions.length ? { recurring_promotions: s.recurring_promotions } : {}),
        ...(s.bindings.length ? { bindings: s.bindings } : {}),
        ...(s.group_mapping.length ? { group_mapping: s.group_mapping } : {}),
        cross_registry_sync: true,
        // The document-wide value: signature_match when every environment has it (each environment also says its own).
        verification:
          s.environments.length && s.environments.every((e) => s.settings[e]?.verification === 'signature_match') ? 'signature_match' : 'digest_match',
      },
    },
  } as Manifest;
}

function diff(path: string, before: unknown, after: unknown, out: Change[]): void {
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) return;
  if (before && after && typeof before === 'object' && typeof after === 'object' && !Array.isArray(before) && !Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const k of keys) diff(`${path}.${k}`, (before as Record<string, unknown>)[k], (after as Record<string, unknown>)[k], out);
    return;
  }
  if (before === undefined || before === null) out.push({ op: 'add', path, after });
  else if (after === undefined || after === null) out.push({ op: 'remove', path, before });
  else out.push({ op: 'change', path, before, after });
}

function planOf(cur: Setup, want: Setup): Change[] {
  const changes: Change[] = [];
  diff('environment_settings', cur.settings, want.settings, changes);
  diff('gates', cur.gates, want.gates, changes);
  diff('notifications', cur.notifications, want.notifications, changes);
  diff('approval_rules', byPair(cur.approval_rules), byPair(want.approval_rules), changes);
  // Webhook gates by environment and name, so a plan names the gate and field that change.
  const hooks = (s: Setup) =>
    Object.fromEntries(Object.entries(s.webhook_gates).map(([env, list]) => [env, Object.fromEntries(list.map((h) => [h.name, redactedGate(h)]))]));
  diff('webhook_gates', hooks(cur), hooks(want), changes);
  // Subscriptions by environment and URL; git targets by environment; links by artifact and registry repository.
  diff(
    'webhooks',
    Object.fromEntries(subscriptionKeys(cur.webhooks, redactedDoc)),
    Object.fromEntries([...subscriptionKeys(want.webhooks, redactedDoc)].map(([k, d]) => [k, redactedDoc(d)])),
    changes,
  );
  diff('git_targets', cur.git_targets, want.git_targets, changes);
  diff('change_control', cur.change_control, want.change_control, changes);
  const links = (s: Setup) => Object.fromEntries(Object.entries(s.registry_links).map(([a, list]) => [a, Object.fromEntries(list.map((l) => [repoOf(l), l]))]));
  diff('registry_links', links(cur), links(want), changes);
  diff('analysis_templates', templatesByName(cur.analysis_templates), templatesByName(want.analysis_templates), changes);
  const byName = (rs: RecurringDoc[]) => Object.fromEntries(rs.map((r) => [r.name, r]));
  diff('recurring_promotions', byName(cur.recurring_promotions), byName(want.recurring_promotions), changes);
  // Bindings by subject and role, so a plan names whose rights change where.
  const bySubject = (bs: Binding[]) =>
    Object.fromEntries(bs.map((b) => [`${b.user !== undefined ? `user:${b.user}` : `group:${b.group}`} ${b.role}`, b.environments]));
  diff('bindings', bySubject(cur.bindings), bySubject(want.bindings), changes);
  // The group mapping by IdP group, so a plan names whose groups map to something else.
  const byIdpGroup = (es: GroupMapEntry[]) => {
    // No prototype: an IdP group named `__proto__` is a key like any other.
    const out = Object.create(null) as Record<string, Omit<GroupMapEntry, 'idpGroup'>[]>;
    for (const { idpGroup, ...to } of es) out[idpGroup] = [...(out[idpGroup] ?? []), to];
    return out;
  };
  diff('group_mapping', byIdpGroup(cur.group_mapping), byIdpGroup(want.group_mapping), changes);
  // Freeze windows have no name: one is added or removed as a whole.
  const have = new Set(cur.freeze_windows.map(freezeKey));
  const wanted = new Set(want.freeze_windows.map(freezeKey));
  for (const w of cur.freeze_windows) if (!wanted.has(freezeKey(w))) changes.push({ op: 'remove', path: 'freeze_windows', before: w });
  for (const w of want.freeze_windows) if (!have.has(freezeKey(w))) changes.push({ op: 'add', path: 'freeze_windows', after: w });
  return changes;
}

export async function exportManifest(deps: Deps, ctx: Ctx, format: 'yaml' | 'json') {
  const { setup } = await current(deps, ctx.principal.tenant);
  const doc = toManifest(setup);
  const digest = setupDigest(setup);
  return format === 'json'
    ? { text: `${JSON.stringify(doc, null, 2)}\n`, digest }
    : { text: `# Stageline promotion manifest of tenant ${ctx.principal.tenant} (digest ${digest})\n${await manifestYaml(doc)}`, digest };
}

/** A CloudWatch analysis the document attaches where a measured target has no account with a registered role: 422 naming the field. */
async function assertCloudWatchAccounts(deps: Deps, tenant: string, want: Setup): Promise<void> {
  if (!want.analysis_templates.some((t) => t.provider.type === 'cloudwatch')) return;
  const issues = cloudWatchManifestIssues(want, (await deps.store.getMetricAccounts(tenant))?.accounts, 'document.artifacts.promotion');
  if (issues.length)
    throw new RuleViolation(`A CloudWatch analysis the manifest attaches has no account with a registered role: ${issues[0]!.message}`, { issues });
}

/** What applying a document would change; with `simulateSeconds`, also how it would have decided the promotions of that look-back (simulate.ts). */
/**
 * The setup a document asks for, with every section's schema (targets, analysis templates, change rules...): what a plan
 * and an apply read, never an export. Loaded on the first plan, so the function's exports read none of it at init.
 */
const desiredSetup = async () => (await import('./desired.ts')).desired;

export async function planManifest(deps: Deps, ctx: Ctx, document: string, opts: { simulateSeconds?: number } & SimulateOptions = {}) {
  const m = await parseManifest(document);
  const cur = await current(deps, ctx.principal.tenant, namedArtifacts(m));
  const want = (await desiredSetup())(ctx.principal.tenant, cur.setup, m, deps.deployment, deps.tunables);
  await assertCloudWatchAccounts(deps, ctx.principal.tenant, want);
  // Each change says which right it needs where (apply checks exactly these).
  const changes = withNeeds(planOf(cur.setup, want), cur.setup, want);
  const plan: { digest: string; changes: PlannedChange[]; summary: ReturnType<typeof summary>; simulation?: Simulation } = {
    digest: setupDigest(cur.setup),
    changes,
    summary: summary(changes),
  };
  if (opts.simulateSeconds === undefined) return plan;
  const { simulateSeconds, ...paging } = opts;
  // A simulation (what the promotions in flight would do under the new setup) is asked for by some plans only: loaded on the first.
  const { simulate } = await import('./simulate.ts');
  return { ...plan, simulation: await simulate(deps, ctx.principal.tenant, cur, want, simulateSeconds, paging) };
}

const namedArtifacts = (m: Manifest) => Object.keys(m.artifacts.promotion.registry_links ?? {});

const summary = (changes: Change[]) => ({
  add: changes.filter((c) => c.op === 'add').length,
  change: changes.filter((c) => c.op === 'change').length,
  remove: changes.filter((c) => c.op === 'remove').length,
});

/** DynamoDB transactions take at most 100 items; one is the audit entry, one the manifest head. */
const MAX_OPS = 98;

export async function applyManifest(deps: With<'scheduler' | 'webhooks' | 'sealer' | 'changes'>, ctx: Ctx, document: string, expectedDigest?: string) {
  const m = await parseManifest(document);
  const documentDigest = `sha256:${sha256Hex(document)}`;
  // A lost race (another apply, or any change to what the plan covers) re-reads: the digest then tells.
  return retryOnConflict(deps.tunables, () => applyOnce(deps, ctx, m, documentDigest, expectedDigest));
}

/**
 * The security-relevant part of a plan, each change audited as an entry of its own: approval rules,
 * gates, webhook gates, protection and verification, freeze windows, notifications. Everything else
 * is named in the apply's own entry (all of it, never a sample).
 */
function securityAudit(c: Change): { action: string; entityType: EntityType; entityId: string } | null {
  const [section, key, field] = c.path.split('.');
  const op = c.op;
  switch (section) {
    case 'approval_rules':
      return { action: `manifest.rule.${op}`, entityType: 'rule', entityId: key ?? 'rules' };
    case 'gates':
      return { action: `manifest.gates.${op}`, entityType: 'environment', entityId: key ?? 'gates' };
    case 'webhook_gates':
      return { action: `manifest.webhook-gate.${op}`, entityType: 'environment', entityId: key ?? 'webhook_gates' };
    case 'freeze_windows':
      return { action: `manifest.freeze.${op}`, entityType: 'freeze-window', entityId: 'manifest' };
    case 'notifications':
      return { action: `manifest.notifications.${op}`, entityType: 'manifest', entityId: 'notifications' };
    case 'webhooks':
      return { action: `manifest.webhook.${op}`, entityType: 'webhook', entityId: 'manifest' };
    case 'git_targets':
      return { action: `manifest.git-target.${op}`, entityType: 'git-target', entityId: key ?? 'git_targets' };
    case 'change_control':
      return { action: `manifest.change-control.${op}`, entityType: 'environment', entityId: key ?? 'change_control' };
    case 'registry_links':
      return { action: `manifest.registry-link.${op}`, entityType: 'artifact', entityId: key ?? 'registry_links' };
    case 'recurring_promotions':
      return { action: `manifest.recurring.${op}`, entityType: 'recurring-promotion', entityId: key ?? 'recurring_promotions' };
    case 'bindings':
      return { action: `manifest.bindings.${op}`, entityType: 'tenant', entityId: 'access-bindings' };
    case 'group_mapping':
      return { action: `manifest.group-mapping.${op}`, entityType: 'tenant', entityId: 'group-mapping' };
    case 'analysis_templates':
      return { action: `manifest.analysis-template.${op}`, entityType: 'analysis-template', entityId: key ?? 'analysis_templates' };
    case 'environment_settings':
      if (field === 'protected') return { action: `manifest.protection.${op}`, entityType: 'environment', entityId: key! };
      if (field === 'verification' || field === 'signing_key') return { action: `manifest.verification.${op}`, entityType: 'environment', entityId: key! };
      if (field === 'analysis' || field === 'pre_analysis') return { action: `manifest.analysis.${op}`, entityType: 'environment', entityId: key! };
      if (field === 'targets' || field === 'rollout') return { action: `manifest.targets.${op}`, entityType: 'environment', entityId: key! };
      if (field === 'monitors') return { action: `manifest.monitors.${op}`, entityType: 'environment', entityId: key! };
      return null;
    default:
      return null;
  }
}

/** A value as an audit entry shows it (the document's form: secrets only as `${NAME}` references); long ones cut, with the full value's digest. */
function auditValue(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const json = canonicalJson(v);
  return json.length <= 2000 ? json : `${json.slice(0, 1900)}… (${json.length} characters, ${digestOf(v)})`;
}

async function applyOnce(deps: With<'scheduler' | 'webhooks' | 'sealer' | 'changes'>, ctx: Ctx, m: Manifest, documentDigest: string, expectedDigest?: string) {
  const { tenant } = ctx.principal;
  const cur = await current(deps, tenant, namedArtifacts(m));
  const digest = setupDigest(cur.setup);
  if (expectedDigest && expectedDigest !== digest) {
    throw new VersionConflict(`the setup changed since the plan (digest ${expectedDigest.slice(0, 19)}…, now ${digest.slice(0, 19)}…): plan again`, {
      currentDigest: digest,
    });
  }
  const want = (await desiredSetup())(tenant, cur.setup, m, deps.deployment, deps.tunables);
  await assertCloudWatchAccounts(deps, tenant, want);
  const changes = withNeeds(planOf(cur.setup, want), cur.setup, want);
  if (changes.length === 0) return { applied: false, digest, changes, summary: summary(changes) };
  // Each change needs the right in the environment it touches (tenant-wide sections: every one): all or nothing.
  assertMayApply(ctx.principal, cur.setup.bindings, changes);
  const now = deps.clock();
  const at = now.toISOString();
  const ops: WriteOp[] = [];
  for (const env of cur.envs) {
    const s = want.settings[env.name]!;
    const g = want.gates[env.name]!;
    const w = want.webhook_gates[env.name] ?? [];
    const hooksChanged = canonicalJson(w.map(redactedGate)) !== canonicalJson((cur.setup.webhook_gates[env.name] ?? []).map(redactedGate));
    // The change-control rule lives on the environment's item: saved through the API's own checks (its template looked up now).
    const cc = ownValue(want.change_control, env.name);
    const ccChanged = canonicalJson(cc ?? null) !== canonicalJson(ownValue(cur.setup.change_control, env.name) ?? null);
    if (
      canonicalJson(s) === canonicalJson(cur.setup.settings[env.name]) &&
      canonicalJson(g) === canonicalJson(cur.setup.gates[env.name]) &&
      !hooksChanged &&
      !ccChanged
    )
      continue;
    const webhookGates = hooksChanged ? await resolveWebhookGates(deps, tenant, env, w) : env.webhookGates;
    const changeControl = !ccChanged ? env.changeControl : cc ? await changeControlOfDoc(deps, tenant, env, cc, ctx.principal.name) : undefined;
    // A target a promotion is rolling out through cannot be removed (409), by the API or by a manifest.
    await assertNotRollingOut(deps.store, env, s.targets ?? []);
    const {
      targets: _t,
      rollout: _r,
      soakSeconds: _s,
      allowedHours: _h,
      analysis: _a,
      preAnalysis: _p,
      after: _af,
      afterMode: _am,
      requireAttestationFrom: _ra,
      autoPromote: _ap,
      changeControl: _cc,
      ...untargeted
    } = env;
    ops.push({
      kind: 'environment',
      env: {
        ...untargeted,
        description: s.description,
        protected: s.protected,
        bakeSeconds: s.bake_seconds,
        ...(s.soak_seconds ? { soakSeconds: s.soak_seconds } : {}),
        ...(s.allowed_hours ? { allowedHours: s.allowed_hours } : {}),
        ...(s.after?.length ? { after: s.after, ...(s.after_mode ? { afterMode: s.after_mode } : {}) } : {}),
        ...(s.require_attestation_from?.length ? { requireAttestationFrom: s.require_attestation_from } : {}),
        ...(s.auto_promote ? { autoPromote: true } : {}),
        cacheMaxAgeSeconds: s.cache_max_age_seconds ?? 0,
        concurrency: s.concurrency,
        verification: s.verification,
        ...(s.signing_key ? { signingKey: s.signing_key } : {}),
        monitors: s.monitors ?? [],
        ...(s.targets?.length ? { targets: s.targets, ...(s.rollout ? { rollout: s.rollout } : {}) } : {}),
        ...(s.analysis?.length ? { analysis: s.analysis } : {}),
        ...(s.pre_analysis?.length ? { preAnalysis: s.pre_analysis } : {}),
        gates: g,
        webhookGates,
        ...(changeControl ? { changeControl } : {}),
        version: env.version + 1,
        updatedAt: at,
        updatedBy: ctx.principal.name,
      },
      expectedVersion: env.version,
      // The alarm-event handler finds who watches an alarm through the monitors' index items: they move with the list.
      previousMonitors: watchedMonitors(env),
      // The targets have an item of their own, written only when they change.
      previousTargets: env.targets ?? [],
    });
  }
  const wanted = new Set(want.freeze_windows.map(freezeKey));
  // A window removed (or changed: a changed window is the old one removed and the new one added) ends early.
  const ended = cur.windows.filter((w) => !wanted.has(freezeKey(freezeDoc(w))));
  for (const w of ended) ops.push({ kind: 'deleteFreezeWindow', id: w.id }, ...(await freezeRemovedOps(w, now)));
  const have = new Set(cur.setup.freeze_windows.map(freezeKey));
  for (const w of want.freeze_windows) {
    if (have.has(freezeKey(w))) continue;
    const window: FreezeWindow = {
      id: `frz_${now.getTime().toString(36)}${randomBytes(4).toString('hex')}`,
      tenant,
      scope: w.environment ?? '*',
      reason: w.reason,
      kind: w.cron ? 'recurring' : 'once',
      ...(w.cron ? { cron: w.cron, endCron: w.end_cron, timezone: w.timezone } : { start: w.start, end: w.end }),
      createdBy: ctx.principal.name,
      createdAt: at,
    };
    // Its first edge is armed before it is written (as the API does): a window never written fires nothing.
    await armFreezeEdge(deps, window, now);
    ops.push({ kind: 'freezeWindow', window }, ...(await freezeAddedOps(window, now)));
  }
  // Rules by source → target pair: changed in place (same id, version checked), added, or removed.
  const haveRules = new Map(cur.rules.map((r) => [pairOf(r), r]));
  const wantRules = byPair(want.approval_rules);
  for (const [pair, doc] of Object.entries(wantRules)) {
    const r = haveRules.get(pair);
    if (r && canonicalJson(ruleDoc(r)) === canonicalJson(doc)) continue;
    // A rule's document is the whole rule: a soak it leaves out is no longer the rule's.
    const { soakSeconds: _soak, ...kept } = r ?? ({} as Partial<Rule>);
    const rule: Rule = r
      ? { ...(kept as Rule), ...doc, version: r.version + 1, updatedAt: at, updatedBy: ctx.principal.name }
      : {
          ...doc,
          id: `rule_${randomBytes(6).toString('hex')}`,
          version: 1,
          createdAt: at,
          createdBy: ctx.principal.name,
          updatedAt: at,
          updatedBy: ctx.principal.name,
        };
    ops.push({ kind: 'rule', rule, expectedVersion: r ? r.version : null });
    if (!r) ops.push({ kind: 'rulePair', source: rule.sourceEnvironment, target: rule.targetEnvironment, ruleId: rule.id, claim: true });
  }
  for (const [pair, r] of haveRules) {
    if (wantRules[pair]) continue;
    ops.push(
      { kind: 'deleteRule', id: r.id, expectedVersion: r.version },
      { kind: 'rulePair', source: r.sourceEnvironment, target: r.targetEnvironment, ruleId: r.id, claim: false },
    );
  }
  // Recurring promotions by name: changed in place (their runs kept), added, or removed; their schedules follow the commit.
  const recurring = recurringOps(cur, want, ctx.principal.name, at);
  ops.push(...recurring.ops);
  if (canonicalJson(want.analysis_templates) !== canonicalJson(cur.setup.analysis_templates))
    ops.push({ kind: 'analysisTemplates', templates: want.analysis_templates, expectedVersion: cur.templatesVersion });
  if (canonicalJson(want.bindings) !== canonicalJson(cur.setup.bindings)) {
    await assertAdminLeft(deps, ctx, want.bindings);
    ops.push({ kind: 'accessBindings', bindings: want.bindings, expectedVersion: cur.bindingsVersion });
  }
  if (canonicalJson(want.group_mapping) !== canonicalJson(cur.setup.group_mapping))
    ops.push({ kind: 'groupMapping', entries: want.group_mapping, expectedVersion: cur.groupMappingVersion });
  const delivery = await deliveryOps(deps, ctx, cur, want, now);
  ops.push(...delivery.ops);
  if (canonicalJson(want.notifications) !== canonicalJson(cur.setup.notifications) && want.notifications) {
    ops.push({
      kind: 'notifySettings',
      settings: await notifySettings(deps, tenant, want.notifications, cur.notify, ctx.principal.name, at),
      expectedVersion: cur.notify ? cur.notify.version : null,
    });
  }
  // Every change is audited in the same transaction: security-relevant ones as entries of their own (with
  // before and after), and the apply itself with the document's digest and the whole plan (every change named).
  const actor = { actor: ctx.principal.id, actorName: ctx.principal.name, requestId: ctx.requestId };
  const planDigest = digestOf(changes);
  const own: WriteOp[] = [];
  for (const c of changes) {
    const sec = securityAudit(c);
    if (sec)
      own.push({
        kind: 'audit',
        entry: auditEntry(
          tenant,
          {
            ...actor,
            ...sec,
            before: auditValue(c.before),
            after: auditValue(c.after),
            reason: `manifest apply (document ${documentDigest}, plan ${planDigest}): ${c.op} ${c.path}`,
          },
          now,
        ),
      });
  }
  // An environment whose monitors change also moves one index item per alarm added or removed.
  const monitorItems = ops.reduce(
    (n, op) => (op.kind === 'environment' && op.previousMonitors ? n + symmetricDifference(watchedMonitors(op.env), op.previousMonitors) : n),
    0,
  );
  // An environment whose targets change also writes their item (the store writes it only then).
  const targetItems = ops.filter(
    (op) => op.kind === 'environment' && op.previousTargets && canonicalJson(op.env.targets ?? []) !== canonicalJson(op.previousTargets),
  ).length;
  const items = ops.length + own.length + monitorItems + targetItems;
  if (items > MAX_OPS)
    throw new RuleViolation(
      `this plan writes ${items} items (its changes and their audit entries); one apply may write at most ${MAX_OPS}: apply it in parts`,
      { items },
    );
  const after = setupDigest(want);
  const plan = changes.map((c) => `${c.op} ${c.path}`).join(', ');
  const audit = auditEntry(
    tenant,
    {
      ...actor,
      action: 'manifest.apply',
      entityType: 'manifest',
      entityId: tenant,
      before: digest,
      after,
      reason: `document ${documentDigest}, plan ${planDigest}: ${changes.length} changes (${own.length} security-relevant, audited one by one): ${plan}`,
    },
    now,
  );
  ops.push(...own, { kind: 'manifestHead', digest: after, previous: cur.head }, { kind: 'audit', entry: audit });
  // Signing secrets of new subscriptions first (as the API does: a subscription never exists without one; a failed commit leaves an orphan, never a hole).
  for (const [id, secret] of delivery.newSecrets) await needWebhooks(deps).secrets.put(tenant, id, [secret]);
  await deps.store.commit(tenant, ops);
  // What the windows that ended held is looked at again now (through its schedule), as when the API removes one.
  for (const w of ended) await freezeHoldsEnded(deps, w);
  for (const sub of delivery.removed) await needWebhooks(deps).secrets.remove(tenant, sub.id);
  await scheduleRecurring(deps, tenant, recurring, now);
  const shown = delivery.shown.webhooks.length + delivery.shown.registry_links.length;
  return { applied: true, digest: after, documentDigest, planDigest, changes, summary: summary(changes), ...(shown ? { secrets: delivery.shown } : {}) };
}
