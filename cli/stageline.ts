#!/usr/bin/env -S npx tsx
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type * as z from 'zod';
import { verifyExport } from '../domain/audit-export.ts';
import { visible, visibleDeep, visibleDocument } from '../domain/display.ts';
import { checkpointPublicKey, describePublicKey } from '../domain/audit.ts';
import type { environmentResponse, promotionDetailResponse, promotionResponse, statusResponse } from '../functions/http/responses/index.ts';

/** The API's answers, typed from the same schemas the OpenAPI document publishes (functions/http/responses/). */
type Promotion = z.infer<typeof promotionResponse> & Partial<Pick<z.infer<typeof promotionDetailResponse>, 'approvals'>>;
type Status = z.infer<typeof statusResponse>;
type Environment = z.infer<typeof environmentResponse>;

/**
 * Stageline CLI (floe style), built on commander: help per command (`stageline <command> --help`),
 * typed options, suggestions for typos. Talks to the HTTP API only.
 *   STAGELINE_URL   API base URL (default http://127.0.0.1:3000)
 *   STAGELINE_TOKEN bearer token (npm start prints them); or `stageline login`
 */
const EXIT_CODES = `Exit codes:
  0  ok
  1  a promotion ended unsuccessfully (--wait), or the audit chain / an export is broken
  2  usage error, or the API refused the request (its message and issues on stderr)
  3  not authenticated (no token, or the API answered 401)`;

/** The options of the command being run (kebab-case, as typed), with the global ones. */
interface Values {
  // app keys (stageline keys …)
  name?: string;
  prefix?: string;
  overlap?: number;
  json?: boolean;
  url?: string;
  token?: string;
  env?: string;
  source?: string;
  target?: string;
  from?: string;
  to?: string;
  artifact?: string;
  snapshot?: number;
  config?: boolean;
  'dry-run'?: boolean;
  wait?: boolean;
  timeout?: number;
  override?: boolean;
  comment?: string;
  notes?: string;
  reason?: string;
  'break-glass'?: string;
  limit?: number;
  flag?: boolean;
  flags?: boolean;
  'slack-webhook'?: string;
  'slack-channel'?: string[];
  'slack-team'?: string;
  email?: string[];
  approvers?: boolean;
  events?: string;
  start?: string;
  version?: string;
  digest?: string;
  commit?: string;
  branch?: string;
  format?: 'yaml' | 'json';
  end?: string;
  cron?: string;
  'end-cron'?: string;
  tz?: string;
  'when-frozen'?: 'wait' | 'fail';
  'sync-registries'?: boolean;
  output?: string;
  file?: string;
  'public-key'?: string;
  'min-seq'?: number;
  // webhooks and git targets
  repo?: string;
  path?: string;
  'token-secret'?: string;
  value?: string;
  description?: string;
  disable?: boolean;
  enable?: boolean;
  registry?: string;
  repository?: string;
  pattern?: string;
}
const values: Values = {};

/** `stageline login` keeps the URL and token here (mode 0600), so tokens stay out of shell history. */
const CONFIG_FILE = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'stageline', 'config.json');
const saved = ((): { url?: string; token?: string } => {
  try {
    return JSON.parse(readFileSync(CONFIG_FILE, 'utf8')) as { url?: string; token?: string };
  } catch {
    return {};
  }
})();
// Flags, then the environment, then the config file (resolved once the command line is parsed).
let base = '';
let token: string | undefined;

// Everything this CLI prints is shown as text, never as terminal control: whatever reaches the
// console (answers, errors, files it read) has its control and bidi characters escaped
// (domain/display.ts); answers are also cleaned string by string, so a line break inside a value
// cannot start a forged row either.
for (const stream of ['log', 'error'] as const) {
  const write = console[stream].bind(console);
  console[stream] = (...args: unknown[]) => write(...args.map((a) => (typeof a === 'string' ? visibleDocument(a) : a)));
}

function fail(message: string, code = 2): never {
  console.error(`stageline: ${message}`);
  process.exit(code);
}

/** A JWT's claims, read locally (not verified: the API verifies it). */
function claims(jwt: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** --break-glass <reason>: an admin override of a guard (protected environment), audited as such. */
let breakGlass: string | undefined;

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(breakGlass ? { 'x-break-glass-reason': breakGlass } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((e) => fail(`cannot reach ${base}: ${(e as Error).message}`));
  const text = await res.text();
  let data: any;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = { message: text.slice(0, 500) };
  }
  if (!res.ok) {
    data = visibleDeep(data);
    const err = data?.error ?? data;
    const issues = err?.issues?.map((i: any) => `\n  ${i.path}: ${i.message}`).join('') ?? '';
    const hint = res.status === 401 ? `\n  (stageline login --url <url> < token.txt, or set STAGELINE_TOKEN; npm start prints tokens into .stageline/tokens.env)` : '';
    const impact = err?.impact ? `\n${impactLines(err.impact).map((l) => `  ${l}`).join('\n')}` : '';
    fail(`${res.status} ${err?.message ?? res.statusText}${issues}${impact}${hint}`, res.status === 401 ? 3 : 2);
  }
  // --json prints the answer exactly (out() escapes what JSON leaves raw); people get every string made visible.
  return values.json ? data : visibleDeep(data);
}

/**
 * Aligned columns with a dashed rule under the header (seed 003's layout). On a terminal the table
 * fits its width: the widest columns are cut (…) until it does.
 */
function grid(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const room = process.stdout.isTTY ? process.stdout.columns : 0;
  if (room) {
    const min = head.map((h) => Math.max(h.length, 6));
    while (widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1) > room) {
      const i = widths.reduce((best, w, j) => (w - min[j]! > widths[best]! - min[best]! ? j : best), 0);
      if (widths[i]! <= min[i]!) break;
      widths[i]!--;
    }
  }
  const cell = (v: string, w: number) => (v.length > w ? `${v.slice(0, Math.max(0, w - 1))}…` : v.padEnd(w));
  const line = (r: string[]) => r.map((v, i) => cell(v ?? '', widths[i]!)).join('  ').trimEnd();
  console.log(line(head));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
}

function table(rows: Record<string, unknown>[], cols: string[]): void {
  grid(
    cols.map((c) => c[0]!.toUpperCase() + c.slice(1)),
    rows.map((r) => cols.map((c) => String(r[c] ?? ''))),
  );
}

/** 2024-01-15T15:00:00.000Z → 2024-01-15 15:00:00 (UTC) */
const when = (iso: string | null | undefined) => (iso ? iso.slice(0, 19).replace('T', ' ') : '-');
const label = (s: any) => (s?.type === 'artifact' ? `${s.name}@${s.version}` : s?.type === 'config' ? `config:${String(s.promotionType).toLowerCase()}@${s.sourceSnapshot.seq}` : String(s ?? ''));
const MARK: Record<string, string> = { PASS: '✓', FAIL: '✗', WARN: '!', SKIPPED: '-' };
const FINAL = ['COMPLETED', 'FAILED', 'REJECTED', 'VALIDATION_FAILED', 'CANCELLED', 'EXPIRED', 'ROLLED_BACK'];
const UNSUCCESSFUL = ['FAILED', 'REJECTED', 'VALIDATION_FAILED', 'CANCELLED', 'EXPIRED'];

