import { Command, Option } from 'commander';
import { fail, int, q, values } from './context.ts';
import { createInterface } from 'node:readline/promises';
import type { Changes, Environment, Promotion, PromotionDetail, PromotionDryRun, Status } from './answers.ts';
import { api } from './http.ts';
import { label, MARK, out, seconds, when } from './output.ts';

const FINAL = ['COMPLETED', 'FAILED', 'REJECTED', 'VALIDATION_FAILED', 'CANCELLED', 'EXPIRED', 'ROLLED_BACK'];
// ROLLED_BACK when waited for: it executed, then was rolled back automatically while it baked (an alarm).
const UNSUCCESSFUL = ['FAILED', 'REJECTED', 'VALIDATION_FAILED', 'CANCELLED', 'EXPIRED', 'ROLLED_BACK'];

/** One promotion, as people read it. */
export function describe(p: Promotion): void {
  const route = p.sourceEnvironment === p.targetEnvironment ? `rollback of ${p.targetEnvironment}` : `${p.sourceEnvironment} → ${p.targetEnvironment}`;
  console.log(`${p.id}  ${label(p.subject)}  ${route}  ${p.status}${p.waitingFor ? ` (waiting for ${p.waitingFor})` : ''}`);
  console.log(`  requested by ${p.requestedBy?.name ?? p.requestedBy} at ${when(p.requestedAt)}${p.notes ? ` — ${p.notes}` : ''}`);
  if (p.gates?.length) {
    console.log(`  gates: ${p.gates.map((g) => MARK[g.verdict] ?? '?').join('')}`);
    for (const g of p.gates.filter((x) => x.verdict === 'FAIL' || x.verdict === 'WARN'))
      console.log(`    ${MARK[g.verdict]} ${g.gate}${g.blocking ? ' (blocking)' : ''}: ${g.reason}`);
  }
  if (p.policy?.requiresApproval) {
    // The approvals given so far come from the promotion view (who, when, comment, whether they count).
    const a = p.approvals;
    const counted = a ? a.given.filter((g) => g.counts) : (p.approvedBy ?? []).map((by: string) => ({ by }));
    console.log(
      `  approvals: ${counted.length} of ${p.policy.requiredApprovers} from ${p.policy.approverGroups.join('/')}${a?.remaining ? `, ${a.remaining} still needed` : ''}${a?.expiresAt ? `, until ${when(a.expiresAt)}` : ''}`,
    );
    for (const g of a?.given ?? [])
      console.log(`    ${g.counts ? '✓' : '·'} ${g.by} at ${when(g.at)}${g.comment ? ` — ${g.comment}` : ''}${g.counts ? '' : ` (does not count: ${g.why})`}`);
  }
  const r = (p as Partial<PromotionDetail>).rollout;
  if (r) for (const l of rolloutLines(r)) console.log(`  ${l}`);
  if (p.rejection) console.log(`  rejected by ${p.rejection.by}: ${p.rejection.reason}`);
  if (p.error) console.log(`  error: ${p.error.code}: ${p.error.message}`);
  if (p.result)
    console.log(
      `  result: ${p.result.snapshotSeq !== undefined ? `${p.targetEnvironment}@${p.result.snapshotSeq} ` : ''}${p.result.digest} (deployment ${p.result.deploymentId})`,
    );
}

type Rollout = NonNullable<PromotionDetail['rollout']>;
type TargetRow = Rollout['waves'][number]['targets'][number];

/** One target as the CLI says it: its state, a confirmation's deadline, a bake's countdown, an alarm. */
function targetText(t: TargetRow, bakeSeconds: number): string {
  if (t.state === 'CONFIRMING')
    return `${t.name} waits for its ${t.confirmation?.mode === 'health' ? 'health URL' : 'deployer'}${t.confirmation?.deadline ? ` (${seconds(secondsLeft(t.confirmation.deadline) ?? 0)} left)` : ''}`;
  if (t.state === 'BAKING') return `${t.name} baking (${seconds(secondsLeft(t.confirmation?.at ?? t.appliedAt, bakeSeconds) ?? 0)} left)`;
  if (t.alarm) return `${t.name} ${t.state.toLowerCase()}: alarm ${t.alarm.name}`;
  return `${t.name} ${t.state.toLowerCase().replace('_', ' ')}`;
}

/** A rollout wave by wave, target by target (promotions show, --wait at the end). */
export function rolloutLines(r: Rollout): string[] {
  return [
    `rollout: ${r.phase.toLowerCase().replace('_', ' ')}${r.halted ? ` by ${r.halted.by}: ${r.halted.reason}` : ''}${r.waiting ? `: ${r.waiting.reason} until ${when(r.waiting.until)}` : ''}`,
    ...r.waves.map((w) => `wave ${w.wave} (bake ${seconds(w.bakeSeconds)}): ${w.targets.map((t) => targetText(t, w.bakeSeconds)).join(', ')}`),
  ];
}

