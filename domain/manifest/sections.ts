import { storedPaths } from '../gitops/path-map.ts';
import { canonicalJson } from '../kernel/canonical.ts';
import type { AnalysisRef, PreAnalysis, Rollout, Target } from '../kernel/target-schemas.ts';
import type { AnalysisTemplate } from '../verification/template.ts';
import type { FreezeWindow } from '../freeze/model.ts';
import type { ChangeControl, Environment } from '../kernel/model.ts';
import { type NotificationSettings } from '../notify/model.ts';
import type { Gates } from '../kernel/schemas.ts';
import type { RecurringPromotion, Rule } from '../kernel/promotion-model.ts';
import type { CreateRule } from '../kernel/promotion-schemas.ts';
import { type Manifest } from './document.ts';
import { isRedactedUrl, redactUrl } from '../kernel/url-policy.ts';
import type { WebhookSubscription } from '../webhooks/model.ts';
import type { GitTarget } from '../gitops/ports.ts';
import type { RepoLink } from '../artifacts/model.ts';
import type { Binding } from '../access/bindings.ts';
import type { GroupMapEntry } from '../access/group-mapping.ts';
/**
 * The sections of a manifest as documents: what each entity of a tenant's setup reads as in a manifest
 * (webhook subscriptions, git targets, registry links, webhook gates, rules, freeze windows), sorted and
 * keyed so two setups compare section by section (service.ts plans and applies the difference).
 */
export type Promo = Manifest['artifacts']['promotion'];

export type FreezeDoc = NonNullable<Promo['freeze_windows']>[number];

export interface Setup {
  environments: string[];
  settings: Record<
    string,
    {
      description: string;
      protected: boolean;
      bake_seconds: number;
      soak_seconds?: number;
      /** null only as a document gives it (no hours): the settings compared leave it out */
      allowed_hours?: Environment['allowedHours'] | null;
      after?: string[];
      after_mode?: 'all' | 'any';
      require_attestation_from?: string[];
      auto_promote?: boolean;
      cache_max_age_seconds?: number;
      concurrency: Environment['concurrency'];
      verification: 'digest_match' | 'signature_match';
      signing_key?: string;
      monitors?: string[];
      targets?: Target[];
      rollout?: Rollout;
      analysis?: AnalysisRef[];
      pre_analysis?: PreAnalysis[];
    }
  >;
  /** the tenant's analysis templates, by name */
  analysis_templates: AnalysisTemplate[];
  /** the tenant's recurring promotions, by name */
  recurring_promotions: RecurringDoc[];
  /** the tenant's role bindings, in normal form (domain/access/bindings.ts normalBindings) */
  bindings: Binding[];
  /** the tenant's group mapping, in normal form (domain/access/group-mapping.ts normalGroupMap) */
  group_mapping: GroupMapEntry[];
  gates: Record<string, Gates>;
  notifications: {
    slack?: { webhook: string; channels: string[]; team_id?: string };
    email?: { recipients: string[]; approvers: boolean };
    events?: string[];
  } | null;
  freeze_windows: FreezeDoc[];
  /** one per source → target pair, sorted by pair */
  approval_rules: CreateRule[];
  webhook_gates: Record<string, WebhookDoc[]>;
  /** outbound webhook subscriptions, in key order (subscriptionKeys) */
  webhooks: SubscriptionDoc[];
  /** per environment that has one */
  git_targets: Record<string, GitDoc>;
  /** per environment that has a change-control rule (domain/change/rule.ts), in the form changeControlDoc writes */
  change_control: Record<string, ChangeDoc>;
  /** per artifact with links, by registry repository */
  registry_links: Record<string, LinkDoc[]>;
}

export type SubscriptionDoc = NonNullable<Promo['webhooks']>[number];

export type RecurringDoc = NonNullable<Promo['recurring_promotions']>[number];

/** A recurring promotion as the document writes it (its runs and stamps are no part of the setup; defaults left out). */
export const recurringDoc = (
  r: Pick<RecurringPromotion, 'name' | 'source' | 'target' | 'artifact' | 'cron' | 'timeZone' | 'paused' | 'notes'>,
): RecurringDoc => ({
  name: r.name,
  source: r.source,
  target: r.target,
  ...(r.artifact ? { artifact: r.artifact } : {}),
  cron: r.cron,
  timezone: r.timeZone,
  ...(r.paused ? { paused: true } : {}),
  ...(r.notes ? { notes: r.notes } : {}),
});

/** A document's recurring promotion in the form recurringDoc writes (its cron's spaces as one, `paused: false` left out). */
export const recurringOfDoc = (d: RecurringDoc): RecurringDoc =>
  recurringDoc({ ...d, cron: d.cron.trim().split(/\s+/).join(' '), timeZone: d.timezone, paused: d.paused ?? false });

