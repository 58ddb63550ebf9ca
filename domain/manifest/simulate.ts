import { canonicalJson } from '../kernel/canonical.ts';
import { SIMULATE_MAX_PROMOTIONS, type SimulateOptions } from './plan-schemas.ts';
import type { Deps } from '../kernel/deps.ts';
import type { Environment } from '../kernel/model.ts';
import type { Approval, Evidence, GateResult, HeldBy, Policy, Promotion, Rule } from '../kernel/promotion-model.ts';
import type { FreezeWindow } from '../freeze/model.ts';
import { activeWindowOf, occurrenceView } from '../freeze/windows.ts';
import { forCurrentRelease } from '../promotion/aggregate.ts';
import { readEvidence, type PromotionEvidence } from '../promotion/terms/evidence.ts';
import type { SimulationPage } from './simulation-pages.ts';
import { GATE_ORDER, evaluateGates } from '../promotion/terms/gate-verdicts.ts';
import { checkForward, contentChoosers, evidenceAccepted, lineOf, policyDigest, resolvePolicy } from '../promotion/terms/policy.ts';
import { decisionRecordOf } from '../promotion/terms/decision-record.ts';
import { type Current, type Setup, freezeDoc, freezeKey, pairOf, ruleDoc } from './sections.ts';

/**
 * A plan's replay over history: the promotions of the look-back, each decided again under the proposed
 * setup with the code that decided it (the policy resolved from the rules as a request resolves it, the
 * gates judged as validation judges them, the decision record as views.ts makes it), beside the decision
 * as stored. Reads only. What cannot be replayed without calling out (a webhook gate the proposal adds, a
 * signature the registry would verify) is named, not guessed. A promotion decided under an earlier setup
 * that the current one decides differently shows as changed: the comparison is with what was decided.
 */

/** One request replays for about this long, then answers with `next` (API Gateway answers within 30 s). */
export const SIMULATE_BUDGET_MS = 20_000;
/** At most this many changed promotions are listed (the newest); the summary counts all of them. */
export const SIMULATE_MAX_LISTED = 1000;
/** Promotions replayed at once (each reads its evidence and its approvals: two Queries). */
const PARALLEL = 32;
const PAGE = 100;

type Outcome = Awaited<ReturnType<typeof decisionRecordOf>>['outcome'] | 'REFUSED';

export interface SimulatedPromotion {
  id: string;
  subject: Promotion['subject'];
  sourceEnvironment: string;
  targetEnvironment: string;
  requestedAt: string;
  status: Promotion['status'];
  outcome: { old: Outcome; new: Outcome };
  allowed: { old: boolean; new: boolean };
  approvalsRequired: { old: number; new: number };
  /** the freeze window over the target when the promotion went (or was asked for): under the current windows, under the proposed ones */
  heldByWindow: { old: ReturnType<typeof occurrenceView>; new: ReturnType<typeof occurrenceView> };
  /** whether the target asks for a verifying signature (artifact promotions; the signature itself is not checked here) */
  signatureRequired: { old: boolean; new: boolean };
  decisionDigest: { old: string; new: string | null };
  /** why the proposed setup would refuse the request itself (a skip no rule allows any more) */
  refused?: string;
  /** what the replay could not judge without calling out: gates the proposal adds that only their provider answers */
  notReplayed?: string[];
  changed: boolean;
}

/** A simulation's answer (one page of the look-back: simulation-pages.ts sums them). */
export type Simulation = SimulationPage<SimulatedPromotion>;