/** The --wait line of a rollout: the wave running and each of its targets, or why it waits. */
function rolloutStep(id: string, r: Rollout): string {
  if (r.halted) return `halted by ${r.halted.by} before wave ${r.wave + 1} (${r.halted.reason}); to go on: stageline resume ${id}`;
  if (r.waiting) return `${r.waiting.reason}, until ${when(r.waiting.until)}`;
  const w = r.waves.find((x) => x.wave === r.wave);
  if (!w) return 'rolling out';
  const callback = w.targets.find((t) => t.state === 'CONFIRMING' && t.confirmation?.mode === 'callback');
  return `wave ${w.wave} of ${r.waves.length}: ${w.targets.map((t) => targetText(t, w.bakeSeconds)).join(', ')}${callback ? ` (stageline confirm ${id} ${callback.name})` : ''}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const secondsLeft = (iso: string | null | undefined, extra = 0) =>
  iso ? Math.max(0, Math.round((new Date(iso).getTime() + extra * 1000 - Date.now()) / 1000)) : null;

/** What a promotion is doing now, for the --wait progress line: the step, elapsed time, approvals still needed, the bake countdown. */
export function progressLine(p: Promotion, started: number, bakeSeconds = 0): string {
  const elapsed = Math.round((Date.now() - started) / 1000);
  let step: string;
  if (p.status === 'VALIDATING') step = 'running gates';
  else if (p.status === 'PENDING') step = 'waiting to start';
  else if (p.status === 'AWAITING_APPROVAL')
    step = `waiting for ${p.approvals?.remaining ?? '?'} approval${p.approvals?.remaining === 1 ? '' : 's'}${p.approvals?.expiresAt ? ` (window closes in ${seconds(secondsLeft(p.approvals.expiresAt) ?? 0)})` : ''}`;
  else if (p.status === 'SCHEDULED') step = `scheduled, starts in ${seconds(secondsLeft(p.scheduledAt) ?? 0)}`;
  else if (p.status === 'EXECUTING' && (p as Partial<PromotionDetail>).rollout) step = rolloutStep(p.id, (p as PromotionDetail).rollout!);
  else if (p.status === 'EXECUTING' && p.result && bakeSeconds)
    step = `baking: the monitors watch it for ${seconds(secondsLeft(p.result.deployedAt, bakeSeconds) ?? 0)} more`;
  else if (p.status === 'EXECUTING') step = 'executing';
  else step = p.status.toLowerCase();
  return `${p.id}: ${step} · ${seconds(elapsed)}`;
}

/**
 * Polls until the promotion is final or waits for a person (approval or manual execution). The id
 * is printed at once; on a terminal a spinner line shows the step, time and what it waits for; when
 * piped, one plain line per change (on stderr, so stdout stays the answer); --json stays quiet.
 */
export async function waitFor(id: string): Promise<PromotionDetail> {
  const started = Date.now();
  const until = started + (values.timeout ?? 120) * 1000;
  const live = !values.json && process.stderr.isTTY;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  if (!values.json) process.stderr.write(`following ${id} (Ctrl-C stops following, not the promotion)\n`);
  let last = '';
  let bake: number | undefined;
  let tick = 0;
  try {
    for (;;) {
      const p = await api<PromotionDetail>('GET', `/api/v1/promotions/${encodeURIComponent(id)}`);
      if (FINAL.includes(p.status) || p.waitingFor) return p;
      if (Date.now() > until)
        fail(`stopped following after ${values.timeout ?? 120} s: ${id} is still ${p.status} (to keep watching: stageline promotions watch ${id})`, 4);
      if (p.status === 'EXECUTING' && bake === undefined)
        bake = (await api<Environment>('GET', `/api/v1/environments/${encodeURIComponent(p.targetEnvironment)}`)).bakeSeconds ?? 0;
      const line = progressLine(p, started, bake);
      const step = line.replace(/ · [^·]*$/, '');
      if (live) process.stderr.write(`\r\x1b[2K${frames[tick++ % frames.length]} ${line}`);
      else if (!values.json && step !== last) process.stderr.write(`${line}\n`);
      last = step;
      await sleep(500);
    }
  } finally {
    if (live && last) process.stderr.write('\r\x1b[2K');
  }
}

/**
 * Prints a created promotion (or, with --wait, where it ended up) and the next step; exits 1 if it
 * ended unsuccessfully. Given only an id (promotions watch), it follows it.
 */
export async function settle(p: Promotion | { id: string }, wrap: (final: Promotion) => unknown = (f) => f): Promise<void> {
  const final = values.wait || !('status' in p) ? await waitFor(p.id) : p;
  out(wrap(final), () => {
    describe(final);
    nextStep(final);
  });
  if (UNSUCCESSFUL.includes(final.status)) process.exit(1);
}

/** What to do next, for a promotion that waits for someone, failed or completed. */
export function nextStep(p: Promotion): void {
  const hint =
    p.status === 'PENDING'
      ? `add evidence (stageline evidence ${p.id} --type test_results --payload '{"passed":1,"failed":0}'), then: stageline validate ${p.id} --wait`
      : p.status === 'VALIDATION_FAILED'
        ? `add what the gates missed (stageline evidence ${p.id} …), then validate again: stageline validate ${p.id} --wait`
        : p.waitingFor === 'approval'
          ? `ask an approver: stageline approve ${p.id}   (to keep watching: stageline promotions watch ${p.id})`
          : p.waitingFor === 'execution'
            ? `stageline execute ${p.id} --wait, or: stageline schedule ${p.id} --at <time>`
            : p.status === 'COMPLETED' && p.sourceEnvironment !== p.targetEnvironment
              ? `to undo it: stageline rollback --promotion ${p.id} --reason … --dry-run`
              : ['EXECUTING', 'VALIDATING', 'APPROVED', 'SCHEDULED'].includes(p.status)
                ? `to keep watching: stageline promotions watch ${p.id}`
                : null;
  if (hint) console.log(`Next: ${hint}`);
}

/** What a promotion changes (GET /promotions/{id}/changes), as lines. */
export function changeLines(c: Changes): string[] {
  if (c.artifact) return [`changes: ${c.artifact.name} ${c.artifact.from ?? '(nothing)'} → ${c.artifact.to} (${c.artifact.toDigest.slice(0, 19)}…)`];
  const lines = c.changes.map((r) =>
    r.change === 'added'
      ? `+ ${r.kind} ${r.key} = ${r.after}`
      : r.change === 'removed'
        ? `- ${r.kind} ${r.key} (was ${r.before})`
        : `~ ${r.kind} ${r.key}: ${r.before} → ${r.after}`,
  );
  const more = c.total > c.changes.length ? `, the first ${c.changes.length} shown` : '';
  return [
    `changes: ${c.total} key${c.total === 1 ? '' : 's'}${more}${c.unchanged !== null ? `, ${c.unchanged} unchanged` : ''}`,
    ...lines.map((l) => `  ${l}`),
  ];
}

/** On a terminal (and without --yes or --json) asks before an action; piped, it goes ahead (a script has decided). */
export async function confirm(question: string): Promise<void> {
  if (values.yes || values.json || !process.stdin.isTTY || !process.stderr.isTTY) return;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) fail('not confirmed: nothing was done', 5);
}

export function dryRun(r: PromotionDryRun): void {
  const what = r.artifact ? `${r.artifact} ${r.from ?? '(nothing)'} → ${r.to}` : 'config set (FULL)';
  console.log(`Dry run: ${what}, ${r.sourceEnvironment} → ${r.targetEnvironment}; release ${r.releaseDigest}`);
  if (r.changes) {
    for (const c of r.changes) {
      if (c.action === 'add') console.log(`  + ${c.kind} ${c.key} = ${JSON.stringify(c.to)}`);
      else if (c.action === 'modify') console.log(`  ~ ${c.kind} ${c.key}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
      else console.log(`  - ${c.kind} ${c.key} (was ${JSON.stringify(c.from)})`);
    }
    console.log(`  ${r.changes.length} change${r.changes.length === 1 ? '' : 's'}, ${r.unchanged} unchanged`);
  }
  const gates = (r.gates ?? []).filter((g) => g.enabled).map((g) => `${g.gate} (${g.blocking ? 'blocking' : 'warn'})`);
  const hooks = (r.webhookGates ?? []).map((h) => `webhook ${h.name} (${h.blocking ? 'blocking' : 'warn'})`);
  console.log(`Gates: ${[...gates, ...hooks].join(', ') || 'none'}`);
  const a = r.approval;
  console.log(`Approval: ${a?.required ? `${a.approvers} from ${a.groups.join('/')}${a.separationOfDuties ? ', not the requester' : ''}` : 'not required'}`);
  console.log('Nothing was changed (dry run).');
}

export const printed = (r: Promotion) => out(r, () => describe(r));

/** floe's `promote v1.2.3 --to staging` names no artifact: the one the environment runs, when it runs exactly one. */
export async function inferArtifact(envName: string): Promise<string> {
  const s = await api<Status>('GET', `/api/v1/status?env=${q(envName)}`);
  const names = [...new Set(s.environments[0]?.artifacts.map((a) => a.artifact) ?? [])];
  if (names.length === 1) return names[0]!;
  return fail(
    names.length
      ? `'${envName}' runs ${names.join(', ')}: say which with --artifact <name>`
      : `'${envName}' runs no artifact yet: say which with --artifact <name> (or --config for the config set)`,
  );
}

export const waitOptions = (c: Command) =>
  c
    .option('--wait', 'follow it until it is final or waits for a person (progress on stderr)')
    .addOption(new Option('--timeout <seconds>', 'how long --wait polls').argParser(int('--timeout')).default(120));