export const sortRecurring = (rs: RecurringDoc[]) => [...rs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** `edit` is left out when it is the default (yaml-path), so documents exported before there was a choice stay as they were. */
export type GitDoc = NonNullable<NonNullable<Promo['git_targets']>[string]>;

export type LinkDoc = NonNullable<Promo['registry_links']>[string][number];

/** A subscription as the document writes it (no id, health or secret; defaults left out; event types sorted). */
export const subscriptionDoc = (
  s: Pick<WebhookSubscription, 'url' | 'events'> & { environment?: string | null; description?: string; enabled?: boolean },
): SubscriptionDoc =>
  ({
    url: s.url,
    events: [...new Set(s.events)].sort(),
    ...(s.environment ? { environment: s.environment } : {}),
    ...(s.description ? { description: s.description } : {}),
    ...(s.enabled === false ? { enabled: false } : {}),
  }) as SubscriptionDoc;

/** A subscription doc with its URL as anyone but the admin who set it sees it (domain/kernel/url-policy.ts redactUrl). */
export const redactedDoc = (d: SubscriptionDoc): SubscriptionDoc => ({ ...d, url: asShown(isRedactedUrl(d.url) ? d.url : redactUrl(d.url)) });

/** A webhook gate doc with its URL redacted (to compare a document with the stored setup). */
export const redactedGate = (h: WebhookDoc): WebhookDoc => ({ ...h, url: asShown(isRedactedUrl(h.url) ? h.url : redactUrl(h.url)) });

/**
 * A redacted URL as the API shows it (`https://hooks.example.com/…#9f1edb4f`): the document is read by people, so
 * the ellipsis is written as one; an older export's percent-encoded form (`%E2%80%A6`) reads back as the same value.
 */
export const asShown = (url: string) => url.replace(/%e2%80%a6/gi, '…');

/**
 * Subscriptions have no name: one is known by its environment and URL (`* https://…` for the tenant-wide),
 * a second with the same pair by `#2` after it (in a stable order), so plans name what changes and the
 * same document matches the same subscriptions.
 */
export function subscriptionKeys<T>(items: T[], docOf: (t: T) => SubscriptionDoc): Map<string, T> {
  const sorted = items.map((t) => ({ t, d: docOf(t) })).sort((a, b) => (canonicalJson(a.d) < canonicalJson(b.d) ? -1 : 1));
  const seen = new Map<string, number>();
  const out = new Map<string, T>();
  for (const { t, d } of sorted) {
    const base = `${d.environment ?? '*'} ${d.url}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    out.set(n === 1 ? base : `${base} #${n}`, t);
  }
  return out;
}

export const sortSubscriptions = (docs: SubscriptionDoc[]) =>
  [...subscriptionKeys(docs, (d) => d).entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, d]) => d);

/** A git target as the document writes it: its token only as the `${NAME}` of the secret holding it. */
export const gitDoc = (t: Pick<GitTarget, 'repository' | 'branch' | 'file' | 'edit' | 'path' | 'value' | 'tokenSecret' | 'pullRequest' | 'paths'>): GitDoc => ({
  repository: t.repository,
  branch: t.branch,
  file: t.file,
  ...(t.edit && t.edit !== 'yaml-path' ? { edit: t.edit } : {}),
  path: t.path,
  value: t.value,
  ...(t.tokenSecret ? { token: `\${${t.tokenSecret}}` } : {}),
  // The path map as stored (sorted, without what an entry leaves out), so export | apply is a no-op.
  ...(storedPaths(t.paths) ? { paths: storedPaths(t.paths)! } : {}),
  // Pull-request mode as the document writes it: unset optional names left out, so export | apply is a no-op.
  ...(t.pullRequest
    ? {
        pullRequest: {
          host: t.pullRequest.host,
          ...(t.pullRequest.apiUrl ? { apiUrl: t.pullRequest.apiUrl } : {}),
          tokenSecret: t.pullRequest.tokenSecret,
          ...(t.pullRequest.webhookSecret ? { webhookSecret: t.pullRequest.webhookSecret } : {}),
          ...(t.pullRequest.appSlug ? { appSlug: t.pullRequest.appSlug } : {}),
          draft: t.pullRequest.draft,
          autoMerge: t.pullRequest.autoMerge,
          reviewers: t.pullRequest.reviewers,
          labels: t.pullRequest.labels,
        },
      }
    : {}),
});

export type ChangeDoc = NonNullable<NonNullable<Promo['change_control']>[string]>;

/**
 * A change-control rule as the document writes it: its credential only as the `${NAME}` of the tenant secret it was
 * read from (purpose change-credential), or the placeholder of one set through the API; defaults filled in (as saved),
 * so export | apply is a no-op.
 */