function seconds(n: number): string {
  if (n < 90) return `${n} second${n === 1 ? '' : 's'}`;
  const m = Math.round(n / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}

function impactLines(i: any): string[] {
  const breaking: string[] = i.breakingChanges ?? [];
  const consumers: any[] = i.affectedConsumers ?? [];
  const reverts = (i.reverts ?? []).map((r: any) =>
    r.artifact ? `${r.artifact} ${r.from ?? 'nothing'} → ${r.to}` : `${r.action} ${r.kind} ${r.key}${r.action === 'modify' ? `: ${JSON.stringify(r.from)} → ${JSON.stringify(r.to)}` : r.action === 'add' ? ` = ${JSON.stringify(r.to)}` : ''}`,
  );
  const rec = i.recommendation === 'SAFE' ? 'SAFE to rollback' : `${i.recommendation}${i.reasons?.length ? ` (${i.reasons.join('; ')})` : ''}`;
  return [
    `Rollback of ${i.environment ?? values.env}: ${reverts.length ? reverts.join(', ') : 'nothing changes'}`,
    `Affected data products: ${consumers.length}${consumers.length ? ` (${consumers.map((c) => `${c.name} pins ${c.constraint}`).join('; ')})` : ''}`,
    `Breaking changes: ${breaking.length}${breaking.length ? ` (${breaking.join('; ')})` : ''}`,
    `Estimated downtime: ${seconds(i.estimatedSeconds ?? 0)}`,
    `Recommendation: ${rec}`,
  ];
}

/** One promotion, as people read it. */
function describe(p: Promotion): void {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a promotion is doing now, for the --wait progress line. */
function progressLine(p: any, until: number): string {
  const step = p.status === 'VALIDATING' ? 'running gates' : p.status === 'EXECUTING' ? 'executing' : p.status === 'PENDING' ? 'waiting to start' : p.status.toLowerCase();
  const expiry = p.approvals?.expiresAt ? `, approval window closes ${when(p.approvals.expiresAt)}` : '';
  return `${p.id}: ${step}${expiry} (giving up in ${Math.max(0, Math.round((until - Date.now()) / 1000))} s)`;
}

/**
 * Polls until the promotion is final or waits for a person (approval or manual execution). On a
 * terminal it shows progress on one updating line; with --json or when not a TTY it stays quiet.
 */
async function waitFor(id: string): Promise<any> {
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
async function settle(p: any, wrap: (final: any) => unknown = (f) => f): Promise<void> {
  const final = values.wait ? await waitFor(p.id) : p;
  out(wrap(final), () => describe(final));
  if (UNSUCCESSFUL.includes(final.status)) process.exit(1);
}

function dryRun(r: any): void {
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

/** GET a text answer (a YAML manifest, a JSON Lines export): the body and headers, or the API's message and exit 2/3. */
async function apiText(path: string): Promise<{ text: string; headers: Headers }> {
  const res: Response = await fetch(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} }).catch((e) => fail(`cannot reach ${base}: ${(e as Error).message}`));
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 300);
    try {
      message = JSON.parse(text).error.message;
    } catch {
      /* not JSON */
    }
    fail(`${res.status} ${visible(String(message))}`, res.status === 401 ? 3 : 2);
  }
  return { text, headers: res.headers };
}

const out = (data: unknown, human: () => void) => (values.json ? console.log(visibleDocument(JSON.stringify(data, null, 2))) : human());
/** A document from the service (manifest, audit export): exact into a pipe or file, made visible on a terminal. */
const show = (text: string) => process.stdout.write(process.stdout.isTTY ? visibleDocument(text) : text);
const need = (v: string | undefined, name: string) => v ?? fail(`--${name} is required`);
const q = encodeURIComponent;

// ---- commands -------------------------------------------------------------------------------------

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} takes a whole number`);
  return n;
};
const collect = (v: string, prev: string[] = []) => [...prev, v];
const printed = (r: any) => out(r, () => describe(r));

/** floe's `promote v1.2.3 --to staging` names no artifact: the one the environment runs, when it runs exactly one. */
async function inferArtifact(envName: string): Promise<string> {
  const s = await api('GET', `/api/v1/status?env=${q(envName)}`);
  const names: string[] = [...new Set<string>(s.environments[0]?.artifacts.map((a: any) => a.artifact) ?? [])];
  if (names.length === 1) return names[0]!;
  return fail(names.length ? `'${envName}' runs ${names.join(', ')}: say which with --artifact <name>` : `'${envName}' runs no artifact yet: say which with --artifact <name> (or --config for the config set)`);
}

const program = new Command('stageline')
  .description('Move releases (config sets, feature flags, artifact versions) through dev → staging → production.')
  .option('--json', 'print the API’s JSON instead of tables')
  .option('--url <url>', 'API base URL (default: $STAGELINE_URL, the login file, http://127.0.0.1:3000)')
  .option('--token <token>', 'bearer token (default: $STAGELINE_TOKEN, the login file); prefer `stageline login`')
  .showSuggestionAfterError()
  .showHelpAfterError('(stageline <command> --help for usage)')
  .addHelpText('after', `\nTimes are UTC.\n${EXIT_CODES}`)
  .hook('preAction', (_program, action) => {
    // Commander names options in camelCase; the commands read them as typed (kebab-case).
    for (const [k, v] of Object.entries(action.optsWithGlobals())) (values as Record<string, unknown>)[k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] = v;
    base = (values.url ?? process.env.STAGELINE_URL ?? saved.url ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
    token = values.token ?? process.env.STAGELINE_TOKEN ?? saved.token;
  });

const waitOptions = (c: Command) =>
  c.option('--wait', 'poll until the promotion is final or waits for a person').addOption(new Option('--timeout <seconds>', 'how long --wait polls').argParser(int('--timeout')).default(120));

// ---- environments and configs ----

const env = program.command('env').description('environments');
env.command('list').description('environments in line order').action(async () => {
  const r = await api('GET', '/api/v1/environments');
  out(r, () => table(r.items.map((e: any) => ({ ...e, snapshot: `${e.name}@${e.snapshot.seq}`, items: e.itemCount })), ['position', 'name', 'displayName', 'items', 'snapshot', 'protected', 'updatedBy']));
});
env.command('get').description('one environment, as JSON').argument('<env>').action(async (name: string) => {
  console.log(JSON.stringify(await api('GET', `/api/v1/environments/${q(name)}`), null, 2));
});

const config = program.command('config').description('configs and feature flags of an environment');
config
  .command('list')
  .description('configs (or flags) of an environment')
  .requiredOption('--env <env>', 'environment')
  .option('--flags', 'feature flags instead of configs')
  .action(async () => {
    const kind = values.flags ? 'flags' : 'configs';
    const items: any[] = [];
    let cursor: string | undefined;
    do {
      const r = await api('GET', `/api/v1/environments/${q(values.env!)}/${kind}?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      items.push(...r.items);
      cursor = r.nextCursor;
    } while (cursor);
    items.sort((a, b) => (a.key < b.key ? -1 : 1));
    out(items, () => table(items.map((i) => ({ ...i, value: JSON.stringify(i.value) })), ['key', 'value', 'version', 'updatedBy', 'updatedAt']));
  });
