#!/usr/bin/env -S npx tsx
import { Command, CommanderError } from 'commander';
import { registerAnalysisTemplates } from './commands/analysis-templates.ts';
import { registerAttestation } from './commands/attestation.ts';
import { registerAppKeys } from './commands/app-keys.ts';
import { registerScim } from './commands/scim.ts';
import { registerIdp } from './commands/idp.ts';
import { registerLinks, registerPublish, registerVersions } from './commands/artifacts.ts';
import { registerAudit } from './commands/audit.ts';
import { registerBundles } from './commands/bundles.ts';
import { registerCalendar } from './commands/calendar.ts';
import { registerEnvironments } from './commands/environments.ts';
import { registerFreeze } from './commands/freeze.ts';
import { registerGitTarget } from './commands/git-target.ts';
import { registerChangeControl } from './commands/change-control.ts';
import { registerDeploymentGate } from './commands/deployment-gate.ts';
import { registerCiGate } from './commands/ci-gate.ts';
import { registerManifest } from './commands/manifest.ts';
import { registerMetricAccounts } from './commands/metric-accounts.ts';
import { registerMetrics } from './commands/metrics.ts';
import { registerNotifications } from './commands/notifications.ts';
import { registerPromote, registerRollback } from './commands/promotions.ts';
import { registerPromotions } from './commands/promotion-actions.ts';
import { registerRecurring } from './commands/recurring.ts';
import { registerCompletion } from './commands/completion.ts';
import { registerSession } from './commands/session.ts';
import { registerUsers } from './commands/users.ts';
import { registerRoles } from './commands/roles.ts';
import { registerWebhooks } from './commands/webhooks.ts';
import { registerTargetReads } from './commands/targets.ts';
import { resolve } from './context.ts';
import { textOnlyConsole } from './output.ts';

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
  3  not authenticated (no token, or the API answered 401)
  4  --wait stopped following before the promotion ended (it goes on: stageline promotions watch <id>)
  5  a question was answered no (nothing was done)
With --json, an error is one JSON object on stderr: {"error": {"message", "exitCode", "httpStatus", …what the API said}}.`;

textOnlyConsole();

const program = new Command('stageline')
  .description('Move releases (config sets, feature flags, artifact versions) through dev → staging → production.')
  .option('--json', 'print the API’s JSON instead of tables')
  .option('--url <url>', 'API base URL (default: $STAGELINE_URL, the login file, http://127.0.0.1:3000)')
  .option('--token <token>', 'bearer token (default: $STAGELINE_TOKEN, the login file); prefer `stageline login`')
  .showSuggestionAfterError()
  .showHelpAfterError('(stageline <command> --help for usage)')
  .addHelpText('after', `\nTimes are UTC.\n${EXIT_CODES}`)
  // Commander names options in camelCase; the commands read them as typed (kebab-case), with the URL and token resolved.
  .hook('preAction', (_program, action) => resolve(action.optsWithGlobals()));

// One module per command group (cli/commands/); registered in the order `stageline --help` lists them.
registerEnvironments(program);
registerTargetReads(program);
registerPublish(program);
registerPromote(program);
registerVersions(program);
registerBundles(program);
registerRollback(program);
registerPromotions(program);
registerManifest(program);
registerFreeze(program);
registerCalendar(program);
registerRecurring(program);
registerLinks(program);
registerAudit(program);
registerMetrics(program);
registerAttestation(program);
registerNotifications(program);
registerAppKeys(program);
registerScim(program);
registerIdp(program);
registerWebhooks(program);
registerAnalysisTemplates(program);
registerMetricAccounts(program);
registerGitTarget(program);
registerChangeControl(program);
registerDeploymentGate(program);
registerCiGate(program);
registerUsers(program);
registerRoles(program);
registerSession(program);
registerCompletion(program);

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
