import type { Command } from 'commander';
import { values, fail, q, collect } from '../context.ts';
import type { NotificationSettings, SlackLinkCode, SlackLinks } from '../answers.ts';
import { api } from '../http.ts';
import { table, out } from '../output.ts';

/** notifications */
export function registerNotifications(program: Command): void {
  const notify = program.command('notify').description('where notifications go');
  notify
    .command('get')
    .description('tenant-wide, or for promotions into --env')
    .option('--env <env>', 'environment')
    .action(async () => {
      const r = await api<NotificationSettings>('GET', values.env ? `/api/v1/environments/${q(values.env)}/notifications` : '/api/v1/notifications');
      out(r, () => {
        console.log(`notifications (${r.scope}), version ${r.version}`);
        console.log(
          `  slack:  ${r.slack ? `${r.slack.webhook} ${r.slack.channels.join(' ')}${r.slack.teamId ? ` (workspace ${r.slack.teamId}: Approve/Reject in Slack)` : ''}` : '—'}`,
        );
        console.log(`  teams:  ${r.teams ? `${r.teams.webhook} (Workflows webhook)` : '—'}`);
        console.log(`  email:  ${r.email ? [...r.email.recipients, ...(r.email.approvers ? ['the eligible approvers'] : [])].join(', ') || '—' : '—'}`);
        console.log(`  events: ${r.events.join(', ')}`);
      });
    });
  notify
    .command('set')
    .description('change them (admin): what you leave out is kept; webhook secrets are never printed back')
    .option('--env <env>', 'environment')
    .option('--slack-webhook <url>', 'Slack incoming webhook')
    .option('--slack-channel <#channel>', 'Slack channel (repeat)', collect)
    .option('--slack-team <T…>', "bind your Slack workspace (its team id) to the deployment's Slack app: buttons, and people linking their own accounts")
    .option(
      '--teams-webhook <url>',
      'Microsoft Teams: the URL of a Workflows webhook (When a Teams webhook request is received), on *.logic.azure.com or *.environment.api.powerplatform.com',
    )
    .option('--no-teams', 'turn Microsoft Teams off')
    .option('--email <address>', 'email recipient (repeat)', collect)
    .option('--approvers', 'also email the eligible approvers')
    .option('--events <kind,...>', 'which events, comma-separated (default: every kind but wave-started and wave-completed, which are opt-in)')
    .action(async () => {
      if (values['slack-team'] && !values['slack-webhook']) fail('--slack-team binds the workspace of a Slack set-up: give --slack-webhook too');
      if (values['teams-webhook'] && values.teams === false) fail('--teams-webhook sets Teams and --no-teams turns it off: give one');
      const body = {
        ...(values['slack-webhook']
          ? {
              slack: {
                webhook: values['slack-webhook'],
                channels: values['slack-channel'] ?? [],
                ...(values['slack-team'] ? { teamId: values['slack-team'] } : {}),
              },
            }
          : {}),
        ...(values['teams-webhook'] ? { teams: { webhook: values['teams-webhook'] } } : values.teams === false ? { teams: null } : {}),
        ...(values.email?.length || values.approvers ? { email: { recipients: values.email ?? [], approvers: values.approvers ?? false } } : {}),
        ...(values.events ? { events: values.events.split(',').map((e) => e.trim()) } : {}),
      };
      const r = await api<NotificationSettings>('PUT', values.env ? `/api/v1/environments/${q(values.env)}/notifications` : '/api/v1/notifications', body);
      out(r, () => console.log(`notifications (${r.scope}) saved, version ${r.version}`));
    });

  // ---- Slack identity ----

  const slack = program.command('slack').description('link your own Slack account (Approve/Reject from Slack act as you)');
  slack
    .command('link')
    .description('a one-time code for your account (10 minutes, once); send it from Slack: /stageline link CODE')
    .action(async () => {
      const r = await api<SlackLinkCode>('POST', '/api/v1/slack/link-codes');
      out(r, () => console.log(`In Slack, send:\n\n  ${r.command}\n\nValid once, until ${r.expiresAt}; it links the Slack user who sends it to ${r.account}.`));
    });
  slack
    .command('links')
    .description("linked Slack users: yours (an admin sees everyone's)")
    .action(async () => {
      const r = await api<SlackLinks>('GET', '/api/v1/slack/links');
      out(r, () => table(r.items, ['teamId', 'userId', 'email', 'linkedAt', 'id']));
    });
  slack
    .command('unlink')
    .description("unlink a Slack user: your own, or (admin) anyone's")
    .argument('<team>', 'the workspace (T…)')
    .argument('<user>', 'the Slack user (U…)')
    .action(async (team: string, user: string) => {
      await api('DELETE', `/api/v1/slack/links/${q(team)}/${q(user)}`);
      out({ unlinked: `${team}/${user}` }, () => console.log(`unlinked ${user} in ${team}`));
    });
}