config
  .command('set')
  .description('set one config (or flag) as a new snapshot; a protected environment needs an admin’s --break-glass')
  .argument('<key>')
  .argument('<json-value>', 'a JSON value; a bare word is a string')
  .requiredOption('--env <env>', 'environment')
  .option('--flag', 'a feature flag instead of a config')
  .option('--reason <text>', 'why (kept in the audit trail)')
  .option('--break-glass <reason>', 'admin override of a protected environment (audited, notified)')
  .action(async (key: string, raw: string) => {
    breakGlass = values['break-glass'];
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    const r = await api('POST', `/api/v1/environments/${q(values.env!)}/items/batch`, { set: [{ kind: values.flag ? 'flag' : 'config', key, value }], reason: values.reason });
    out(r, () => console.log(`${values.env}@${r.snapshot.seq} ${r.snapshot.digest} (created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged})`));
  });
config
  .command('import')
  .description('{"key": value, ...} as one snapshot')
  .argument('<file.json>')
  .requiredOption('--env <env>', 'environment')
  .option('--reason <text>', 'why')
  .action(async (file: string) => {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const r = await api('POST', `/api/v1/environments/${q(values.env!)}/items/batch`, { set: Object.entries(data).map(([key, value]) => ({ key, value })), reason: values.reason });
    out(r, () => console.log(`${values.env}@${r.snapshot.seq} ${r.snapshot.digest} (created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged})`));
  });

program
  .command('diff')
  .description('what promoting source onto target would change')
  .requiredOption('--source <env>', 'environment promoted from')
  .requiredOption('--target <env>', 'environment promoted to')
  .action(async () => {
    const r = await api('GET', `/api/v1/config/promotions/diff?source=${q(values.source!)}&target=${q(values.target!)}`);
    out(r, () => {
      for (const a of r.added) console.log(`+ ${a.kind} ${a.key} = ${JSON.stringify(a.value)}`);
      for (const m of r.modified) console.log(`~ ${m.kind} ${m.key}: ${JSON.stringify(m.targetValue)} -> ${JSON.stringify(m.sourceValue)}`);
      for (const d of r.removed) console.log(`- ${d.kind} ${d.key} (was ${JSON.stringify(d.value)})`);
      console.log(`${r.added.length} added, ${r.modified.length} modified, ${r.removed.length} removed, ${r.unchanged} unchanged`);
    });
  });
program
  .command('snapshots')
  .description('snapshot history of an environment')
  .requiredOption('--env <env>', 'environment')
  .addOption(new Option('--limit <n>', 'how many').argParser(int('--limit')).default(20))
  .action(async () => {
    const r = await api('GET', `/api/v1/environments/${q(values.env!)}/snapshots?limit=${values.limit}`);
    out(r, () => table(r.items.map((s: any) => ({ ...s, action: s.change.action, items: s.itemCount })), ['id', 'action', 'items', 'createdBy', 'createdAt', 'digest']));
  });
program
  .command('restore')
  .description('point the environment back at a snapshot')
  .argument('<seq>')
  .requiredOption('--env <env>', 'environment')
  .requiredOption('--reason <text>', 'why')
  .action(async (seq: string) => {
    const r = await api('POST', `/api/v1/environments/${q(values.env!)}/snapshots/${q(seq)}/restore`, { reason: values.reason });
    out(r, () => console.log(`${r.name} now at ${r.name}@${r.snapshot.seq} (${r.snapshot.digest})`));
  });

// ---- artifacts and promotions ----

program
  .command('publish')
  .description('publish a version into the first environment (creates <version>-dev, latest-dev)')
  .requiredOption('--artifact <name>', 'artifact')
  .requiredOption('--version <v1.2.3>', 'semantic version')
  .requiredOption('--digest <sha256:…>', 'content digest')
  .option('--commit <sha>', 'source commit')
  .option('--branch <name>', 'git branch')
  .action(async () => {
    const artifact = values.artifact!;
    const body = { version: values.version, digest: values.digest, ...(values.commit ? { sourceCommit: values.commit } : {}), ...(values.branch ? { gitBranch: values.branch } : {}) };
    const r = await api('POST', `/api/v1/artifacts/${q(artifact)}/versions`, body);
    out(r, () => console.log(`${artifact}@${r.artifact.version} published into ${r.environment}${r.created ? '' : ' (already there, same digest)'}: ${r.artifact.version}-${r.environment}, latest-${r.environment} → ${r.artifact.digest}`));
  });