export const changeControlDoc = (
  r: Pick<ChangeControl, 'provider' | 'instanceUrl' | 'type' | 'template' | 'approvedStates' | 'jira' | 'credentialRef'>,
): ChangeDoc => ({
  provider: r.provider,
  instanceUrl: r.instanceUrl,
  type: r.type,
  ...(r.type === 'standard' && r.template ? { template: r.template } : {}),
  approvedStates: r.approvedStates,
  ...(r.jira ? { jira: r.jira } : {}),
  credentials: r.credentialRef ? `\${${r.credentialRef}}` : UNKNOWN_SECRET,
});

export const linkDoc = (l: Pick<RepoLink, 'registry' | 'repository' | 'tags'>): LinkDoc => ({ registry: l.registry, repository: l.repository, tags: l.tags });

export const repoOf = (l: Pick<RepoLink, 'registry' | 'repository'>) => `${l.registry}/${l.repository}`;

export const sortLinks = (links: LinkDoc[]) => [...links].sort((a, b) => (repoOf(a) < repoOf(b) ? -1 : 1));

export type WebhookDoc = NonNullable<Promo['webhook_gates']>[string][number];

/** A stored webhook gate as the document writes it: its secret only as the reference it came from. */
export const webhookDoc = (h: Environment['webhookGates'][number]): WebhookDoc => ({
  name: h.name,
  url: asShown(redactUrl(h.url)),
  timeout_ms: h.timeoutMs,
  blocking: h.blocking,
  secret: h.secretRef ? `\${${h.secretRef}}` : UNKNOWN_SECRET,
});

export const RULE_FIELDS = [
  'name',
  'sourceEnvironment',
  'targetEnvironment',
  'requiresApproval',
  'requiredApprovers',
  'approverGroups',
  'separationOfDuties',
  'approvalExpirySeconds',
  'autoPromote',
  'conditions',
  'allowSkip',
  'soakSeconds',
  'requireAttestationFrom',
  'status',
  'evidenceFrom',
] as const;

export const pairOf = (r: Pick<Rule, 'sourceEnvironment' | 'targetEnvironment'>) => `${r.sourceEnvironment}->${r.targetEnvironment}`;

/** A stored rule as the document writes it: the fields POST /promotions/rules takes. */
export const ruleDoc = (r: Rule): CreateRule => ({
  ...(Object.fromEntries(RULE_FIELDS.filter((f) => (r[f] !== undefined && r[f] !== null) || f === 'conditions').map((f) => [f, r[f]])) as CreateRule),
  evidenceFrom: r.evidenceFrom ?? 'anyone',
});

/** A rule as a document gives it, in the form ruleDoc writes: a soak of null is no soak of the rule's. */
export const ruleOfDoc = (r: CreateRule): CreateRule => {
  const { soakSeconds, ...rest } = r;
  return soakSeconds === undefined || soakSeconds === null ? rest : { ...rest, soakSeconds };
};

export const byPair = (rules: CreateRule[]) => Object.fromEntries(rules.map((r) => [pairOf(r), r]));

export const sortRules = (rules: CreateRule[]) => [...rules].sort((a, b) => (pairOf(a) < pairOf(b) ? -1 : 1));

export interface Change {
  op: 'add' | 'change' | 'remove';
  path: string;
  before?: unknown;
  after?: unknown;
}

export const GATE_NAMES = ['policy_compliance', 'tests', 'security_scan', 'cost_analysis', 'performance_baseline'] as const;

/** What the document says about a secret the tenant set through the API (no reference known). */
export const UNKNOWN_SECRET = '${SET_THROUGH_THE_API}';

export function freezeDoc(w: FreezeWindow): FreezeDoc {
  return {
    reason: w.reason,
    ...(w.scope !== '*' ? { environment: w.scope } : {}),
    ...(w.kind === 'once' ? { start: w.start, end: w.end } : { cron: w.cron, end_cron: w.endCron, timezone: w.timezone }),
  };
}

export const freezeKey = (w: FreezeDoc) =>
  canonicalJson({ ...w, ...(w.start ? { start: new Date(w.start).toISOString(), end: new Date(w.end!).toISOString() } : {}) });

export interface Current {
  setup: Setup;
  envs: Environment[];
  windows: FreezeWindow[];
  notify: NotificationSettings | null;
  head: string | null;
  rules: Rule[];
  subscriptions: WebhookSubscription[];
  gitTargets: GitTarget[];
  links: RepoLink[];
  /** the version of the tenant's templates item (null: none yet) */
  templatesVersion: number | null;
  recurring: RecurringPromotion[];
  /** the version of the tenant's bindings item (null: none yet) */
  bindingsVersion: number | null;
  /** the version of the tenant's group mapping item (null: none yet) */
  groupMappingVersion: number | null;
}
