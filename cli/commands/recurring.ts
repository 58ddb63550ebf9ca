import { Command } from 'commander';
import type { RecurringPromotion, RecurringPromotionList } from '../answers.ts';
import { fail, q, values } from '../context.ts';
import { api } from '../http.ts';
import { grid, out } from '../output.ts';

/** The last run as people read it: "promoted prm_… at …" or "skipped (frozen) at …: why". */
const lastRun = (r: RecurringPromotion) => {
  const run = r.lastRuns[0];
  if (!run) return 'never ran';
  return run.outcome === 'promoted' ? `promoted ${run.promotionId ?? ''} at ${run.at}` : `skipped (${run.code ?? 'skipped'}) at ${run.at}: ${run.reason ?? ''}`;
};

/** The PUT body of a stored calendar, with what changes. */
const bodyOf = (r: RecurringPromotion, change: Record<string, unknown>) => ({
  source: r.source,
  target: r.target,
  ...(r.artifact ? { artifact: r.artifact } : {}),
  cron: r.cron,
  timeZone: r.timeZone,
  paused: r.paused,
  ...(r.notes ? { notes: r.notes } : {}),
  version: r.version,
  ...change,
});

/** recurring promotions: source → target on a calendar, through the normal request path */
export function registerRecurring(program: Command): void {
  const recurring = program.command('recurring').description('recurring promotions: a source → target promotion requested on a calendar (admins write them)');
  recurring
    .command('list')
    .description("the tenant's recurring promotions, their next time and last run")
    .action(async () => {
      const r = await api<RecurringPromotionList>('GET', '/api/v1/recurring-promotions');
      out(r, () =>
        grid(
          ['Name', 'From → to', 'Calendar', 'Next', 'Last run'],
          r.items.map((x) => [
            x.name,
            `${x.source} → ${x.target}${x.artifact ? ` (${x.artifact})` : ''}`,
            `${x.cron} ${x.timeZone}`,
            x.paused ? 'paused' : (x.next[0] ?? ''),
            lastRun(x),
          ]),
        ),
      );
    });
  recurring
    .command('show')
    .description('one recurring promotion with its runs')
    .argument('<name>')
    .action(async (name: string) => {
      const r = await api<RecurringPromotion>('GET', `/api/v1/recurring-promotions/${q(name)}`);
      out(r, () => console.log(JSON.stringify(r, null, 2)));
    });
  recurring
    .command('put')
    .description("create or replace one (admin): --from staging --to production --cron '0 9 * * 1-5' --tz Europe/Berlin")
    .argument('<name>')
    .requiredOption('--from <env>', 'the source environment')
    .requiredOption('--to <env>', 'the next environment in the line')
    .requiredOption('--cron <expr>', 'a 5-field cron expression, at most every 5 minutes')
    .requiredOption('--tz <zone>', 'the IANA time zone the calendar is read in')
    .option('--artifact <name>', "promote this artifact's version the source runs (default: the source's configuration)")
    .option('--notes <text>', 'shown on the promotions it requests')
    .option('--paused', 'create it paused (its schedule disabled)')
    .action(async (name: string) => {
      const body = {
        source: values.from,
        target: values.to,
        cron: values.cron,
        timeZone: values.tz,
        ...(values.artifact ? { artifact: values.artifact } : {}),
        ...(values.notes ? { notes: values.notes } : {}),
        paused: values.paused ?? false,
      };
      const r = await api<RecurringPromotion>('PUT', `/api/v1/recurring-promotions/${q(name)}`, body);
      out(r, () =>
        console.log(
          `recurring promotion ${r.name} saved (${r.source} → ${r.target}, ${r.cron} ${r.timeZone}${r.paused ? ', paused' : `, next ${r.next[0] ?? 'never'}`})`,
        ),
      );
    });
  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    recurring
      .command(verb)
      .description(paused ? 'disable its schedule (admin): nothing runs until it is resumed' : 'enable its schedule again (admin)')
      .argument('<name>')
      .action(async (name: string) => {
        const cur = await api<RecurringPromotion>('GET', `/api/v1/recurring-promotions/${q(name)}`);
        if (cur.paused === paused) fail(`${name} is ${paused ? 'paused' : 'running'} already`, 1);
        const r = await api<RecurringPromotion>('PUT', `/api/v1/recurring-promotions/${q(name)}`, bodyOf(cur, { paused }));
        out(r, () => console.log(paused ? `paused ${r.name}` : `resumed ${r.name}, next ${r.next[0] ?? 'never'}`));
      });
  }
  recurring
    .command('delete')
    .description('remove one and its schedule (admin); the promotions it requested stay')
    .argument('<name>')
    .action(async (name: string) => {
      await api('DELETE', `/api/v1/recurring-promotions/${q(name)}`);
      out({ deleted: name }, () => console.log(`deleted ${name}`));
    });
}