const promote = waitOptions(
  program
    .command('promote')
    .description('promote an artifact version (--artifact) or the whole config set (--config); `promote status` shows every environment')
    .argument('[version]', 'the artifact version (with --artifact)')
    .option('--to <env>', 'target environment (required)')
    .option('--from <env>', 'source environment (default: the one before --to in the line)')
    .option('--artifact <name>', 'the artifact to promote')
    .option('--config', 'promote the config set (FULL)')
    .option('--dry-run', 'show what would change, the gates and the approval needed; change nothing')
    .option('--notes <text>', 'release notes')
    .option('--sync-registries', "require the copy into the target's registries (fail if it has none); it happens whenever the target lists registries")
    .addOption(new Option('--when-frozen <mode>', 'inside a freeze window: wait for it to end, or fail').choices(['wait', 'fail'])),
).action(async (version: string | undefined) => {
  // Not a required option: `promote status` (a subcommand) has no --to.
  const to = values.to ?? fail("required option '--to <env>' not specified (stageline promote --help)");
  // --from defaults to the environment before --to in the line (floe's `promote v1.2.3 --to=staging`).
  let from = values.from;
  if (!from) {
    const line = ((await api('GET', '/api/v1/environments')).items as Environment[]).sort((a, b) => a.position - b.position);
    const i = line.findIndex((e) => e.name === to);
    if (i < 0) fail(`no environment '${to}' (the line is ${line.map((e) => e.name).join(' → ')})`);
    if (i === 0) fail(`'${to}' is the first environment: nothing comes before it (publish into it instead)`);
    from = line[i - 1]!.name;
  }
  const whenFrozen = values['when-frozen'];
  const common = { sourceEnvironment: from, targetEnvironment: to, dryRun: values['dry-run'] ?? false, ...(values.notes ? { notes: values.notes } : {}), ...(whenFrozen ? { whenFrozen } : {}) };
  let body: Record<string, unknown>;
  if (values.config) {
    if (version) fail('promote --config takes no version: it promotes the whole config set of --from');
    body = { ...common, promotionType: 'FULL' };
  } else if (version) {
    body = { ...common, artifact: values.artifact ?? (await inferArtifact(from)), version };
  } else {
    fail('say what to promote: a version (promote v1.2.3 --to staging [--artifact <name>]), or --config for the config set');
  }
  if (values['sync-registries'] && !values.config) {
    const target = await api('GET', `/api/v1/environments/${q(to)}`);
    if (!target.registries?.length) fail(`--sync-registries: '${to}' lists no registries (PATCH /api/v1/environments/${to} with "registries": [{"name", "url"}])`);
  }
  const r = await api('POST', '/api/v1/promotions', body);
  if (r.dryRun) out(r, () => dryRun(r));
  else await settle(r);
});
promote
  .command('status')
  .description('what each environment runs; pending promotions and why')
  .option('--env <env>', 'one environment')
  .action(async () => {
    const r: Status = await api('GET', `/api/v1/status${values.env ? `?env=${q(values.env)}` : ''}`);
    out(r, () => {
      const names = new Set(r.environments.flatMap((e: any) => e.artifacts.map((a: any) => a.artifact)));
      const rows: string[][] = [];
      for (const e of r.environments) {
        const state = [e.autoPromotionPaused ? 'paused' : '', e.protected ? 'protected' : '', e.freeze?.current ? 'frozen' : ''].filter(Boolean).join(',');
        const gates = e.gates.marks || 'none';
        const last = e.lastPromotion;
        const runs = e.artifacts.length ? e.artifacts : [null];
        runs.forEach((a: any, i: number) => {
          const version = a ? (names.size > 1 ? `${a.artifact} ${a.tag}` : a.tag) : '-';
          rows.push([i ? '' : e.name, version, when(a ? a.promotedAt : last?.completedAt), (a ? a.promotedBy : last?.requestedBy) ?? '-', i ? '' : gates, i ? '' : e.config.snapshot, i ? '' : state]);
        });
      }
      grid(['Environment', 'Version', 'Promoted At', 'Promoted By', 'Gates', 'Config', 'State'], rows);
      console.log('');
      console.log(`Gates: ${r.environments[0]?.gates.legend.split(',').join(' ') ?? ''} (✓ pass, ✗ fail, ! warn, - off)`);
      console.log('');
      console.log(`Pending Promotions:${r.pending.length ? '' : ' none'}`);
      for (const p of r.pending) console.log(`- ${p.subject} ${p.from === p.to ? `rollback of ${p.to}` : `${p.from} → ${p.to}`} (${p.why})  ${p.id}`);
    });
  });

program
  .command('list')
  .description('versions that entered an environment (* = current), or every published version of an artifact')
  .option('--env <env>', 'environment')
  .option('--artifact <name>', 'artifact (required without --env)')
  .action(async () => {
    if (!values.env) {
      if (!values.artifact) fail('list needs --env <env> or --artifact <name>');
      const r = await api('GET', `/api/v1/artifacts/${q(values.artifact)}/versions`);
      out(r, () => table(r.versions.map((v: any) => ({ ...v, publishedAt: when(v.publishedAt) })), ['version', 'digest', 'sourceCommit', 'publishedBy', 'publishedAt']));
      return;
    }
    let names = values.artifact ? [values.artifact] : [];
    if (!names.length) {
      const s = await api('GET', `/api/v1/status?env=${q(values.env)}`);
      names = s.environments[0]?.artifacts.map((a: any) => a.artifact) ?? [];
      if (!names.length) fail(`'${values.env}' runs no artifacts; give --artifact <name>`);
    }
    const all: any[] = [];
    for (const name of names) all.push(await api('GET', `/api/v1/artifacts/${q(name)}/versions?environment=${q(values.env)}`));
    out(all.length === 1 ? all[0] : all, () =>
      all.forEach((r, i) => {
        if (i) console.log('');
        console.log(`${r.artifact} in ${r.environment}: ${r.latest ? `runs ${r.latest.version}` : 'nothing yet'}`);
        grid(
          ['', 'Version', 'Tag', 'Entered At', 'By', 'Digest'],
          r.versions.map((v: any, n: number) => [n === r.versions.findIndex((x: any) => x.current) ? '*' : '', v.version, v.tag, when(v.createdAt), v.createdBy, v.digest]),
        );
      }),
    );
  });

waitOptions(
  program
    .command('rollback')
    .description('roll an environment back to an artifact version or a snapshot; --dry-run prints the impact only')
    .argument('[version]', 'the artifact version to go back to (with --artifact)')
    .requiredOption('--env <env>', 'environment')
    .option('--artifact <name>', 'artifact')
    .addOption(new Option('--snapshot <seq>', 'config snapshot to go back to').argParser(int('--snapshot')))
    .option('--dry-run', 'impact analysis only')
    .option('--reason <text>', 'why')
    .option('--override', 'go ahead although the impact analysis advises against it'),
).action(async (version: string | undefined) => {
  const opts = { dryRun: values['dry-run'] ?? false, ...(values.reason ? { reason: values.reason } : {}), override: values.override ?? false };
  let body: Record<string, unknown>;
  if (values.snapshot !== undefined) {
    if (values.snapshot < 1) fail('--snapshot must be a snapshot number (see: stageline snapshots --env <env>)');
    body = { snapshot: values.snapshot, ...opts };
  } else {
    if (!version) fail('usage: rollback <version> --env <env> [--artifact <name>], or rollback --snapshot <seq> --env <env>');
    body = { artifact: values.artifact ?? (await inferArtifact(values.env!)), version, ...opts };
  }
  const r = await api('POST', `/api/v1/environments/${q(values.env!)}/rollback`, body);
  if (r.dryRun) {
    out(r, () => {
      for (const l of impactLines(r.impact)) console.log(l);
      console.log('Nothing was changed (dry run).');
    });
    return;
  }
  if (!values.json) for (const l of impactLines(r.impact)) console.log(l);
  await settle(r.promotion, (promotion) => ({ ...r, promotion }));
});

program
  .command('status')
  .description('one promotion: status, gates, approvals')
  .argument('<promotion-id>')
  .action(async (id: string) => printed(await api('GET', `/api/v1/promotions/${q(id)}`)));
program
  .command('approve')
  .description('approve a promotion waiting for approval')
  .argument('<promotion-id>')
  .option('--comment <text>', 'a comment kept with the approval')
  .action(async (id: string) => printed(await api('POST', `/api/v1/promotions/${q(id)}/approve`, values.comment ? { comment: values.comment } : {})));
program
  .command('reject')
  .description('reject a promotion waiting for approval')
  .argument('<promotion-id>')
  .requiredOption('--reason <text>', 'why')
  .action(async (id: string) => printed(await api('POST', `/api/v1/promotions/${q(id)}/reject`, { reason: values.reason })));

