import { Command, Option } from 'commander';
import { fail, int, q, values } from './context.ts';
import { api, type Promotion } from './http.ts';
import { label, MARK, out, when } from './output.ts';

const FINAL = ['COMPLETED', 'FAILED', 'REJECTED', 'VALIDATION_FAILED', 'CANCELLED', 'EXPIRED', 'ROLLED_BACK'];
// ROLLED_BACK when waited for: it executed, then was rolled back automatically while it baked (an alarm).
const UNSUCCESSFUL = ['FAILED', 'REJECTED', 'VALIDATION_FAILED', 'CANCELLED', 'EXPIRED', 'ROLLED_BACK'];

/** One promotion, as people read it. */
export function describe(p: Promotion): void {
  const route = p.sourceEnvironment === p.targetEnvironment ? `rollback of ${p.targetEnvironment}` : `${p.sourceEnvironment} → ${p.targetEnvironment}`;
  console.log(`${p.id}  ${label(p.subject)}  ${route}  ${p.status}${p.waitingFor ? ` (waiting for ${p.waitingFor})` : ''}`);
  console.log(`  requested by ${p.requestedBy?.name ?? p.requestedBy} at ${when(p.requestedAt)}${p.notes ? ` — ${p.notes}` : ''}`);
  if (p.gates?.length) {
    console.log(`  gates: ${p.gates.map((g: any) => MARK[g.verdict] ?? '?').join('')}`);
    for (const g of p.gates.filter((x: any) => x.verdict === 'FAIL' || x.verdict === 'WARN')) console.log(`    ${MARK[g.verdict]} ${g.gate}${g.blocking ? ' (blocking)' : ''}: ${g.reason}`);
  }
  if (p.policy?.requiresApproval) {
    // The approvals given so far come from the promotion view (who, when, comment, whether they count).
    const a = p.approvals;
    const counted = a ? a.given.filter((g: any) => g.counts) : (p.approvedBy ?? []).map((by: string) => ({ by }));
    console.log(`  approvals: ${counted.length} of ${p.policy.requiredApprovers} from ${p.policy.approverGroups.join('/')}${a?.remaining ? `, ${a.remaining} still needed` : ''}${a?.expiresAt ? `, until ${when(a.expiresAt)}` : ''}`);
    for (const g of a?.given ?? []) console.log(`    ${g.counts ? '✓' : '·'} ${g.by} at ${when(g.at)}${g.comment ? ` — ${g.comment}` : ''}${g.counts ? '' : ` (does not count: ${g.why})`}`);
  }
  if (p.rejection) console.log(`  rejected by ${p.rejection.by}: ${p.rejection.reason}`);
  if (p.error) console.log(`  error: ${p.error.code}: ${p.error.message}`);
  if (p.result) console.log(`  result: ${p.result.snapshotSeq !== undefined ? `${p.targetEnvironment}@${p.result.snapshotSeq} ` : ''}${p.result.digest} (deployment ${p.result.deploymentId})`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a promotion is doing now, for the --wait progress line. */
export function progressLine(p: any, until: number): string {
  const step = p.status === 'VALIDATING' ? 'running gates' : p.status === 'EXECUTING' ? 'executing' : p.status === 'PENDING' ? 'waiting to start' : p.status.toLowerCase();
  const expiry = p.approvals?.expiresAt ? `, approval window closes ${when(p.approvals.expiresAt)}` : '';
  return `${p.id}: ${step}${expiry} (giving up in ${Math.max(0, Math.round((until - Date.now()) / 1000))} s)`;
}

/**
 * Polls until the promotion is final or waits for a person (approval or manual execution). On a
 * terminal it shows progress on one updating line; with --json or when not a TTY it stays quiet.
 */
export async function waitFor(id: string): Promise<any> {
  const until = Date.now() + (values.timeout ?? 120) * 1000;
  const live = !values.json && process.stderr.isTTY;
  let last = '';
  try {
    for (;;) {
      const p = await api('GET', `/api/v1/promotions/${encodeURIComponent(id)}`);
      if (FINAL.includes(p.status) || p.waitingFor) return p;
      if (Date.now() > until) fail(`timed out after ${values.timeout ?? 120} s: ${id} is still ${p.status}`);
      const line = progressLine(p, until);
      if (live && line !== last) process.stderr.write(`\r\x1b[2K${line}`);
      last = line;
      await sleep(500);
    }
  } finally {
    if (live && last) process.stderr.write('\r\x1b[2K');
  }
}

/** Prints a created promotion (or, with --wait, where it ended up); exits 1 if it ended unsuccessfully. */
export async function settle(p: any, wrap: (final: any) => unknown = (f) => f): Promise<void> {
  const final = values.wait ? await waitFor(p.id) : p;
  out(wrap(final), () => describe(final));
  if (UNSUCCESSFUL.includes(final.status)) process.exit(1);
}

export function dryRun(r: any): void {
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
  const gates = (r.gates ?? []).filter((g: any) => g.enabled).map((g: any) => `${g.gate} (${g.blocking ? 'blocking' : 'warn'})`);
  const hooks = (r.webhookGates ?? []).map((h: any) => `webhook ${h.name} (${h.blocking ? 'blocking' : 'warn'})`);
  console.log(`Gates: ${[...gates, ...hooks].join(', ') || 'none'}`);
  const a = r.approval;
  console.log(`Approval: ${a?.required ? `${a.approvers} from ${a.groups.join('/')}${a.separationOfDuties ? ', not the requester' : ''}` : 'not required'}`);
  console.log('Nothing was changed (dry run).');
}

export const printed = (r: any) => out(r, () => describe(r));

/** floe's `promote v1.2.3 --to staging` names no artifact: the one the environment runs, when it runs exactly one. */
export async function inferArtifact(envName: string): Promise<string> {
  const s = await api('GET', `/api/v1/status?env=${q(envName)}`);
  const names: string[] = [...new Set<string>(s.environments[0]?.artifacts.map((a: any) => a.artifact) ?? [])];
  if (names.length === 1) return names[0]!;
  return fail(names.length ? `'${envName}' runs ${names.join(', ')}: say which with --artifact <name>` : `'${envName}' runs no artifact yet: say which with --artifact <name> (or --config for the config set)`);
}

export const waitOptions = (c: Command) =>
  c.option('--wait', 'poll until the promotion is final or waits for a person').addOption(new Option('--timeout <seconds>', 'how long --wait polls').argParser(int('--timeout')).default(120));