/** The environments as the proposed setup leaves them: protection, edges, verification, gates and webhook gates. */
function proposedEnvironments(cur: Current, want: Setup): Environment[] {
  return cur.envs.map((e) => {
    const s = want.settings[e.name];
    const g = want.gates[e.name];
    if (!s || !g) return e;
    const hooks = new Map((want.webhook_gates[e.name] ?? []).map((h) => [h.name, h]));
    const kept = e.webhookGates.filter((h) => hooks.has(h.name)).map((h) => ({ ...h, blocking: hooks.get(h.name)!.blocking }));
    const added = [...hooks.values()].filter((h) => !e.webhookGates.some((x) => x.name === h.name));
    const { after: _a, afterMode: _m, signingKey: _k, ...rest } = e;
    return {
      ...rest,
      protected: s.protected,
      ...(s.after?.length ? { after: s.after, ...(s.after_mode ? { afterMode: s.after_mode } : {}) } : {}),
      verification: s.verification,
      ...(s.signing_key ? { signingKey: s.signing_key } : {}),
      gates: g,
      // A gate only the proposal has: its provider is not called (named in notReplayed).
      webhookGates: [
        ...kept,
        ...added.map((h) => ({ name: h.name, url: h.url, timeoutMs: h.timeout_ms, blocking: h.blocking })),
      ] as Environment['webhookGates'],
    };
  });
}

/** The rules as applying the proposal would write them: a pair's rule keeps its id (as apply changes it in place); a new pair's is named after the pair. */
function proposedRules(cur: Current, want: Setup): Rule[] {
  const have = new Map(cur.rules.map((r) => [pairOf(r), r]));
  return want.approval_rules.map((doc) => {
    const r = have.get(pairOf(doc));
    if (r && canonicalJson(ruleDoc(r)) === canonicalJson(doc)) return r;
    const { soakSeconds: _s, ...kept } = r ?? ({} as Partial<Rule>);
    return r
      ? ({ ...kept, ...doc } as Rule)
      : ({ ...doc, id: `rule_proposed:${pairOf(doc)}`, version: 0, createdAt: '', createdBy: '', updatedAt: '', updatedBy: '' } as Rule);
  });
}

/** The freeze windows as applying the proposal would leave them: those it keeps (same id), and those it adds. */
function proposedWindows(cur: Current, want: Setup): FreezeWindow[] {
  const have = new Map(cur.windows.map((w) => [freezeKey(freezeDoc(w)), w]));
  return want.freeze_windows.map((w, i) => {
    const kept = have.get(freezeKey(w));
    if (kept) return kept;
    return {
      id: `frz_proposed:${i}`,
      tenant: cur.envs[0]?.tenant ?? '',
      scope: w.environment ?? '*',
      reason: w.reason,
      kind: w.cron ? 'recurring' : 'once',
      ...(w.cron ? { cron: w.cron, endCron: w.end_cron, timezone: w.timezone } : { start: w.start, end: w.end }),
      createdBy: '',
      createdAt: '',
    } as FreezeWindow;
  });
}

const isBuiltIn = (gate: string): gate is (typeof GATE_ORDER)[number] => (GATE_ORDER as readonly string[]).includes(gate);

/**
 * The gate results under the proposed target: a built-in gate the proposal turns on or off, or whose evidence
 * the proposed policy accepts differently, is judged again over the stored evidence; policy_compliance (the
 * engine's own checks at validation) and every other result stand as stored; a webhook gate the proposal
 * removes is gone, and one whose blocking changes turns FAIL into WARN or back.
 */
