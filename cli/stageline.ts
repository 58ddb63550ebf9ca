#!/usr/bin/env -S npx tsx
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { verifyExport } from '../domain/audit-export.ts';
import { parseArgs } from 'node:util';

/**
 * Stageline CLI (floe style). Talks to the HTTP API only.
 *   STAGELINE_URL   API base URL (default http://127.0.0.1:3000)
 *   STAGELINE_TOKEN bearer token (npm start prints them)
 */
const USAGE = `stageline <command> [options]

  env list                                   environments in line order
  env get <env>
  config list --env <env> [--flags]           configs (or flags) of an environment
  config set <key> <json-value> --env <env> [--flag] [--reason <text>] [--break-glass <reason>]
                                              (a protected environment needs an admin's --break-glass)
  config import <file.json> --env <env>       {"key": value, ...} as one snapshot
  diff --source <env> --target <env>          what promoting source onto target would change
  snapshots --env <env>                       snapshot history
  restore <seq> --env <env> --reason <text>   point the environment back at a snapshot
  audit [--limit N]                           newest audit entries
  audit verify                                check the hash chain (online: checkpoints' signatures too)
  audit export [--from <iso>] [--to <iso>] [--output <file>]
                                              the chain as JSON Lines (all pages), for an auditor
  audit verify --file <export.jsonl>          verify an export offline (no access to the service needed)

  publish --artifact <name> --version <v1.2.3> --digest <sha256:…> [--commit <sha>] [--branch <name>]
                                              publish a version into the first environment (creates v1.2.3-dev, latest-dev)
  promote <version> --to <env> [--from <env>] --artifact <name> [--dry-run] [--wait] [--when-frozen wait|fail]
                                              promote an artifact version (--from: the environment before --to)
  promote --config --to <env> [--from <env>] [--dry-run] [--wait] [--notes <text>]
                                              promote the whole config set (FULL)
  promote status [--env <env>]                what each environment runs; pending promotions and why
  list --env <env> [--artifact <name>]        versions that entered an environment (* = current)
  list --artifact <name>                      every published version of an artifact
  rollback <version> --env <env> --artifact <name> [--dry-run] [--reason <text>] [--override] [--wait]
  rollback --snapshot <seq> --env <env> [--dry-run] [--reason <text>] [--override] [--wait]
                                              impact analysis (--dry-run) or roll back
  status <id>                                 one promotion: status, gates, approvals
  approve <id> [--comment <text>]
  reject <id> --reason <text>

  plan -f <manifest.yaml>                     what applying a manifest would change (field by field)
  apply -f <manifest.yaml>                    plan, then apply it as one audited change (admin; refused if the setup moved)
  export [--output <file>] [--format json]    the tenant's setup as a manifest (export | apply changes nothing)

  freeze list [--env <env>]                   freeze windows (with --env: the current and the next one)
  freeze add --reason <text> [--env <env>] (--start <iso> --end <iso> | --cron '0 16 * * 5' --end-cron '0 8 * * 1' --tz Europe/Berlin)
                                              add a window (admin): one-off, or recurring in a time zone
  freeze remove <id>                          remove a window (admin)

  login [--url <url>] < token.txt             keep the URL and token in ~/.config/stageline/config.json (0600)
  logout | whoami                             forget them | who the token says you are (tenant, groups, expiry)

  notify get [--env <env>]                    where notifications go (tenant-wide, or for promotions into <env>)
  notify set [--env <env>] [--slack-webhook <url> --slack-channel <#c>...] [--email <addr>...] [--approvers]
             [--events <kind,...>]             replace them (admin); webhook secrets are never printed back

Options: --json prints raw JSON; --url and --token override the environment;
--wait polls until the promotion is final or waits for a person (--timeout <s>, default 120).
Times are UTC. Exit codes: 0 ok, 1 a promotion ended unsuccessfully / chain or export broken, 2 usage or API error, 3 not authenticated.`;

