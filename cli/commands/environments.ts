import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { values, fail, q, int, session, collect } from '../context.ts';
import type { Diff, Environment, PredecessorDiff, EnvironmentList, ItemPage, ItemsBatch, SnapshotPage } from '../answers.ts';
import { api } from '../http.ts';
import { table, out } from '../output.ts';

/** environments and configs */
export function registerEnvironments(program: Command): void {
  const env = program.command('env').description('environments');
  env
    .command('list')
    .description('environments in line order')
    .action(async () => {
      const r = await api<EnvironmentList>('GET', '/api/v1/environments');
      out(r, () =>
        table(
          r.items.map((e) => ({ ...e, snapshot: `${e.name}@${e.snapshot.seq}`, items: e.itemCount })),
          ['position', 'name', 'displayName', 'items', 'snapshot', 'protected', 'updatedBy'],
        ),
      );
    });
  env
    .command('get')
    .description('one environment, as JSON')
    .argument('<env>')
    .action(async (name: string) => {
      console.log(JSON.stringify(await api<Environment>('GET', `/api/v1/environments/${q(name)}`), null, 2));
    });
  env
    .command('hours')
    .description(
      "when a promotion into the environment may start (admin): --tz Europe/Berlin --window '0 9 * * 1-5 for 480' (repeat --window); outside them it waits until the next opening; --none removes them",
    )
    .argument('<env>')
    .option('--tz <zone>', 'the IANA time zone the windows are read in')
    .option('--window <cron for minutes>', "a window: a 5-field cron of when it opens, 'for', and how many minutes it stays open (repeat)", collect)
    .option('--none', 'remove the allowed hours: a promotion may start at any time')
    .option('--reason <text>', 'why (kept in the audit trail)')
    .action(async (name: string) => {
      const windows = (values.window ?? []).map((w) => {
        const m = /^(.+?)\s+for\s+(\d+)$/.exec(w.trim());
        return m ? { cron: m[1]!, durationMinutes: Number(m[2]) } : fail(`--window '${w}' is not '<cron> for <minutes>', e.g. '0 9 * * 1-5 for 480'`);
      });
      if (values.none ? windows.length || values.tz : !windows.length || !values.tz) fail('give --tz and at least one --window, or --none');
      const current = await api<Environment>('GET', `/api/v1/environments/${q(name)}`);
      const allowedHours = values.none ? null : { timeZone: values.tz!, windows };
      const r = await api<Environment>('PATCH', `/api/v1/environments/${q(name)}`, { version: current.version, allowedHours, reason: values.reason });
      out(r, () =>
        console.log(
          r.allowedHours
            ? `${r.name}: promotions start only in ${r.allowedHours.windows.map((w) => `'${w.cron}' for ${w.durationMinutes} min`).join(', ')} (${r.allowedHours.timeZone})`
            : `${r.name}: promotions may start at any time`,
        ),
      );
    });

  const config = program.command('config').description('configs and feature flags of an environment');
  config
    .command('list')
    .description('configs (or flags) of an environment')
    .requiredOption('--env <env>', 'environment')
    .option('--flags', 'feature flags instead of configs')
    .action(async () => {
      const kind = values.flags ? 'flags' : 'configs';
      const items: ItemPage['items'] = [];
      let cursor: string | null | undefined;
      do {
        const r = await api<ItemPage>('GET', `/api/v1/environments/${q(values.env!)}/${kind}?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
        items.push(...r.items);
        cursor = r.nextCursor;
      } while (cursor);
      items.sort((a, b) => (a.key < b.key ? -1 : 1));
      out(items, () =>
        table(
          items.map((i) => ({ ...i, value: JSON.stringify(i.value) })),
          ['key', 'value', 'version', 'updatedBy', 'updatedAt'],
        ),
      );
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
      session.breakGlass = values['break-glass'];
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw;
      }
      const r = await api<ItemsBatch>('POST', `/api/v1/environments/${q(values.env!)}/items/batch`, {
        set: [{ kind: values.flag ? 'flag' : 'config', key, value }],
        reason: values.reason,
      });
      out(r, () => console.log(`${values.env}@${r.snapshot.seq} ${r.snapshot.digest} (created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged})`));
    });
  config
    .command('import')
    .description('{"key": value, ...} as one snapshot')
    .argument('<file.json>')
    .requiredOption('--env <env>', 'environment')
    .option('--reason <text>', 'why')
    .action(async (file: string) => {
      // The file is the user's: an object of keys, or nothing is sent.
      const data: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail(`${file} is not a JSON object of keys: {"key": value, ...}`);
      const r = await api<ItemsBatch>('POST', `/api/v1/environments/${q(values.env!)}/items/batch`, {
        set: Object.entries(data).map(([key, value]) => ({ key, value })),
        reason: values.reason,
      });
      out(r, () => console.log(`${values.env}@${r.snapshot.seq} ${r.snapshot.digest} (created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged})`));
    });

  const printDiff = (r: Diff) => {
    for (const a of r.added) console.log(`+ ${a.kind} ${a.key} = ${JSON.stringify(a.value)}`);
    for (const m of r.modified) console.log(`~ ${m.kind} ${m.key}: ${JSON.stringify(m.targetValue)} -> ${JSON.stringify(m.sourceValue)}`);
    for (const d of r.removed) console.log(`- ${d.kind} ${d.key} (was ${JSON.stringify(d.value)})`);
    console.log(`${r.added.length} added, ${r.modified.length} modified, ${r.removed.length} removed, ${r.unchanged} unchanged`);
  };
  program
    .command('diff')
    .description('what promoting source onto target would change; without --source, from each environment target comes after')
    .option('--source <env>', 'environment promoted from (default: each one --target comes after)')
    .requiredOption('--target <env>', 'environment promoted to')
    .action(async () => {
      if (values.source) {
        const r = await api<Diff>('GET', `/api/v1/config/promotions/diff?source=${q(values.source)}&target=${q(values.target!)}`);
        return out(r, () => printDiff(r));
      }
      const r = await api<PredecessorDiff>('GET', `/api/v1/environments/${q(values.target!)}/diff`);
      out(r, () => {
        if (!r.diffs.length) return console.log(`'${r.environment}' is the first environment: it comes after none`);
        for (const d of r.diffs) {
          if (r.diffs.length > 1) console.log(`${d.sourceEnvironment} → ${d.targetEnvironment}:`);
          printDiff(d);
        }
      });
    });
  program
    .command('snapshots')
    .description('snapshot history of an environment')
    .requiredOption('--env <env>', 'environment')
    .addOption(new Option('--limit <n>', 'how many').argParser(int('--limit')).default(20))
    .action(async () => {
      const r = await api<SnapshotPage>('GET', `/api/v1/environments/${q(values.env!)}/snapshots?limit=${values.limit}`);
      out(r, () =>
        table(
          r.items.map((s) => ({ ...s, action: s.change.action, items: s.itemCount })),
          ['id', 'action', 'items', 'createdBy', 'createdAt', 'digest'],
        ),
      );
    });
  program
    .command('restore')
    .description('point the environment back at a snapshot')
    .argument('<seq>')
    .requiredOption('--env <env>', 'environment')
    .requiredOption('--reason <text>', 'why')
    .action(async (seq: string) => {
      const r = await api<Environment>('POST', `/api/v1/environments/${q(values.env!)}/snapshots/${q(seq)}/restore`, { reason: values.reason });
      out(r, () => console.log(`${r.name} now at ${r.name}@${r.snapshot.seq} (${r.snapshot.digest})`));
    });
}