function proposedGates(
  p: Promotion,
  target: Environment,
  current: Environment | undefined,
  policy: Policy,
  evidence: PromotionEvidence,
): { gates: GateResult[] | null; notReplayed: string[] } {
  const hooks = new Map(target.webhookGates.map((h) => [h.name, h]));
  // A webhook gate the target has now but the promotion was not judged by (added since) is in neither decision.
  const notReplayed = [...hooks.keys()].filter((n) => !current?.webhookGates.some((h) => h.name === n)).map((n) => `webhook:${n}`);
  if (p.gates === null) return { gates: null, notReplayed: [] };
  const accepted = (evidence: Evidence[]) => evidence.filter((e) => forCurrentRelease(e, p) && evidenceAccepted(e, policy, contentChoosers(p)));
  const sameEvidence = (p.policy.evidenceFrom ?? 'anyone') === (policy.evidenceFrom ?? 'anyone');
  const members = evidence.members.map((m) => ({ member: m.member, evidence: accepted(m.evidence) }));
  const fresh = new Map(evaluateGates(target.gates, accepted(evidence.own), { violations: [] }, [], new Set(), members).map((g) => [g.gate, g]));
  const out: GateResult[] = [];
  for (const g of p.gates) {
    if (isBuiltIn(g.gate)) {
      const now = fresh.get(g.gate)!;
      const wasOn = g.verdict !== 'SKIPPED';
      const isOn = now.verdict !== 'SKIPPED';
      out.push(g.gate === 'policy_compliance' || (wasOn === isOn && sameEvidence) ? g : now);
      continue;
    }
    if (g.gate.startsWith('webhook:')) {
      const h = hooks.get(g.gate.slice('webhook:'.length));
      if (!h) continue;
      if (h.blocking === g.blocking) out.push(g);
      else out.push({ ...g, blocking: h.blocking, verdict: g.verdict === 'PASS' ? 'PASS' : h.blocking ? 'FAIL' : 'WARN' });
      continue;
    }
    out.push(g);
  }
  // A built-in gate the stored results lack (stored before it existed) is judged when the document turns it on.
  for (const gate of GATE_ORDER)
    if (!p.gates.some((g) => g.gate === gate) && !current?.gates[gate] && fresh.get(gate)!.verdict !== 'SKIPPED') out.push(fresh.get(gate)!);
  return { gates: out, notReplayed };
}

/** When a promotion went (its move to EXECUTING), or was asked for when it never went. */
const wentAt = (p: Promotion) => new Date(p.transitions.find((t) => t.status === 'EXECUTING')?.at ?? p.requestedAt);

const allowedOf = (o: Outcome) => o === 'ALLOWED';

/**
 * What a replay reads, once per simulation where promotions share it: the evidence of a release (every
 * promotion of it reads the same), a promotion's own evidence, and its approvals (none are read for a
 * promotion whose policy asked for none and that nobody approved or rejected: there are none to read).
 */
function replayReads(deps: Deps) {
  const releases = new Map<string, Promise<Evidence[]>>();
  return {
    evidence(p: Promotion): Promise<PromotionEvidence> {
      // A release's evidence (and a bundle member's) once per simulation; each promotion's own.
      return readEvidence(deps, p, (owner) => {
        if (!releases.has(owner)) releases.set(owner, deps.store.listEvidence(p.tenant, [owner]));
        return releases.get(owner)!;
      });
    },
    async approvals(p: Promotion): Promise<Approval[]> {
      return p.policy.requiresApproval || p.approvedBy?.length || p.rejection ? deps.store.listApprovals(p.tenant, p.id) : [];
    },
  };
}

