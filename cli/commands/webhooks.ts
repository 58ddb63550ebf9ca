import { Command, Option } from 'commander';
import { values, q, int } from '../context.ts';
import type { Webhook, WebhookDeliveries, WebhookDelivery, WebhookList, WebhookWithSecret } from '../answers.ts';
import { api } from '../http.ts';
import { grid, out } from '../output.ts';

/** One subscription as people read it. */
const describeHook = (w: Webhook) =>
  `${w.id} → ${w.url}\n  events: ${w.events.join(',')} (${w.environment ?? 'every environment'}); ${w.enabled ? 'enabled' : 'disabled'}; ${w.health.status === 'ok' ? 'ok' : `FAILING: ${w.health.reason}`}; version ${w.version}`;

/** outbound webhooks (Standard Webhooks) */
export function registerWebhooks(program: Command): void {
  const hooks = program.command('webhooks').description('outbound webhooks: signed deliveries of events to your URL');
  hooks
    .command('list')
    .description('subscriptions and their health')
    .action(async () => {
      const r = await api<WebhookList>('GET', '/api/v1/webhooks');
      out(r, () =>
        grid(
          ['Id', 'URL', 'Events', 'Environment', 'Enabled', 'Health'],
          r.items.map((w) => [
            w.id,
            w.url,
            w.events.join(','),
            w.environment ?? '*',
            w.enabled ? 'yes' : 'no',
            w.health.status === 'ok' ? 'ok' : `FAILING: ${w.health.reason}`,
          ]),
        ),
      );
    });
  hooks
    .command('create')
    .description('subscribe a URL (admin); prints the signing secret once: keep it now')
    .argument('<url>', 'https URL that receives the deliveries')
    .requiredOption('--events <type,...>', 'e.g. promotion.completed,promotion.failed,promotion.rolled_back')
    .option('--env <env>', 'only events of this environment')
    .option('--description <text>', 'what it is for')
    .action(async (url: string) => {
      const r = await api<WebhookWithSecret>('POST', '/api/v1/webhooks', {
        url,
        events: values.events!.split(',').map((e) => e.trim()),
        ...(values.env ? { environment: values.env } : {}),
        ...(values.description ? { description: values.description } : {}),
      });
      out(r, () => console.log(`${r.id} → ${r.url}\nsigning secret (shown once): ${r.secret}`));
    });
  hooks
    .command('get')
    .argument('<id>')
    .action(async (id: string) => {
      const r = await api<Webhook>('GET', `/api/v1/webhooks/${q(id)}`);
      out(r, () => console.log(describeHook(r)));
    });
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
      const cur = await api<Webhook>('GET', `/api/v1/webhooks/${q(id)}`);
      const body = {
        version: cur.version,
        ...((values as Record<string, unknown>).to ? { url: (values as Record<string, unknown>).to } : {}),
        ...(values.events ? { events: values.events.split(',').map((e) => e.trim()) } : {}),
        ...(values.env ? { environment: values.env } : {}),
        ...(values.description !== undefined ? { description: values.description } : {}),
        ...(values.enable ? { enabled: true } : values.disable ? { enabled: false } : {}),
      };
      const r = await api<Webhook>('PATCH', `/api/v1/webhooks/${q(id)}`, body);
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
      const r = await api<WebhookWithSecret>(
        'POST',
        `/api/v1/webhooks/${q(id)}/rotate`,
        values.overlap !== undefined ? { overlapSeconds: values.overlap } : {},
      );
      out(r, () =>
        console.log(
          `new signing secret (shown once): ${r.secret}\nsecrets signing now: ${r.secrets.map((k) => `${k.id}${k.expiresAt ? ` (until ${k.expiresAt})` : ''}`).join(', ')}`,
        ),
      );
    });
  hooks
    .command('deliveries')
    .description('the delivery log, newest first')
    .argument('<id>')
    .action(async (id: string) => {
      const r = await api<WebhookDeliveries>('GET', `/api/v1/webhooks/${q(id)}/deliveries`);
      out(r, () =>
        grid(
          ['Delivery (webhook-id)', 'Event', 'Status', 'Attempts', 'Next retry'],
          r.items.map((d) => [d.id, d.eventType, d.status, d.attempts.map((a) => a.statusCode ?? 'none').join(' '), d.nextAttemptAt ?? '']),
        ),
      );
    });
  hooks
    .command('redeliver')
    .description('send a delivery again (same webhook-id)')
    .argument('<id>')
    .argument('<delivery>')
    .action(async (id: string, delivery: string) => {
      const r = await api<WebhookDelivery>('POST', `/api/v1/webhooks/${q(id)}/deliveries/${q(delivery)}/redeliver`);
      out(r, () => console.log(`${r.id}: redelivery under way`));
    });
}