// ---- policy as code ----

const planOrApply = async (apply: boolean) => {
  const document = readFileSync(values.file!, 'utf8');
  const plan = await api('POST', '/api/v1/manifest/plan', { document });
  const show = (v: unknown) => JSON.stringify(v);
  const lines = (plan.changes as { op: string; path: string; before?: unknown; after?: unknown }[]).map((c) =>
    c.op === 'add' ? `+ ${c.path} = ${show(c.after)}` : c.op === 'remove' ? `- ${c.path} (was ${show(c.before)})` : `~ ${c.path}: ${show(c.before)} → ${show(c.after)}`,
  );
  if (!apply || !lines.length) {
    out(plan, () => console.log(lines.length ? `${lines.join('\n')}\n\nPlan: ${plan.summary.add} to add, ${plan.summary.change} to change, ${plan.summary.remove} to remove (against ${plan.digest}).` : 'No changes: the setup matches the manifest.'));
    return;
  }
  const r = await api('POST', '/api/v1/manifest/apply', { document, expectedDigest: plan.digest });
  out(r, () => console.log(`${lines.join('\n')}\n\nApplied: ${r.summary.add} added, ${r.summary.change} changed, ${r.summary.remove} removed (now ${r.digest}).`));
};
program.command('plan').description('what applying a manifest would change (field by field)').requiredOption('-f, --file <manifest.yaml>', 'the manifest (YAML or JSON)').action(() => planOrApply(false));
program
  .command('apply')
  .description('plan, then apply the manifest as one audited change (admin; refused if the setup moved since the plan)')
  .requiredOption('-f, --file <manifest.yaml>', 'the manifest (YAML or JSON)')
  .action(() => planOrApply(true));
program
  .command('export')
  .description('the tenant’s setup as a manifest (export | apply changes nothing)')
  .option('-o, --output <file>', 'write it to a file')
  .addOption(new Option('--format <format>', 'document format').choices(['yaml', 'json']).default('yaml'))
  .action(async () => {
    const { text, headers } = await apiText(`/api/v1/manifest?format=${values.format}`);
    if (values.output) {
      writeFileSync(values.output, text);
      console.error(`wrote ${values.output} (digest ${headers.get('x-manifest-digest')})`);
    } else show(text);
  });

// ---- freeze windows ----

const freeze = program.command('freeze').description('freeze windows');
freeze
  .command('list')
  .description('freeze windows (with --env: the current and the next one)')
  .option('--env <env>', 'environment')
  .action(async () => {
    const r = await api('GET', values.env ? `/api/v1/environments/${q(values.env)}/freeze-windows` : '/api/v1/freeze-windows');
    const span = (w: any) => (w.kind === 'once' ? `${w.start} → ${w.end}` : `${w.cron} → ${w.endCron} (${w.timezone})`);
    out(r, () => {
      if (values.env) console.log(`${values.env}: ${r.current ? `FROZEN until ${r.current.end} (${r.current.reason})` : 'open'}${r.next ? `; next window ${r.next.start} → ${r.next.end} (${r.next.reason})` : ''}`);
      grid(['Id', 'Scope', 'When', 'Open now', 'Next', 'Reason'], r.items.map((w: any) => [w.id, w.scope, span(w), w.open ? `until ${w.open.end}` : '', w.next ? w.next.start : '', w.reason]));
    });
  });
freeze
  .command('add')
  .description("add a window (admin): one-off (--start/--end), or recurring in a time zone (--cron '0 16 * * 5' --end-cron '0 8 * * 1' --tz Europe/Berlin)")
  .requiredOption('--reason <text>', 'why (shown where promotions are held)')
  .option('--env <env>', 'one environment (default: every environment of the tenant)')
  .option('--start <iso>', 'one-off: start')
  .option('--end <iso>', 'one-off: end')
  .option('--cron <expr>', 'recurring: when it starts')
  .option('--end-cron <expr>', 'recurring: when it ends')
  .option('--tz <zone>', 'recurring: IANA time zone')
  .action(async () => {
    const body = { reason: values.reason, ...(values.start || values.end ? { start: values.start, end: values.end } : { cron: values.cron, endCron: values['end-cron'], timezone: values.tz }) };
    const r = await api('POST', values.env ? `/api/v1/environments/${q(values.env)}/freeze-windows` : '/api/v1/freeze-windows', body);
    out(r, () => console.log(`${r.id} (${r.scope === '*' ? 'every environment' : r.scope})${r.open ? `: frozen now until ${r.open.end}` : r.next ? `: next ${r.next.start} → ${r.next.end}` : ''}`));
  });
freeze
  .command('remove')
  .description('remove a window (admin)')
  .argument('<id>')
  .action(async (id: string) => {
    await api('DELETE', `/api/v1/freeze-windows/${q(id)}`);
    out({ removed: id }, () => console.log(`removed ${id}`));
  });

// ---- discovery: registry repositories whose pushes become versions ----

const link = program.command('link').description('registry repositories linked to an artifact (pushed tags become versions)');
link
  .command('list')
  .description("an artifact's registry links")
  .requiredOption('--artifact <name>', 'artifact')
  .action(async () => {
    const r = await api('GET', `/api/v1/artifacts/${q(values.artifact!)}/links`);
    out(r, () => grid(['Id', 'Registry', 'Repository', 'Tags'], r.items.map((l: any) => [l.id, l.registry, l.repository, 'semver' in l.tags ? 'semver' : `/${l.tags.pattern}/`])));
  });
link
  .command('add')
  .description("link a repository (admin); prints the token the registry's notifications must carry (shown once)")
  .requiredOption('--artifact <name>', 'artifact')
  .requiredOption('--registry <host>', 'registry host[:port], e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com')
  .requiredOption('--repository <name>', 'repository in that registry')
  .option('--pattern <regex>', 'only tags matching this (whole tag; default: any semantic version)')
  .action(async () => {
    const body = { registry: values.registry, repository: values.repository, tags: values.pattern ? { pattern: values.pattern } : { semver: true } };
    const r = await api('POST', `/api/v1/artifacts/${q(values.artifact!)}/links`, body);
    out(r, () => console.log(`${r.id}: ${r.registry}/${r.repository} → ${r.artifact}\nnotifications: POST /api/v1/registry/notifications/<tenant>/${r.artifact}/${r.id} with Authorization: Bearer ${r.notifyToken} (shown once)`));
  });
link
  .command('remove')
  .description('remove a link (admin)')
  .requiredOption('--artifact <name>', 'artifact')
  .argument('<id>')
  .action(async (id: string) => {
    await api('DELETE', `/api/v1/artifacts/${q(values.artifact!)}/links/${q(id)}`);
    out({ removed: id }, () => console.log(`removed ${id}`));
  });

// ---- audit ----

