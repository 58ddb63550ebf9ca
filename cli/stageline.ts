#!/usr/bin/env -S npx tsx
import { readFileSync } from 'node:fs';
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
  config set <key> <json-value> --env <env> [--flag] [--reason <text>]
  config import <file.json> --env <env>       {"key": value, ...} as one snapshot
  diff --source <env> --target <env>          what promoting source onto target would change
  snapshots --env <env>                       snapshot history
  restore <seq> --env <env> --reason <text>   point the environment back at a snapshot
  audit [--limit N]                           newest audit entries
  audit verify                                check the hash chain

Options: --json prints raw JSON; --url and --token override the environment.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    env: { type: 'string' },
    source: { type: 'string' },
    target: { type: 'string' },
    reason: { type: 'string' },
    limit: { type: 'string' },
    flag: { type: 'boolean' },
    flags: { type: 'boolean' },
    json: { type: 'boolean' },
    url: { type: 'string' },
    token: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

const base = (values.url ?? process.env.STAGELINE_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const token = values.token ?? process.env.STAGELINE_TOKEN;

function fail(message: string): never {
  console.error(`stageline: ${message}`);
  process.exit(2);
}

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((e) => fail(`cannot reach ${base}: ${(e as Error).message}`));
  const text = await res.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const err = data?.error ?? data;
    const issues = err?.issues?.map((i: any) => `\n  ${i.path}: ${i.message}`).join('') ?? '';
    fail(`${res.status} ${err?.message ?? res.statusText}${issues}`);
  }
  return data;
}

function table(rows: Record<string, unknown>[], cols: string[]): void {
  const cells = rows.map((r) => cols.map((c) => String(r[c] ?? '')));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(line(cols.map((c) => c[0]!.toUpperCase() + c.slice(1))));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of cells) console.log(line(r));
}

const out = (data: unknown, human: () => void) => (values.json ? console.log(JSON.stringify(data, null, 2)) : human());
const need = (v: string | undefined, name: string) => v ?? fail(`--${name} is required`);
const q = encodeURIComponent;

const [cmd, sub, ...rest] = positionals;
if (values.help || !cmd) {
  console.log(USAGE);
  process.exit(cmd ? 0 : 1);
}

switch (`${cmd} ${sub ?? ''}`.trim()) {
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
  case 'audit verify': {
    const r = await api('GET', '/api/v1/audit/verify');
    out(r, () => console.log(r.ok ? `chain intact: ${r.checked} entries, head ${r.headSeq}` : `BROKEN at entry ${r.firstBroken.seq}: ${r.firstBroken.reason}`));
    if (!r.ok) process.exit(1);
    break;
  }
  case 'audit': {
    const r = await api('GET', `/api/v1/audit?limit=${values.limit ?? 20}`);
    out(r, () => table(r.items, ['seq', 'at', 'actorName', 'action', 'entityId', 'reason']));
    break;
  }
  default:
    fail(`unknown command '${positionals.join(' ')}'\n\n${USAGE}`);
}
