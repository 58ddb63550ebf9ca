import { fail, values } from './context.ts';
import type { Environment, Promotion, PromotionDetail } from './answers.ts';
import { api } from './http.ts';
import { label, MARK, seconds, when } from './output.ts';
import { measurementsOf, rolloutStep, secondsLeft } from './rollout-view.ts';

/** Following a promotion (--wait, promotions watch): each step it takes, said as it happens. */
const FINAL = ['COMPLETED', 'FAILED', 'REJECTED', 'VALIDATION_FAILED', 'CANCELLED', 'EXPIRED', 'ROLLED_BACK'];

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a promotion is doing now, for the --wait progress line: the step, elapsed time, approvals still needed, the bake countdown. */
export function progressLine(p: Promotion, started: number, bakeSeconds = 0): string {
  const elapsed = Math.round((Date.now() - started) / 1000);
  let step: string;
  if (p.status === 'VALIDATING') step = 'running gates';
  else if (p.status === 'PENDING') step = 'waiting to start';
  else if (p.status === 'AWAITING_APPROVAL')
    step = `waiting for ${p.approvals?.remaining ?? '?'} approval${p.approvals?.remaining === 1 ? '' : 's'}${p.approvals?.expiresAt ? ` (window closes in ${seconds(secondsLeft(p.approvals.expiresAt) ?? 0)})` : ''}`;
  else if (p.pullRequest?.state === 'open' && p.waitingFor === 'merge')
    step = `waiting for ${p.pullRequest.host === 'gitlab' ? 'merge request !' : 'pull request #'}${p.pullRequest.number} to be merged (${p.pullRequest.mergeState}): ${p.pullRequest.url}`;
  else if (p.status === 'SCHEDULED' && p.heldBy && 'promotion' in p.heldBy) step = `queued: ${p.heldBy.reason}`;
  else if (p.status === 'SCHEDULED' && p.heldBy && ('soak' in p.heldBy || 'hours' in p.heldBy)) step = p.heldBy.reason;
  else if (p.status === 'SCHEDULED') step = `scheduled, starts in ${seconds(secondsLeft(p.scheduledAt) ?? 0)}`;
  else if (p.status === 'EXECUTING' && (p as Partial<PromotionDetail>).rollout) step = rolloutStep(p.id, (p as PromotionDetail).rollout!);
  else if (p.status === 'EXECUTING' && p.result && bakeSeconds)
    step = `baking: the monitors watch it for ${seconds(secondsLeft(p.result.deployedAt, bakeSeconds) ?? 0)} more`;
  else if (p.status === 'EXECUTING') step = 'executing';
  else step = p.status.toLowerCase();
  return `${p.id}: ${step} · ${seconds(elapsed)}`;
}

type Transition = Promotion['transitions'][number];

/**
 * Why a SCHEDULED promotion waits, when something holds it: another promotion executing into its
 * environment (it goes on when that one ends: how to follow that one), or a freeze window.
 */
export function heldLine(p: Pick<Promotion, 'heldBy'>): string | null {
  const h = p.heldBy;
  if (!h) return null;
  if ('promotion' in h) return `queued: ${h.reason}; it goes on when that one ends (stageline promotions show ${h.promotion})`;
  // "soaking in staging until 14:32 UTC: 45 min of 60 min done": it goes on by itself then.
  if ('soak' in h) return `${h.reason}; it goes on by itself at ${when(h.until)} UTC`;
  // Outside the target's allowed hours: it goes on by itself at the next opening.
  if ('hours' in h) return `${h.reason}; it goes on by itself then`;
  // Change control: the change request is not approved yet, or its window not open; looked at again by itself.
  if ('change' in h)
    return `waiting for change request ${h.change.number}: ${h.reason}; looked at again at ${when(h.until)} UTC (stageline change-control check <promotion> looks now)`;
  // The CI gate's run: looked at again by itself; the promotion goes on when it succeeds.
  if ('ci' in h) return `${h.reason}; looked at again at ${when(h.until)} UTC`;
  return `held by freeze window ${h.window} (${h.reason}) until ${when(h.until)} UTC`;
}

/** One step a promotion took, as the --wait lines say it (the gates' verdicts are their own line, gatesLine). */
export function stepLine(t: Transition, p: PromotionDetail): string {
  const what = `${label(p.subject)} into ${p.targetEnvironment}`;
  switch (t.status) {
    case 'PENDING':
      return `created by ${t.by}: waiting to start`;
    case 'VALIDATING':
      return 'validating: running the gates';
    case 'VALIDATION_FAILED':
      return 'validation failed: a blocking gate did not pass';
    case 'AWAITING_APPROVAL': {
      const a = p.approvals;
      const needed = a?.remaining ?? p.policy.requiredApprovers;
      const groups = (a?.approverGroups ?? p.policy.approverGroups).join('/');
      const sod = (a?.separationOfDuties ?? p.policy.separationOfDuties) ? `, not the requester (${p.requestedBy.name})` : '';
      return `waiting for approval: ${needed} from ${groups}${sod}`;
    }
    case 'APPROVED':
      return p.policy.requiresApproval ? `approved by ${t.by}` : `approved: ${p.targetEnvironment} needs no approval`;
    case 'SCHEDULED': {
      // The hold this transition is (the promotion's current one while it still waits).
      const held = heldLine(p);
      return p.status === 'SCHEDULED' && held ? held : `scheduled: starts at ${when(p.scheduledAt)} UTC`;
    }
    case 'EXECUTING':
      return `executing: ${what}`;
    case 'COMPLETED': {
      const r = p.result;
      const runs = r ? (r.snapshotSeq !== undefined ? `${p.targetEnvironment}@${r.snapshotSeq}` : `${p.targetEnvironment} runs ${label(p.subject)}`) : '';
      return `done: COMPLETED${r ? `, ${runs} (deployment ${r.deploymentId})` : ''}`;
    }
    case 'FAILED':
      return `failed${p.error ? `: ${p.error.message}` : ''}`;
    case 'REJECTED':
      return `rejected by ${t.by}`;
    case 'CANCELLED':
      return `cancelled by ${t.by}`;
    case 'EXPIRED':
      return 'expired: no decision in time';
    case 'ROLLED_BACK':
      return `rolled back (by ${t.by})`;
    default:
      return String(t.status).toLowerCase();
  }
}