const audit = program
  .command('audit')
  .description('newest audit entries; `audit verify`, `audit export`, `audit public-key`')
  .addOption(new Option('--limit <n>', 'how many').argParser(int('--limit')).default(20))
  .action(async () => {
    const r = await api('GET', `/api/v1/audit?limit=${values.limit}`);
    out(r, () => table(r.items, ['at', 'actorName', 'action', 'entityId', 'reason']));
  });
audit
  .command('export')
  .description('the chain as JSON Lines (every page), for an auditor')
  .option('--from <iso>', 'entries from')
  .option('--to <iso>', 'entries until')
  .option('-o, --output <file>', 'write it to a file')
  .action(async () => {
    // Page after page (each page: header, entries, checkpoints, trailer), into one file or stdout.
    const chunks: string[] = [];
    let fromSeq: string | null = null;
    do {
      const params: URLSearchParams = new URLSearchParams({ ...(values.from ? { from: values.from } : {}), ...(values.to ? { to: values.to } : {}), ...(fromSeq ? { fromSeq } : {}) });
      const { text, headers } = await apiText(`/api/v1/audit/export?${params}`);
      chunks.push(text);
      fromSeq = headers.get('x-next-cursor');
    } while (fromSeq);
    if (values.output) {
      writeFileSync(values.output, chunks.join(''));
      const rows = chunks.join('').split('\n').filter((l) => l.startsWith('{"type":"entry"') || l.startsWith('{"type":"checkpoint"'));
      const entries = rows.filter((l) => l.startsWith('{"type":"entry"')).length;
      console.error(`wrote ${values.output}: ${entries} entries, ${rows.length - entries} signed checkpoints (verify it: stageline audit verify --file ${values.output} --public-key <pinned key.pem>)`);
    } else show(chunks.join(''));
  });
audit
  .command('public-key')
  .description('the public key that verifies every audit checkpoint (PEM): pin it once, then verify exports offline with it')
  .option('-o, --output <file>', 'write the PEM to a file')
  .action(async () => {
    // The PEM is a document, kept exact (api() makes an answer's line breaks visible for display):
    // read raw, parsed as the P-256 key it must be, and written and printed in its canonical PEM,
    // whose key id is computed here rather than taken from the answer.
    const { text } = await apiText('/api/v1/audit/public-key');
    let r: ReturnType<typeof describePublicKey> & { signedMessage?: unknown };
    try {
      const answer = JSON.parse(text);
      r = { ...answer, ...describePublicKey(String(answer.publicKeyPem)) };
      if (answer.keyId !== r.keyId) throw new Error(`it names key ${answer.keyId} but holds ${r.keyId}`);
    } catch (err) {
      fail(`the service answered no valid audit public key: ${(err as Error).message.split('\n')[0]}`);
    }
    if (values.output) {
      writeFileSync(values.output, r.publicKeyPem);
      console.error(`wrote ${values.output}: ${r.algorithm} ${r.curve} key ${r.keyId}`);
    }
    out(r, () => {
      if (!values.output) process.stdout.write(r.publicKeyPem);
      console.error(`key id ${r.keyId} (sha256 of the DER public key: openssl pkey -pubin -in key.pem -outform der | sha256sum)`);
    });
  });
audit
  .command('verify')
  .description('check the hash chain online (checkpoints’ signatures too), or an export offline with --file and --public-key')
  .option('-f, --file <export.jsonl>', 'verify an export offline (no access to the service needed)')
  .option('--public-key <key.pem>', 'the pinned public key (stageline audit public-key) every checkpoint signature is checked with')
  .addOption(new Option('--min-seq <n>', 'the chain reaches at least this link (e.g. the head /audit/verify showed): an export anchored short of it fails').argParser(int('--min-seq')))
  .action(async () => {
    if (values.file) {
      if (!values['public-key']) fail('--public-key <key.pem> is needed to verify an export: get it once with `stageline audit public-key --output key.pem` and keep it');
      let key: string;
      try {
        key = readFileSync(values['public-key'], 'utf8');
        checkpointPublicKey(key);
      } catch (err) {
        fail(`--public-key ${values['public-key']}: ${(err as Error).message.split('\n')[0]} (expected the PEM that stageline audit public-key prints)`);
      }
      const v = verifyExport(readFileSync(values.file, 'utf8'), key, { minSeq: values['min-seq'] });
      out(v, () => {
        if (v.ok) console.log(`export intact: ${v.checked} entries (links ${v.firstSeq}..${v.lastSeq}) of tenant ${v.tenant}; ${v.checkpoints} checkpoint signatures verified with key ${v.keyId}; anchored through link ${v.anchoredThrough!.seq} (signed ${v.anchoredThrough!.at})`);
        else for (const p of v.problems) console.log(`line ${p.line}${p.seq ? ` (link ${p.seq})` : ''}: ${p.what}`);
      });
      if (!v.ok) process.exit(1);
      return;
    }
    const r = await api('GET', '/api/v1/audit/verify');
    out(r, () =>
      console.log(
        r.ok
          ? `chain intact: ${r.checked} entries linked${r.pending ? `, ${r.pending} pending (not linked yet)` : ''}; ${r.checkpoints.count} signed checkpoints, newest at ${r.checkpoints.latestSeq}`
          : `BROKEN at entry ${r.firstBroken.seq}: ${r.firstBroken.reason}`,
      ),
    );
    if (!r.ok) process.exit(1);
  });

// ---- notifications ----

const notify = program.command('notify').description('where notifications go');
notify
  .command('get')
  .description('tenant-wide, or for promotions into --env')
  .option('--env <env>', 'environment')
  .action(async () => {
    const r = await api('GET', values.env ? `/api/v1/environments/${q(values.env)}/notifications` : '/api/v1/notifications');
    out(r, () => {
      console.log(`notifications (${r.scope}), version ${r.version}`);
      console.log(`  slack:  ${r.slack ? `${r.slack.webhook} ${r.slack.channels.join(' ')}${r.slack.teamId ? ` (workspace ${r.slack.teamId}: Approve/Reject in Slack)` : ''}` : '—'}`);
      console.log(`  email:  ${r.email ? [...r.email.recipients, ...(r.email.approvers ? ['the eligible approvers'] : [])].join(', ') || '—' : '—'}`);
      console.log(`  events: ${r.events.join(', ')}`);
    });
  });
notify
  .command('set')
  .description('replace them (admin); webhook secrets are never printed back')
  .option('--env <env>', 'environment')
  .option('--slack-webhook <url>', 'Slack incoming webhook')
  .option('--slack-channel <#channel>', 'Slack channel (repeat)', collect)
  .option('--slack-team <T…>', "bind your Slack workspace (its team id) to the deployment's Slack app: buttons, and people linking their own accounts")
  .option('--email <address>', 'email recipient (repeat)', collect)
  .option('--approvers', 'also email the eligible approvers')
  .option('--events <kind,...>', 'which events')
  .action(async () => {
    if (values['slack-team'] && !values['slack-webhook']) fail('--slack-team binds the workspace of a Slack set-up: give --slack-webhook too');
    const body = {
      ...(values['slack-webhook'] ? { slack: { webhook: values['slack-webhook'], channels: values['slack-channel'] ?? [], ...(values['slack-team'] ? { teamId: values['slack-team'] } : {}) } } : {}),
      ...(values.email?.length || values.approvers ? { email: { recipients: values.email ?? [], approvers: values.approvers ?? false } } : {}),
      ...(values.events ? { events: values.events.split(',').map((e) => e.trim()) } : {}),
    };
    const r = await api('PUT', values.env ? `/api/v1/environments/${q(values.env)}/notifications` : '/api/v1/notifications', body);
    out(r, () => console.log(`notifications (${r.scope}) saved, version ${r.version}`));
  });