async function replay(
  deps: Deps,
  reads: ReturnType<typeof replayReads>,
  p: Promotion,
  cur: { envs: Environment[]; rules: Rule[]; windows: FreezeWindow[] },
  next: { envs: Environment[]; rules: Rule[]; windows: FreezeWindow[] },
): Promise<SimulatedPromotion> {
  const [evidence, approvals] = await Promise.all([reads.evidence(p), reads.approvals(p)]);
  // Read once for both decisions; the windows only feed the record's frozenNow/nextFreeze, which its digest leaves out.
  const read = { approvals, windows: cur.windows };
  const old = await decisionRecordOf(deps, p, evidence, read);
  const line = lineOf(next.envs);
  const at = wentAt(p);
  const glass = !!p.freezeOverride;
  const [heldOld, heldNew] = glass
    ? [null, null]
    : await Promise.all([activeWindowOf(cur.windows, p.targetEnvironment, at), activeWindowOf(next.windows, p.targetEnvironment, at)]);
  const signed = (envs: Environment[]) => p.subject.type === 'artifact' && envs.find((e) => e.name === p.targetEnvironment)?.verification === 'signature_match';
  const signatureRequired = { old: signed(cur.envs), new: signed(next.envs) };
  const base = {
    id: p.id,
    subject: p.subject,
    sourceEnvironment: p.sourceEnvironment,
    targetEnvironment: p.targetEnvironment,
    requestedAt: p.requestedAt,
    status: p.status,
    heldByWindow: { old: occurrenceView(heldOld), new: occurrenceView(heldNew) },
    signatureRequired,
  };
  let policy: Policy;
  let target: Environment;
  try {
    const pair = checkForward(line, next.rules, p.sourceEnvironment, p.targetEnvironment);
    target = pair.target;
    policy = resolvePolicy(next.rules, line, pair.source, pair.target);
  } catch (err) {
    // The proposal would refuse the request itself (an environment gone, a skip no rule allows any more).
    return {
      ...base,
      outcome: { old: old.outcome, new: 'REFUSED' },
      allowed: { old: allowedOf(old.outcome), new: false },
      approvalsRequired: { old: old.approvalsRequired, new: 0 },
      decisionDigest: { old: old.decisionDigest, new: null },
      refused: err instanceof Error ? err.message : String(err),
      changed: true,
    };
  }
  // The stored policy object stands when the proposal resolves the same one (its digest is the stored digest).
  const samePolicy = canonicalJson(policy) === canonicalJson(p.policy);
  const usedPolicy = samePolicy ? p.policy : policy;
  const currentTarget = cur.envs.find((e) => e.name === p.targetEnvironment);
  const { gates, notReplayed } = proposedGates(p, target, currentTarget, usedPolicy, evidence);
  const sameHold = (heldOld?.window.id ?? null) === (heldNew?.window.id ?? null);
  const windowHeld = p.heldBy && 'window' in p.heldBy;
  const heldBy: HeldBy | null | undefined = sameHold
    ? p.heldBy
    : heldNew
      ? { window: heldNew.window.id, reason: heldNew.window.reason, until: heldNew.end.toISOString() }
      : windowHeld
        ? null
        : p.heldBy;
  const proposed: Promotion = {
    ...p,
    policy: usedPolicy,
    policyDigest: samePolicy ? p.policyDigest : policyDigest(policy),
    gates: gates && canonicalJson(gates) === canonicalJson(p.gates) ? p.gates : gates,
    heldBy,
  };
  const now = await decisionRecordOf(deps, proposed, evidence, read);
  const changed = now.decisionDigest !== old.decisionDigest || !sameHold || signatureRequired.old !== signatureRequired.new || notReplayed.length > 0;
  return {
    ...base,
    outcome: { old: old.outcome, new: now.outcome },
    allowed: { old: allowedOf(old.outcome), new: allowedOf(now.outcome) },
    approvalsRequired: { old: old.approvalsRequired, new: now.approvalsRequired },
    decisionDigest: { old: old.decisionDigest, new: now.decisionDigest },
    ...(notReplayed.length ? { notReplayed } : {}),
    changed,
  };
}

/**
 * A page of the tenant's promotions requested since `since`, newest first, from `cursor`: at most `limit`;
 * `next` continues after the last one returned (null: the look-back ends here), and `olderStored` says
 * whether anything older than `since` is stored (else the history does not cover the look-back).
 */
export async function promotionsSince(
  deps: Deps,
  tenant: string,
  since: string,
  limit: number,
  cursor?: string,
): Promise<{ items: Promotion[]; next: string | null; olderStored: boolean }> {
  const items: Promotion[] = [];
  for (;;) {
    // A page never reads past `limit`, so the store's cursor continues exactly after the last promotion returned.
    const page = await deps.store.listPromotions(tenant, {}, Math.min(PAGE, limit - items.length), cursor);
    for (const p of page.items) {
      // Newest first (promotion ids are time-ordered): the first one older than the look-back ends the read.
      if (p.requestedAt < since) return { items, next: null, olderStored: true };
      items.push(p);
    }
    if (!page.nextCursor) return { items, next: null, olderStored: false };
    if (items.length >= limit) return { items, next: page.nextCursor, olderStored: true };
    cursor = page.nextCursor;
  }
}