/** The gates' verdicts, once they have run: `gates: ✓ tests · ✗ security_scan (blocking)`. */
export const gatesLine = (p: Promotion): string | null =>
  p.gates?.length
    ? `gates: ${p.gates.map((g) => `${MARK[g.verdict] ?? '?'} ${g.gate}${g.verdict === 'FAIL' || g.verdict === 'WARN' ? (g.blocking ? ' (blocking)' : ' (warning)') : ''}`).join(' · ')}`
    : null;

/**
 * Polls until the promotion is final or waits for a person (approval or manual execution). The id
 * is printed at once, then each step the promotion takes, from its transitions (so a step that was
 * over between two polls is still said): validating, the gates' verdicts, who may approve,
 * executing, the bake, the end. On a terminal a spinner line below shows the step in progress and
 * its time; all of it on stderr, so stdout stays the answer; --json stays quiet. `from` is what the
 * action answered: its earlier transitions are history, not steps of this run.
 */
export async function waitFor(id: string, from?: Promotion): Promise<PromotionDetail> {
  const started = Date.now();
  const until = started + (values.timeout ?? 120) * 1000;
  const live = !values.json && process.stderr.isTTY;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  const say = (line: string) => {
    if (!values.json) process.stderr.write(live ? `\r\x1b[2K${line}\n` : `${line}\n`);
  };
  say(`following ${id} (Ctrl-C stops following, not the promotion)`);
  const key = (t: Transition) => `${t.status}|${t.at}`;
  const said = new Set<string>();
  let history = from?.transitions;
  let previous: string | undefined;
  let spinning = false;
  let bake: number | undefined;
  let baking = false;
  let rolloutSaid = '';
  const measured = new Set<string>();
  let tick = 0;
  try {
    for (;;) {
      const p = await api<PromotionDetail>('GET', `/api/v1/promotions/${encodeURIComponent(id)}`);
      // What happened before this run is history; the step it is in now is its first line.
      for (const t of (history ?? p.transitions).slice(0, -1)) said.add(key(t));
      history = [];
      // Each measurement of an analysis as it lands, with its verdict (pass/fail) and the thresholds.
      for (const m of p.rollout ? measurementsOf(p.rollout) : []) {
        if (measured.has(m.key)) continue;
        measured.add(m.key);
        say(m.line);
      }
      for (const t of p.transitions) {
        if (said.has(key(t))) continue;
        said.add(key(t));
        if (previous === 'VALIDATING' && t.status !== 'VALIDATING') {
          const gates = gatesLine(p);
          if (gates) say(gates);
          for (const g of p.gates ?? []) if (g.measurements?.length) say(`${MARK[g.verdict] ?? '?'} ${g.gate}: ${g.reason}`);
        }
        say(stepLine(t, p));
        previous = t.status;
      }
      if (FINAL.includes(p.status) || p.waitingFor) return p;
      if (Date.now() > until)
        fail(`stopped following after ${values.timeout ?? 120} s: ${id} is still ${p.status} (to keep watching: stageline promotions watch ${id})`, 4);
      if (p.status === 'EXECUTING' && bake === undefined)
        bake = (await api<Environment>('GET', `/api/v1/environments/${encodeURIComponent(p.targetEnvironment)}`)).bakeSeconds ?? 0;
      if (p.status === 'EXECUTING' && p.result && bake && !baking) {
        baking = true;
        say(`baking: the monitors watch ${p.targetEnvironment} for ${seconds(bake)}`);
      }
      // A rollout: each change of its waves and targets (halted, waiting for a window, a wave's targets), countdowns aside.
      const rollout = p.status === 'EXECUTING' ? p.rollout : null;
      if (rollout) {
        const line = rolloutStep(p.id, rollout);
        const stand = line.replace(/ \([^()]* left\)/g, '');
        if (stand !== rolloutSaid) say(line);
        rolloutSaid = stand;
      }
      if (live) {
        process.stderr.write(`\r\x1b[2K${frames[tick++ % frames.length]} ${progressLine(p, started, bake)}`);
        spinning = true;
      }
      await sleep(500);
    }
  } finally {
    if (live && spinning) process.stderr.write('\r\x1b[2K');
  }
}