// ---- Slack identity ----

const slack = program.command('slack').description('link your own Slack account (Approve/Reject from Slack act as you)');
slack
  .command('link')
  .description('a one-time code for your account (10 minutes, once); send it from Slack: /stageline link CODE')
  .action(async () => {
    const r = await api('POST', '/api/v1/slack/link-codes');
    out(r, () => console.log(`In Slack, send:\n\n  ${r.command}\n\nValid once, until ${r.expiresAt}; it links the Slack user who sends it to ${r.account}.`));
  });
slack
  .command('links')
  .description('linked Slack users: yours (an admin sees everyone\'s)')
  .action(async () => {
    const r = await api('GET', '/api/v1/slack/links');
    out(r, () => table(r.items, ['teamId', 'userId', 'email', 'linkedAt', 'id']));
  });
slack
  .command('unlink')
  .description('unlink a Slack user: your own, or (admin) anyone\'s')
  .argument('<team>', 'the workspace (T…)')
  .argument('<user>', 'the Slack user (U…)')
  .action(async (team: string, user: string) => {
    await api('DELETE', `/api/v1/slack/links/${q(team)}/${q(user)}`);
    out({ unlinked: `${team}/${user}` }, () => console.log(`unlinked ${user} in ${team}`));
  });

// ---- app keys: read-only credentials of running services ----

const keysCmd = program.command('keys').description('app keys: read-only credentials a service uses to read its environment (effective config, OFREP)');
keysCmd
  .command('list')
  .description('app keys of the tenant (never their secrets)')
  .option('--env <env>', 'only keys of this environment')
  .action(async () => {
    const r = await api('GET', `/api/v1/app-keys${values.env ? `?environment=${q(values.env)}` : ''}`);
    out(r, () => table(r.items.map((k: any) => ({ ...k, prefix: k.prefix ?? '', lastUsedAt: k.lastUsedAt ?? 'never' })), ['id', 'name', 'environment', 'prefix', 'status', 'lastUsedAt', 'createdBy']));
  });
keysCmd
  .command('create')
  .description('create a key for one environment; it is printed once (keep it in your secret store)')
  .requiredOption('--env <env>', 'the environment it reads')
  .requiredOption('--name <name>', 'what it is for (e.g. the service)')
  .option('--prefix <prefix>', 'read only configs and flags whose key starts with this')
  .action(async () => {
    const r = await api('POST', '/api/v1/app-keys', { name: values.name, environment: values.env, ...(values.prefix ? { prefix: values.prefix } : {}) });
    out(r, () => {
      console.error(`app key ${r.id} for ${r.environment}${r.prefix ? ` (keys under ${r.prefix})` : ''}; shown this once:`);
      console.log(r.key);
    });
  });
keysCmd
  .command('rotate')
  .description('a new secret for the key (printed once); the previous one keeps working for --overlap seconds')
  .argument('<id>')
  .addOption(new Option('--overlap <seconds>', 'how long the previous secret keeps working').argParser(int('--overlap')).default(86400))
  .action(async (id: string) => {
    const r = await api('POST', `/api/v1/app-keys/${q(id)}/rotate`, { overlapSeconds: values.overlap });
    out(r, () => {
      console.error(`app key ${r.id} rotated; the previous secret works until ${r.previousSecretValidUntil ?? 'now (no overlap)'}; the new key, shown this once:`);
      console.log(r.key);
    });
  });
keysCmd
  .command('revoke')
  .description('revoke a key (refused from the next request on)')
  .argument('<id>')
  .action(async (id: string) => {
    const r = await api('DELETE', `/api/v1/app-keys/${q(id)}`);
    out(r, () => console.log(`app key ${r.id} revoked at ${r.revokedAt}`));
  });

// ---- outbound webhooks (Standard Webhooks) ----

const hooks = program.command('webhooks').description('outbound webhooks: signed deliveries of events to your URL');
hooks
  .command('list')
  .description('subscriptions and their health')
  .action(async () => {
    const r = await api('GET', '/api/v1/webhooks');
    out(r, () => grid(['Id', 'URL', 'Events', 'Environment', 'Enabled', 'Health'], r.items.map((w: any) => [w.id, w.url, w.events.join(','), w.environment ?? '*', w.enabled ? 'yes' : 'no', w.health.status === 'ok' ? 'ok' : `FAILING: ${w.health.reason}`])));
  });
hooks
  .command('create')
  .description('subscribe a URL (admin); prints the signing secret once: keep it now')
  .argument('<url>', 'https URL that receives the deliveries')
  .requiredOption('--events <type,...>', 'e.g. promotion.completed,promotion.failed,promotion.rolled_back')
  .option('--env <env>', 'only events of this environment')
  .option('--description <text>', 'what it is for')
  .action(async (url: string) => {
    const r = await api('POST', '/api/v1/webhooks', { url, events: values.events!.split(',').map((e) => e.trim()), ...(values.env ? { environment: values.env } : {}), ...(values.description ? { description: values.description } : {}) });
    out(r, () => console.log(`${r.id} → ${r.url}\nsigning secret (shown once): ${r.secret}`));
  });
hooks
  .command('get')
  .argument('<id>')
  .action(async (id: string) => printed(await api('GET', `/api/v1/webhooks/${q(id)}`)));
hooks
  .command('update')
  .description('change URL, events, environment, description, or --enable/--disable (admin)')
  .argument('<id>')
  .option('--to <url>', 'new URL')
  .option('--events <type,...>', 'event types')
  .option('--env <env>', 'only events of this environment')
  .option('--description <text>', 'what it is for')
  .option('--enable', 'deliver again')
  .option('--disable', 'stop delivering')
  .action(async (id: string) => {
    const cur = await api('GET', `/api/v1/webhooks/${q(id)}`);
    const body = {
      version: cur.version,
      ...((values as Record<string, unknown>).to ? { url: (values as Record<string, unknown>).to } : {}),
      ...(values.events ? { events: values.events.split(',').map((e) => e.trim()) } : {}),
      ...(values.env ? { environment: values.env } : {}),
      ...(values.description !== undefined ? { description: values.description } : {}),
      ...(values.enable ? { enabled: true } : values.disable ? { enabled: false } : {}),
    };
    const r = await api('PATCH', `/api/v1/webhooks/${q(id)}`, body);
    out(r, () => console.log(`${r.id} saved, version ${r.version}`));
  });
