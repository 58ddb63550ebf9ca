import { Command } from 'commander';
import type { Calendar } from '../answers.ts';
import { values } from '../context.ts';
import { api } from '../http.ts';
import { grid, out, when } from '../output.ts';

/** One environment's calendar as rows: open hours, freezes and scheduled promotions, in time order. */
function rowsOf(e: Calendar['environments'][number], whole: boolean): string[][] {
  const rows: [string, string[]][] = [
    ...e.open.map((o): [string, string[]] => [
      o.start,
      whole ? ['open', when(o.start), when(o.end), 'no allowed hours: always open'] : ['open', when(o.start), when(o.end), ''],
    ]),
    ...e.frozen.map((f): [string, string[]] => [f.start, ['frozen', when(f.start), when(f.end), `${f.reason} (${f.windowId})`]]),
    ...e.scheduled.map((s): [string, string[]] => [
      s.at ?? '',
      ['scheduled', when(s.at), '', `${s.promotionId}${s.heldBy ? `: held by ${s.heldBy.kind}: ${s.heldBy.reason}` : ''}`],
    ]),
  ];
  rows.sort((a, b) => a[0].localeCompare(b[0]));
  const left = e.leftOff.open + e.leftOff.frozen;
  if (left) rows.push(['', ['…', '', '', `${left} more interval${left === 1 ? '' : 's'} not shown`]]);
  if (!e.complete) rows.push(['', ['…', '', '', 'a window fires more often than was read: the list ends early']]);
  return rows.map((r) => r[1]);
}

/** calendar: per environment, when it is open, the freezes over it and what is scheduled into it */
export function registerCalendar(program: Command): void {
  program
    .command('calendar')
    .description('per environment over the next days: when promotions may start (allowed hours), the freezes over it and the promotions scheduled into it')
    .option('--days <n>', 'how many days (1–31)', '14')
    .option('--from <iso>', 'start of the range (ISO 8601; default now)')
    .action(async () => {
      const query = new URLSearchParams({ days: String(values.days) });
      if (values.from) query.set('from', String(values.from));
      const r = await api<Calendar>('GET', `/api/v1/calendar?${query}`);
      out(r, () => {
        console.log(`${when(r.from)} → ${when(r.to)} UTC (${r.days} day${r.days === 1 ? '' : 's'})`);
        for (const e of r.environments) {
          const whole = e.open.length === 1 && e.open[0]!.start === r.from && e.open[0]!.end === r.to;
          console.log(`\n${e.environment}`);
          grid(['Kind', 'From', 'To', 'What'], rowsOf(e, whole));
        }
      });
    });
}