const OPTIONS = {
  env: { type: 'string' },
  source: { type: 'string' },
  target: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  artifact: { type: 'string' },
  snapshot: { type: 'string' },
  config: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  override: { type: 'boolean' },
  comment: { type: 'string' },
  notes: { type: 'string' },
  reason: { type: 'string' },
  'break-glass': { type: 'string' },
  limit: { type: 'string' },
  flag: { type: 'boolean' },
  flags: { type: 'boolean' },
  'slack-webhook': { type: 'string' },
  'slack-channel': { type: 'string', multiple: true },
  email: { type: 'string', multiple: true },
  approvers: { type: 'boolean' },
  events: { type: 'string' },
  json: { type: 'boolean' },
  start: { type: 'string' },
  version: { type: 'string' },
  digest: { type: 'string' },
  commit: { type: 'string' },
  branch: { type: 'string' },
  format: { type: 'string' },
  end: { type: 'string' },
  cron: { type: 'string' },
  'end-cron': { type: 'string' },
  tz: { type: 'string' },
  'when-frozen': { type: 'string' },
  output: { type: 'string', short: 'o' },
  file: { type: 'string', short: 'f' },
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse() {
  try {
    return parseArgs({ allowPositionals: true, options: OPTIONS });
  } catch (e) {
    console.error(`stageline: ${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}
const { values, positionals } = parse();

/** `stageline login` keeps the URL and token here (mode 0600), so tokens stay out of shell history. */
const CONFIG_FILE = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'stageline', 'config.json');
const saved = ((): { url?: string; token?: string } => {
  try {
    return JSON.parse(readFileSync(CONFIG_FILE, 'utf8')) as { url?: string; token?: string };
  } catch {
    return {};
  }
})();
// Flags, then the environment, then the config file.
const base = (values.url ?? process.env.STAGELINE_URL ?? saved.url ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const token = values.token ?? process.env.STAGELINE_TOKEN ?? saved.token;

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
    const err = data?.error ?? data;
    const issues = err?.issues?.map((i: any) => `\n  ${i.path}: ${i.message}`).join('') ?? '';
    const hint = res.status === 401 ? `\n  (stageline login --url <url> < token.txt, or set STAGELINE_TOKEN; npm start prints tokens into .stageline/tokens.env)` : '';
    const impact = err?.impact ? `\n${impactLines(err.impact).map((l) => `  ${l}`).join('\n')}` : '';
    fail(`${res.status} ${err?.message ?? res.statusText}${issues}${impact}${hint}`, res.status === 401 ? 3 : 2);
  }
  return data;
}

/** Aligned columns with a dashed rule under the header (seed 003's layout). */
function grid(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((v, i) => (v ?? '').padEnd(widths[i]!)).join('  ').trimEnd();
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
function describe(p: any): void {
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
  const until = Date.now() + Number(values.timeout ?? 120) * 1000;
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

const out = (data: unknown, human: () => void) => (values.json ? console.log(JSON.stringify(data, null, 2)) : human());
const need = (v: string | undefined, name: string) => v ?? fail(`--${name} is required`);
const q = encodeURIComponent;

const [cmd, sub, ...rest] = positionals;
if (values.help || !cmd) {
  console.log(USAGE);
  process.exit(cmd ? 0 : 1);
}

const NEW_COMMANDS = ['promote', 'list', 'rollback', 'status', 'approve', 'reject', 'publish', 'plan', 'apply', 'export', 'login', 'logout', 'whoami'];
const key = NEW_COMMANDS.includes(cmd) ? (cmd === 'promote' && sub === 'status' ? 'promote status' : cmd) : `${cmd} ${sub ?? ''}`.trim();

switch (key) {
  case 'promote status': {
    const r = await api('GET', `/api/v1/status${values.env ? `?env=${q(values.env)}` : ''}`);
    out(r, () => {
      const names = new Set(r.environments.flatMap((e: any) => e.artifacts.map((a: any) => a.artifact)));
      const rows: string[][] = [];
      for (const e of r.environments) {
        const state = [e.autoPromotionPaused ? 'paused' : '', e.protected ? 'protected' : ''].filter(Boolean).join(',');
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
    break;
  }
  case 'promote': {
    const to = need(values.to, 'to');
    // --from defaults to the environment before --to in the line (floe's `promote v1.2.3 --to=staging`).
    let from = values.from;
    if (!from) {
      const line = ((await api('GET', '/api/v1/environments')).items as { name: string; position: number }[]).sort((a, b) => a.position - b.position);
      const i = line.findIndex((e) => e.name === to);
      if (i < 0) fail(`no environment '${to}' (the line is ${line.map((e) => e.name).join(' → ')})`);
      if (i === 0) fail(`'${to}' is the first environment: nothing comes before it (publish into it instead)`);
      from = line[i - 1]!.name;
    }
    const whenFrozen = values['when-frozen'];
    if (whenFrozen && whenFrozen !== 'wait' && whenFrozen !== 'fail') fail('--when-frozen takes wait or fail');
    const common = { sourceEnvironment: from, targetEnvironment: to, dryRun: values['dry-run'] ?? false, ...(values.notes ? { notes: values.notes } : {}), ...(whenFrozen ? { whenFrozen } : {}) };
    let body: Record<string, unknown>;
    if (values.artifact) {
      body = { ...common, artifact: values.artifact, version: sub ?? fail('usage: promote <version> --from <env> --to <env> --artifact <name>') };
    } else if (values.config) {
      if (sub) fail('promote --config takes no version: it promotes the whole config set of --from');
      body = { ...common, promotionType: 'FULL' };
    } else {
      fail('say what to promote: --artifact <name> with a version, or --config for the config set');
    }
    const r = await api('POST', '/api/v1/promotions', body);
    if (r.dryRun) out(r, () => dryRun(r));
    else await settle(r);
    break;
  }
  case 'login': {
    // The token comes from stdin (piped, or typed), never from the command line.
    const chunks: Buffer[] = [];
    if (process.stdin.isTTY) process.stderr.write('token: ');
    for await (const c of process.stdin) {
      chunks.push(c as Buffer);
      if (process.stdin.isTTY && String(c).includes('\n')) break;
    }
    const given = Buffer.concat(chunks).toString('utf8').trim();
    if (!given) fail('login reads the token from standard input: stageline login --url <url> < token.txt');
    const url = (values.url ?? process.env.STAGELINE_URL ?? saved.url ?? base).replace(/\/$/, '');
    const res = await fetch(`${url}/api/v1/environments`, { headers: { authorization: `Bearer ${given}` } }).catch((e) => fail(`cannot reach ${url}: ${(e as Error).message}`));
    if (res.status === 401) fail(`${url} refused this token (401)`);
    mkdirSync(dirname(CONFIG_FILE), { recursive: true, mode: 0o700 });
    writeFileSync(CONFIG_FILE, JSON.stringify({ url, token: given }, null, 2), { mode: 0o600 });
    const c = claims(given);
    console.log(`logged in to ${url} as ${c.email ?? c.sub ?? '?'} (tenant ${c['custom:tenant_id'] ?? '?'}); saved in ${CONFIG_FILE}`);
    break;
  }
  case 'logout': {
    rmSync(CONFIG_FILE, { force: true });
    console.log(`removed ${CONFIG_FILE}`);
    break;
  }
  case 'whoami': {
    if (!token) fail('not logged in: stageline login --url <url> < token.txt (or set STAGELINE_TOKEN)', 3);
    const c = claims(token);
    const exp = typeof c.exp === 'number' ? new Date(c.exp * 1000).toISOString() : null;
    const who = { url: base, subject: c.sub ?? null, email: c.email ?? null, tenant: c['custom:tenant_id'] ?? null, groups: c['cognito:groups'] ?? [], expires: exp };
    out(who, () => console.log(`${who.email ?? who.subject} at ${base}: tenant ${who.tenant}, groups ${(who.groups as string[]).join(', ') || 'none'}${exp ? `, token expires ${exp}${Date.parse(exp) < Date.now() ? ' (EXPIRED)' : ''}` : ''}`));
    break;
  }
  case 'publish': {
    const artifact = need(values.artifact, 'artifact');
    const body = { version: need(values.version, 'version'), digest: need(values.digest, 'digest'), ...(values.commit ? { sourceCommit: values.commit } : {}), ...(values.branch ? { gitBranch: values.branch } : {}) };
    const r = await api('POST', `/api/v1/artifacts/${q(artifact)}/versions`, body);
    out(r, () => console.log(`${artifact}@${r.artifact.version} published into ${r.environment}${r.created ? '' : ' (already there, same digest)'}: ${r.artifact.version}-${r.environment}, latest-${r.environment} → ${r.artifact.digest}`));
    break;
  }
  case 'list': {
    if (!values.env) {
      const r = await api('GET', `/api/v1/artifacts/${q(need(values.artifact, 'artifact'))}/versions`);
      out(r, () => table(r.versions.map((v: any) => ({ ...v, publishedAt: when(v.publishedAt) })), ['version', 'digest', 'sourceCommit', 'publishedBy', 'publishedAt']));
      break;
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
    break;
  }
  case 'rollback': {
    const env = need(values.env, 'env');
    const opts = { dryRun: values['dry-run'] ?? false, ...(values.reason ? { reason: values.reason } : {}), override: values.override ?? false };
    let body: Record<string, unknown>;
    if (values.snapshot !== undefined) {
      const seq = Number(values.snapshot);
      if (!Number.isInteger(seq) || seq < 1) fail('--snapshot must be a snapshot number (see: stageline snapshots --env <env>)');
      body = { snapshot: seq, ...opts };
    } else {
      const version = sub ?? fail('usage: rollback <version> --env <env> --artifact <name>, or rollback --snapshot <seq> --env <env>');
      body = { artifact: need(values.artifact, 'artifact'), version, ...opts };
    }
    const r = await api('POST', `/api/v1/environments/${q(env)}/rollback`, body);
    if (r.dryRun) {
      out(r, () => {
        for (const l of impactLines(r.impact)) console.log(l);
        console.log('Nothing was changed (dry run).');
      });
      break;
    }
    if (!values.json) for (const l of impactLines(r.impact)) console.log(l);
    await settle(r.promotion, (promotion) => ({ ...r, promotion }));
    break;
  }
  case 'status': {
    const r = await api('GET', `/api/v1/promotions/${q(sub ?? fail('usage: status <promotion-id>'))}`);
    out(r, () => describe(r));
    break;
  }
  case 'approve': {
    const r = await api('POST', `/api/v1/promotions/${q(sub ?? fail('usage: approve <promotion-id> [--comment <text>]'))}/approve`, values.comment ? { comment: values.comment } : {});
    out(r, () => describe(r));
    break;
  }
  case 'reject': {
    const r = await api('POST', `/api/v1/promotions/${q(sub ?? fail('usage: reject <promotion-id> --reason <text>'))}/reject`, { reason: need(values.reason, 'reason') });
    out(r, () => describe(r));
    break;
  }

  case 'env list': {
    const r = await api('GET', '/api/v1/environments');
    out(r, () => table(r.items.map((e: any) => ({ ...e, snapshot: `${e.name}@${e.snapshot.seq}`, items: e.itemCount })), ['position', 'name', 'displayName', 'items', 'snapshot', 'protected', 'updatedBy']));
    break;
  }
  case 'env get': {
    const r = await api('GET', `/api/v1/environments/${q(need(rest[0] ?? positionals[2], 'env'))}`);
    console.log(JSON.stringify(r, null, 2));
    break;
  }
  case 'config list': {
    const kind = values.flags ? 'flags' : 'configs';
    const items: any[] = [];
    let cursor: string | undefined;
    do {
      const r = await api('GET', `/api/v1/environments/${q(need(values.env, 'env'))}/${kind}?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      items.push(...r.items);
      cursor = r.nextCursor;
    } while (cursor);
    items.sort((a, b) => (a.key < b.key ? -1 : 1));
    out(items, () => table(items.map((i) => ({ ...i, value: JSON.stringify(i.value) })), ['key', 'value', 'version', 'updatedBy', 'updatedAt']));
    break;
  }
  case 'config set': {
    breakGlass = values['break-glass'];
    const [key, raw] = rest;
    if (!key || raw === undefined) fail('usage: config set <key> <json-value> --env <env>');
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw; // a bare word is a string
    }
    const r = await api('POST', `/api/v1/environments/${q(need(values.env, 'env'))}/items/batch`, {
      set: [{ kind: values.flag ? 'flag' : 'config', key, value }],
      reason: values.reason,
    });
    out(r, () => console.log(`${values.env}@${r.snapshot.seq} ${r.snapshot.digest} (created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged})`));
    break;
  }
  case 'config import': {
    const file = rest[0] ?? fail('usage: config import <file.json> --env <env>');
    const data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const r = await api('POST', `/api/v1/environments/${q(need(values.env, 'env'))}/items/batch`, {
      set: Object.entries(data).map(([key, value]) => ({ key, value })),
      reason: values.reason,
    });
    out(r, () => console.log(`${values.env}@${r.snapshot.seq} ${r.snapshot.digest} (created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged})`));
    break;
  }
  case 'diff': {
    const r = await api('GET', `/api/v1/config/promotions/diff?source=${q(need(values.source, 'source'))}&target=${q(need(values.target, 'target'))}`);
    out(r, () => {
      for (const a of r.added) console.log(`+ ${a.kind} ${a.key} = ${JSON.stringify(a.value)}`);
      for (const m of r.modified) console.log(`~ ${m.kind} ${m.key}: ${JSON.stringify(m.targetValue)} -> ${JSON.stringify(m.sourceValue)}`);
      for (const d of r.removed) console.log(`- ${d.kind} ${d.key} (was ${JSON.stringify(d.value)})`);
      console.log(`${r.added.length} added, ${r.modified.length} modified, ${r.removed.length} removed, ${r.unchanged} unchanged`);
    });
    break;
  }
  case 'snapshots': {
    const r = await api('GET', `/api/v1/environments/${q(need(values.env, 'env'))}/snapshots?limit=${values.limit ?? 20}`);
    out(r, () => table(r.items.map((s: any) => ({ ...s, action: s.change.action, items: s.itemCount })), ['id', 'action', 'items', 'createdBy', 'createdAt', 'digest']));
    break;
  }
  case 'restore': {
    const seq = sub ?? fail('usage: restore <seq> --env <env> --reason <text>');
    const r = await api('POST', `/api/v1/environments/${q(need(values.env, 'env'))}/snapshots/${q(seq)}/restore`, { reason: need(values.reason, 'reason') });
    out(r, () => console.log(`${r.name} now at ${r.name}@${r.snapshot.seq} (${r.snapshot.digest})`));
    break;
  }
  case 'notify get': {
    const r = await api('GET', values.env ? `/api/v1/environments/${q(values.env)}/notifications` : '/api/v1/notifications');
    out(r, () => {
      console.log(`notifications (${r.scope}), version ${r.version}`);
      console.log(`  slack:  ${r.slack ? `${r.slack.webhook} ${r.slack.channels.join(' ')}${r.slack.signingSecret ? ' (interactive)' : ''}` : '—'}`);
      console.log(`  email:  ${r.email ? [...r.email.recipients, ...(r.email.approvers ? ['the eligible approvers'] : [])].join(', ') || '—' : '—'}`);
      console.log(`  events: ${r.events.join(', ')}`);
    });
    break;
  }
  case 'notify set': {
    const body = {
      ...(values['slack-webhook'] ? { slack: { webhook: values['slack-webhook'], channels: values['slack-channel'] ?? [] } } : {}),
      ...(values.email?.length || values.approvers ? { email: { recipients: values.email ?? [], approvers: values.approvers ?? false } } : {}),
      ...(values.events ? { events: values.events.split(',').map((e) => e.trim()) } : {}),
    };
    const r = await api('PUT', values.env ? `/api/v1/environments/${q(values.env)}/notifications` : '/api/v1/notifications', body);
    out(r, () => console.log(`notifications (${r.scope}) saved, version ${r.version}`));
    break;
  }
  case 'plan':
  case 'apply': {
    const file = values.file ?? fail(`${cmd} -f <manifest.yaml>`);
    const document = readFileSync(file, 'utf8');
    const plan = await api('POST', '/api/v1/manifest/plan', { document });
    const show = (v: unknown) => JSON.stringify(v);
    const lines = (plan.changes as { op: string; path: string; before?: unknown; after?: unknown }[]).map((c) =>
      c.op === 'add' ? `+ ${c.path} = ${show(c.after)}` : c.op === 'remove' ? `- ${c.path} (was ${show(c.before)})` : `~ ${c.path}: ${show(c.before)} → ${show(c.after)}`,
    );
    if (key === 'plan') {
      out(plan, () => console.log(lines.length ? `${lines.join('\n')}\n\nPlan: ${plan.summary.add} to add, ${plan.summary.change} to change, ${plan.summary.remove} to remove (against ${plan.digest}).` : 'No changes: the setup matches the manifest.'));
      break;
    }
    if (!lines.length) {
      out(plan, () => console.log('No changes: the setup matches the manifest.'));
      break;
    }
    const r = await api('POST', '/api/v1/manifest/apply', { document, expectedDigest: plan.digest });
    out(r, () => console.log(`${lines.join('\n')}\n\nApplied: ${r.summary.add} added, ${r.summary.change} changed, ${r.summary.remove} removed (now ${r.digest}).`));
    break;
  }
  case 'export': {
    const format = values.format === 'json' ? 'json' : 'yaml';
    const res: Response = await fetch(`${base}/api/v1/manifest?format=${format}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }).catch((e) => fail(`cannot reach ${base}: ${(e as Error).message}`));
    const text = await res.text();
    if (!res.ok) fail(`${res.status} ${text.slice(0, 300)}`);
    if (values.output) {
      writeFileSync(values.output, text);
      console.error(`wrote ${values.output} (digest ${res.headers.get('x-manifest-digest')})`);
    } else process.stdout.write(text);
    break;
  }
  case 'freeze list': {
    const r = await api('GET', values.env ? `/api/v1/environments/${q(values.env)}/freeze-windows` : '/api/v1/freeze-windows');
    const when = (w: any) => (w.kind === 'once' ? `${w.start} → ${w.end}` : `${w.cron} → ${w.endCron} (${w.timezone})`);
    out(r, () => {
      if (values.env) console.log(`${values.env}: ${r.current ? `FROZEN until ${r.current.end} (${r.current.reason})` : 'open'}${r.next ? `; next window ${r.next.start} → ${r.next.end} (${r.next.reason})` : ''}`);
      grid(['Id', 'Scope', 'When', 'Open now', 'Next', 'Reason'], r.items.map((w: any) => [w.id, w.scope, when(w), w.open ? `until ${w.open.end}` : '', w.next ? w.next.start : '', w.reason]));
    });
    break;
  }
  case 'freeze add': {
    const body = {
      reason: need(values.reason, 'reason'),
      ...(values.start || values.end ? { start: values.start, end: values.end } : { cron: values.cron, endCron: values['end-cron'], timezone: values.tz }),
    };
    const r = await api('POST', values.env ? `/api/v1/environments/${q(values.env)}/freeze-windows` : '/api/v1/freeze-windows', body);
    out(r, () => console.log(`${r.id} (${r.scope === '*' ? 'every environment' : r.scope})${r.open ? `: frozen now until ${r.open.end}` : r.next ? `: next ${r.next.start} → ${r.next.end}` : ''}`));
    break;
  }
  case 'freeze remove': {
    const id = rest[0] ?? fail('freeze remove <id>');
    await api('DELETE', `/api/v1/freeze-windows/${q(id)}`);
    if (!values.json) console.log(`removed ${id}`);
    break;
  }
  case 'audit export': {
    // Page after page (each page: header, entries, checkpoints, trailer), into one file or stdout.
    const chunks: string[] = [];
    let fromSeq: string | null = null;
    do {
      const params: URLSearchParams = new URLSearchParams({ ...(values.from ? { from: values.from } : {}), ...(values.to ? { to: values.to } : {}), ...(fromSeq ? { fromSeq } : {}) });
      const res: Response = await fetch(`${base}/api/v1/audit/export?${params}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }).catch((e) => fail(`cannot reach ${base}: ${(e as Error).message}`));
      const text = await res.text();
      if (!res.ok) fail(`${res.status} ${(() => { try { return JSON.parse(text).error.message; } catch { return text.slice(0, 300); } })()}`);
      chunks.push(text);
      fromSeq = res.headers.get('x-next-cursor');
    } while (fromSeq);
    if (values.output) {
      writeFileSync(values.output, chunks.join(''));
      const v = verifyExport(chunks.join(''));
      console.error(`wrote ${values.output}: ${v.checked} entries (links ${v.firstSeq ?? '-'}..${v.lastSeq ?? '-'}), ${v.checkpoints} signed checkpoints`);
    } else process.stdout.write(chunks.join(''));
    break;
  }
  case 'audit verify': {
    if (values.file) {
      const v = verifyExport(readFileSync(values.file, 'utf8'));
      out(v, () => {
        if (v.ok) console.log(`export intact: ${v.checked} entries (links ${v.firstSeq}..${v.lastSeq}) of tenant ${v.tenant}; ${v.checkpoints} signed checkpoints agree with the chain (their signatures are checked online: stageline audit verify)`);
        else for (const p of v.problems) console.log(`line ${p.line}${p.seq ? ` (link ${p.seq})` : ''}: ${p.what}`);
      });
      if (!v.ok) process.exit(1);
      break;
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
    break;
  }
  case 'audit': {
    const r = await api('GET', `/api/v1/audit?limit=${values.limit ?? 20}`);
    out(r, () => table(r.items, ['at', 'actorName', 'action', 'entityId', 'reason']));
    break;
  }
  default:
    fail(`unknown command '${positionals.join(' ')}'\n\n${USAGE}`);
}