hooks
  .command('delete')
  .argument('<id>')
  .action(async (id: string) => {
    await api('DELETE', `/api/v1/webhooks/${q(id)}`);
    out({ deleted: id }, () => console.log(`deleted ${id}`));
  });
hooks
  .command('rotate')
  .description('new signing secret, printed once; the old one keeps signing for --overlap seconds (default 86400)')
  .argument('<id>')
  .addOption(new Option('--overlap <seconds>', 'how long the previous secret still signs').argParser(int('--overlap')))
  .action(async (id: string) => {
    const r = await api('POST', `/api/v1/webhooks/${q(id)}/rotate`, values.overlap !== undefined ? { overlapSeconds: values.overlap } : {});
    out(r, () => console.log(`new signing secret (shown once): ${r.secret}\nsecrets signing now: ${r.secrets.map((k: any) => `${k.id}${k.expiresAt ? ` (until ${k.expiresAt})` : ''}`).join(', ')}`));
  });
hooks
  .command('deliveries')
  .description('the delivery log, newest first')
  .argument('<id>')
  .action(async (id: string) => {
    const r = await api('GET', `/api/v1/webhooks/${q(id)}/deliveries`);
    out(r, () => grid(['Delivery (webhook-id)', 'Event', 'Status', 'Attempts', 'Next retry'], r.items.map((d: any) => [d.id, d.eventType, d.status, d.attempts.map((a: any) => a.statusCode ?? 'none').join(' '), d.nextAttemptAt ?? ''])));
  });
hooks
  .command('redeliver')
  .description('send a delivery again (same webhook-id)')
  .argument('<id>')
  .argument('<delivery>')
  .action(async (id: string, delivery: string) => {
    const r = await api('POST', `/api/v1/webhooks/${q(id)}/deliveries/${q(delivery)}/redeliver`);
    out(r, () => console.log(`${r.id}: redelivery under way`));
  });

// ---- GitOps: where promotions into an environment are committed ----

const gitTarget = program.command('git-target').description("an environment's git target (GitOps delivery)");
gitTarget
  .command('get')
  .argument('<env>')
  .action(async (envName: string) => printed(await api('GET', `/api/v1/environments/${q(envName)}/git-target`)));
gitTarget
  .command('set')
  .description('commit promoted versions into a YAML/JSON file (admin)')
  .argument('<env>')
  .requiredOption('--repo <https url>', 'repository')
  .requiredOption('--file <path>', 'file in the repository, e.g. envs/production/values.yaml')
  .requiredOption('--path <keys>', 'where in the file, e.g. image.tag')
  .option('--branch <name>', 'branch', 'main')
  .option('--value <what>', 'version | digest | version@digest', 'version')
  .option('--token-secret <NAME>', 'secret holding the push token (stageline/<tenant>/<NAME>; STAGELINE_SECRET_<NAME> locally)')
  .action(async (envName: string) => {
    const cur = await fetchOrNull(`/api/v1/environments/${q(envName)}/git-target`);
    const body = { repository: values.repo, branch: values.branch, file: values.file, path: values.path, value: values.value, ...(values['token-secret'] ? { tokenSecret: values['token-secret'] } : {}), ...(cur ? { version: cur.version } : {}) };
    const r = await api('PUT', `/api/v1/environments/${q(envName)}/git-target`, body);
    out(r, () => console.log(`${envName}: promotions commit ${r.value} to ${r.repository} ${r.branch}:${r.file} (${r.path}), version ${r.version}`));
  });
gitTarget
  .command('remove')
  .argument('<env>')
  .action(async (envName: string) => {
    await api('DELETE', `/api/v1/environments/${q(envName)}/git-target`);
    out({ removed: envName }, () => console.log(`${envName}: no git target`));
  });

/** GET that answers null on 404 (an optional resource). */
async function fetchOrNull(path: string): Promise<any> {
  const res = await fetch(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (res.status === 404) return null;
  if (!res.ok) return api('GET', path);
  return res.json();
}

// ---- login ----

program
  .command('login')
  .description('keep the URL and a token (read from standard input) in ~/.config/stageline/config.json (0600): stageline login --url <url> < token.txt')
  .action(async () => {
    // The token comes from stdin (piped, or typed), never from the command line.
    const chunks: Buffer[] = [];
    if (process.stdin.isTTY) process.stderr.write('token: ');
    for await (const c of process.stdin) {
      chunks.push(c as Buffer);
      if (process.stdin.isTTY && String(c).includes('\n')) break;
    }
    const given = Buffer.concat(chunks).toString('utf8').trim();
    if (!given) fail('login reads the token from standard input: stageline login --url <url> < token.txt');
    const url = base;
    const res = await fetch(`${url}/api/v1/environments`, { headers: { authorization: `Bearer ${given}` } }).catch((e) => fail(`cannot reach ${url}: ${(e as Error).message}`));
    if (res.status === 401) fail(`${url} refused this token (401)`, 3);
    mkdirSync(dirname(CONFIG_FILE), { recursive: true, mode: 0o700 });
    writeFileSync(CONFIG_FILE, JSON.stringify({ url, token: given }, null, 2), { mode: 0o600 });
    const c = claims(given);
    out({ url, subject: c.sub ?? null, tenant: c['custom:tenant_id'] ?? null, file: CONFIG_FILE }, () => console.log(`logged in to ${url} as ${c.email ?? c.sub ?? '?'} (tenant ${c['custom:tenant_id'] ?? '?'}); saved in ${CONFIG_FILE}`));
  });
program
  .command('logout')
  .description('forget the saved URL and token')
  .action(() => {
    rmSync(CONFIG_FILE, { force: true });
    out({ removed: CONFIG_FILE }, () => console.log(`removed ${CONFIG_FILE}`));
  });
program
  .command('whoami')
  .description('who the token says you are (tenant, groups, expiry)')
  .action(() => {
    if (!token) fail('not logged in: stageline login --url <url> < token.txt (or set STAGELINE_TOKEN)', 3);
    const c = claims(token);
    const exp = typeof c.exp === 'number' ? new Date(c.exp * 1000).toISOString() : null;
    const who = { url: base, subject: c.sub ?? null, email: c.email ?? null, tenant: c['custom:tenant_id'] ?? null, groups: c['cognito:groups'] ?? [], expires: exp };
    out(who, () => console.log(`${who.email ?? who.subject} at ${base}: tenant ${who.tenant}, groups ${(who.groups as string[]).join(', ') || 'none'}${exp ? `, token expires ${exp}${Date.parse(exp) < Date.now() ? ' (EXPIRED)' : ''}` : ''}`));
  });

// Usage errors (unknown command or option, a missing required option) exit 2; help exits 0.
program.exitOverride();
for (const c of program.commands) {
  c.exitOverride();
  for (const s of c.commands) s.exitOverride();
}
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  throw err;
}
