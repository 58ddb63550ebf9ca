import { Command, Option } from 'commander';
import { fail, int, q, values } from './context.ts';
import { createInterface } from 'node:readline/promises';
import type { Changes, Promotion, PromotionDetail, PromotionDryRun, Status } from './answers.ts';
import { heldLine, waitFor } from './follow.ts';
import { rolloutLines } from './rollout-view.ts';
import { api } from './http.ts';
import { label, MARK, out, seconds, when } from './output.ts';
import { gateSentence } from '../domain/kernel/display.ts';

// ROLLED_BACK when waited for: it executed, then was rolled back automatically while it baked (an alarm).
const UNSUCCESSFUL = ['FAILED', 'REJECTED', 'VALIDATION_FAILED', 'CANCELLED', 'EXPIRED', 'ROLLED_BACK'];

/** One promotion, as people read it. */
export function describe(p: Promotion): void {
  const route = p.sourceEnvironment === p.targetEnvironment ? `rollback of ${p.targetEnvironment}` : `${p.sourceEnvironment} → ${p.targetEnvironment}`;
  console.log(`${p.id}  ${label(p.subject)}  ${route}  ${p.status}${p.waitingFor ? ` (waiting for ${p.waitingFor})` : ''}`);
  console.log(`  requested by ${p.requestedBy?.name ?? p.requestedBy} at ${when(p.requestedAt)}${p.notes ? ` — ${p.notes}` : ''}`);
  if (p.gates?.length) {
    console.log(`  gates: ${p.gates.map((g) => MARK[g.verdict] ?? '?').join('')}`);
    for (const g of p.gates.filter((x) => x.verdict === 'FAIL' || x.verdict === 'WARN')) console.log(`    ${MARK[g.verdict]} ${gateSentence(g)}`);
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
  if (p.pullRequest) {
    // Pull-request delivery: the link, where it stands on the host, and each check of its head commit.
    const pr = p.pullRequest;
    const what = pr.host === 'gitlab' ? `merge request !${pr.number}` : `pull request #${pr.number}`;
    const stands = pr.state === 'open' ? `open, ${pr.mergeState === 'clean' ? 'ready to merge' : pr.mergeState}${pr.draft ? ', draft' : ''}` : pr.state;
    console.log(`  ${what}: ${stands}  ${pr.url}`);
    const CHECK: Record<string, string> = { success: '✓', failure: '✗', pending: '…', neutral: '·' };
    for (const c of pr.checks) console.log(`    ${CHECK[c.state] ?? '?'} ${c.name} ${c.state}${c.url ? `  ${c.url}` : ''}`);
    if (pr.state === 'merged' && pr.mergeCommit) console.log(`    merged as ${pr.mergeCommit}`);
    if (pr.reason) console.log(`    ${pr.reason}`);
  }
  const held = p.status === 'SCHEDULED' ? heldLine(p) : null;
  if (held) console.log(`  ${held}`);
  const r = (p as Partial<PromotionDetail>).rollout;
  if (r) for (const l of rolloutLines(r, p.id)) console.log(`  ${l}`);
  if (p.rejection) console.log(`  rejected by ${p.rejection.by}: ${p.rejection.reason}`);
  if (p.error) console.log(`  error: ${p.error.code}: ${p.error.message}`);
  if (p.result)
    console.log(
      `  result: ${p.result.snapshotSeq !== undefined ? `${p.targetEnvironment}@${p.result.snapshotSeq} ` : ''}${p.result.digest} (deployment ${p.result.deploymentId})`,
    );
}

/**
 * Prints a created promotion (or, with --wait, where it ended up) and the next step; exits 1 if it
 * ended unsuccessfully. Given only an id (promotions watch), it follows it.
 */
export async function settle(p: Promotion | { id: string }, wrap: (final: Promotion) => unknown = (f) => f): Promise<void> {
  const final = values.wait || !('status' in p) ? await waitFor(p.id, 'status' in p ? p : undefined) : p;
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
        : p.status === 'SCHEDULED' && p.heldBy && 'promotion' in p.heldBy
          ? `nothing: it goes on when ${p.heldBy.promotion} ends (to follow it: stageline promotions watch ${p.heldBy.promotion})`
          : p.status === 'SCHEDULED' && p.heldBy && 'soak' in p.heldBy
            ? `nothing: it goes on by itself once it has soaked in ${p.heldBy.soak.environment} (to keep watching: stageline promotions watch ${p.id})`
            : p.status === 'SCHEDULED' && p.heldBy && 'hours' in p.heldBy
              ? `nothing: it goes on by itself at ${p.heldBy.until}, when ${p.heldBy.hours.environment}'s allowed hours open (to keep watching: stageline promotions watch ${p.id})`
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
  // A bundle: each member's move, then its configuration part's keys (when it carries one).
  const members = (c.bundle?.members ?? []).map(
    (m) => `  ${m.moves ? '→' : '='} ${m.name} ${m.moves ? `${m.from ?? '(nothing)'} → ${m.to}` : `${m.to} (already there)`}`,
  );
  const keys = `${c.total} key${c.total === 1 ? '' : 's'}${more}${c.unchanged !== null ? `, ${c.unchanged} unchanged` : ''}`;
  if (c.bundle)
    return [`changes: bundle ${c.bundle.name} (${c.bundle.members.length} members${c.total ? `, ${keys}` : ''})`, ...members, ...lines.map((l) => `  ${l}`)];
  return [`changes: ${keys}`, ...lines.map((l) => `  ${l}`)];
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
  const what = r.artifact ? `${r.artifact} ${r.from ?? '(nothing)'} → ${r.to}` : r.bundle ? `bundle ${r.bundle.name}` : 'config set (FULL)';
  console.log(`Dry run: ${what}, ${r.sourceEnvironment} → ${r.targetEnvironment}; release ${r.releaseDigest}`);
  for (const m of r.members ?? [])
    console.log(`  ${m.moves ? '→' : '='} ${m.artifact} ${m.moves ? `${m.from ?? '(nothing)'} → ${m.to}` : `${m.to} (already there)`}`);
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
