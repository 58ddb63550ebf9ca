import type { Command } from 'commander';
import { values, q } from '../context.ts';
import type { FreezeList, FreezeWindow } from '../answers.ts';
import { api } from '../http.ts';
import { grid, out } from '../output.ts';

/** freeze windows */
export function registerFreeze(program: Command): void {
  const freeze = program.command('freeze').description('freeze windows');
  freeze
    .command('list')
    .description('freeze windows (with --env: the current and the next one)')
    .option('--env <env>', 'environment')
    .action(async () => {
      const r = await api<FreezeList>('GET', values.env ? `/api/v1/environments/${q(values.env)}/freeze-windows` : '/api/v1/freeze-windows');
      const span = (w: FreezeWindow) => (w.kind === 'once' ? `${w.start} → ${w.end}` : `${w.cron} → ${w.endCron} (${w.timezone})`);
      out(r, () => {
        if (values.env)
          console.log(
            `${values.env}: ${r.current ? `FROZEN until ${r.current.end} (${r.current.reason})` : 'open'}${r.next ? `; next window ${r.next.start} → ${r.next.end} (${r.next.reason})` : ''}`,
          );
        grid(
          ['Id', 'Scope', 'When', 'Open now', 'Next', 'Reason'],
          r.items.map((w) => [w.id, w.scope, span(w), w.open ? `until ${w.open.end}` : '', w.next ? w.next.start : '', w.reason]),
        );
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
      const body = {
        reason: values.reason,
        ...(values.start || values.end ? { start: values.start, end: values.end } : { cron: values.cron, endCron: values['end-cron'], timezone: values.tz }),
      };
      const r = await api<FreezeWindow>('POST', values.env ? `/api/v1/environments/${q(values.env)}/freeze-windows` : '/api/v1/freeze-windows', body);
      out(r, () =>
        console.log(
          `${r.id} (${r.scope === '*' ? 'every environment' : r.scope})${r.open ? `: frozen now until ${r.open.end}` : r.next ? `: next ${r.next.start} → ${r.next.end}` : ''}`,
        ),
      );
    });
  freeze
    .command('remove')
    .description('remove a window (admin)')
    .argument('<id>')
    .action(async (id: string) => {
      await api('DELETE', `/api/v1/freeze-windows/${q(id)}`);
      out({ removed: id }, () => console.log(`removed ${id}`));
    });
}