/**
 * Replays the promotions of the last `seconds` under the proposed setup `want` (the plan's desired setup), against `cur`:
 * a page of PAGE promotions at a time, newest first, until the look-back ends, `limit` are replayed or the time budget
 * is spent; then `next` says where another request continues (the CLI and the console follow it, showing progress),
 * so one request never runs past API Gateway's 30 s however long the history is.
 */
export async function simulate(deps: Deps, tenant: string, cur: Current, want: Setup, seconds: number, opts: SimulateOptions = {}): Promise<Simulation> {
  const started = performance.now();
  const limit = Math.min(opts.limit ?? SIMULATE_MAX_PROMOTIONS, SIMULATE_MAX_PROMOTIONS);
  const budget = opts.budgetMs ?? SIMULATE_BUDGET_MS;
  const until = deps.clock();
  const since = new Date(until.getTime() - seconds * 1000).toISOString();
  const now = { envs: cur.envs, rules: cur.rules, windows: cur.windows };
  const next = { envs: proposedEnvironments(cur, want), rules: proposedRules(cur, want), windows: proposedWindows(cur, want) };
  const reads = replayReads(deps);
  const results: SimulatedPromotion[] = [];
  let read = 0;
  let skipped = 0;
  let oldest: string | null = null;
  let cursor = opts.cursor;
  let more: string | null = null;
  let olderStored = false;
  for (;;) {
    const page = await promotionsSince(deps, tenant, since, Math.min(PAGE, limit - read), cursor);
    read += page.items.length;
    oldest = page.items.at(-1)?.requestedAt ?? oldest;
    olderStored = page.olderStored;
    const promotions = page.items.filter((p) => !p.rollback);
    skipped += page.items.length - promotions.length;
    const replayed: SimulatedPromotion[] = new Array(promotions.length);
    let i = 0;
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL, promotions.length) }, async () => {
        while (i < promotions.length) {
          const k = i++;
          replayed[k] = await replay(deps, reads, promotions[k]!, now, next);
        }
      }),
    );
    results.push(...replayed);
    if (!page.next) break;
    if (read >= limit || performance.now() - started >= budget) {
      more = page.next;
      break;
    }
    cursor = page.next;
  }
  const changes = results.filter((r) => r.changed);
  return {
    since,
    until: until.toISOString(),
    promotions: results.length,
    truncated: more !== null,
    next: more,
    limit,
    reachedBack: oldest,
    coversLookBack: more !== null || olderStored,
    changesTruncated: changes.length > SIMULATE_MAX_LISTED,
    rollbacksSkipped: skipped,
    summary: {
      changed: changes.length,
      allowedToBlocked: results.filter((r) => r.allowed.old && !r.allowed.new).length,
      blockedToAllowed: results.filter((r) => !r.allowed.old && r.allowed.new).length,
      approvalsChanged: results.filter((r) => r.approvalsRequired.old !== r.approvalsRequired.new).length,
      newlyHeldByWindow: results.filter((r) => r.heldByWindow.new && r.heldByWindow.new.id !== r.heldByWindow.old?.id).length,
      digestsReproduced: results.filter((r) => r.decisionDigest.old === r.decisionDigest.new).length,
    },
    changes: changes.slice(0, SIMULATE_MAX_LISTED),
  };
}

export { lookBackSeconds, SIMULATE_MAX_PROMOTIONS, SIMULATE_MAX_SECONDS, type SimulateOptions } from './plan-schemas.ts';
