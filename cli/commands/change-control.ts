import { Option, type Command } from 'commander';
import { collect, fail, values, q } from '../context.ts';
import type { ChangeCheck, ChangeControl } from '../answers.ts';
import { api, fetchOrNull } from '../http.ts';
import { out } from '../output.ts';

/** A change-control rule as people read it (get and set print the same line). */
const describeRule = (r: ChangeControl) =>
  `${r.environment}: promotions wait for an approved ${r.type} change request in ${r.provider} (${r.instanceUrl})${r.template ? ` from template ${r.template}` : ''}${
    r.jira ? `, service desk ${r.jira.serviceDeskId}, request type ${r.jira.requestTypeId}` : ''
  }; approved states ${r.approvedStates.join(', ')}; credential: ${r.credentialKind}`;

/**
 * The body of `change-control set`: the flags over the stored rule (what is left out is kept, the credential too).
 * A credential is never a flag (a command line is visible to every user of the machine): the password or the token
 * is read from STAGELINE_CHANGE_PASSWORD or STAGELINE_CHANGE_TOKEN. For Jira, --user is the Atlassian account's email and
 * STAGELINE_CHANGE_PASSWORD its API token.
 */
export function changeControlBody(v: typeof values, cur: ChangeControl | null, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const provider = v.provider ?? cur?.provider;
  const instanceUrl = v.instance ?? cur?.instanceUrl;
  if (!provider || !instanceUrl) fail('a new rule needs --provider and --instance');
  const body: Record<string, unknown> = { provider, instanceUrl };
  // A rule moved to another tool does not carry the old tool's type, template or states over.
  const sameTool = cur?.provider === provider;
  const type = v.type ?? (sameTool ? cur?.type : undefined);
  if (type) body.type = type;
  const template = v.template ?? (sameTool ? cur?.template : undefined);
  if (template && type === 'standard') body.template = template;
  const states = v['approved-state'] ?? (sameTool ? cur?.approvedStates : undefined);
  if (states?.length) body.approvedStates = states;
  if (provider === 'jira') {
    // The Jira settings the flags name over the stored ones (statuses and transitions are kept; set them through the API).
    const kept = sameTool ? (cur?.jira ?? null) : null;
    const jira: Record<string, unknown> = { ...(kept ?? {}) };
    if (v['service-desk-id'] !== undefined) jira.serviceDeskId = v['service-desk-id'];
    if (v['request-type-id'] !== undefined) jira.requestTypeId = v['request-type-id'];
    if (v['planned-start-field'] !== undefined) jira.plannedStartField = v['planned-start-field'];
    if (v['planned-end-field'] !== undefined) jira.plannedEndField = v['planned-end-field'];
    if (jira.serviceDeskId === undefined || jira.requestTypeId === undefined) fail('a Jira rule needs --service-desk-id and --request-type-id');
    body.jira = jira;
  } else if (v['service-desk-id'] ?? v['request-type-id'] ?? v['planned-start-field'] ?? v['planned-end-field'])
    fail('--service-desk-id, --request-type-id and the planned-window fields are for --provider jira');
  if (v.user) {
    const password = env.STAGELINE_CHANGE_PASSWORD;
    if (!password) fail('--user needs the password in STAGELINE_CHANGE_PASSWORD (never on the command line)');
    body.credentials = { basic: { user: v.user, password } };
  } else if (env.STAGELINE_CHANGE_TOKEN) {
    body.credentials = { bearer: { token: env.STAGELINE_CHANGE_TOKEN } };
  } else if (!cur) fail('a new rule needs a credential: --user (password in STAGELINE_CHANGE_PASSWORD) or STAGELINE_CHANGE_TOKEN (an OAuth bearer token)');
  return body;
}

/** Change control: promotions into an environment wait for an approved change request in the tenant's tool. */
export function registerChangeControl(program: Command): void {
  const cc = program.command('change-control').description("an environment's change control (promotions wait for an approved change request)");
  cc.command('get')
    .argument('<env>')
    .action(async (envName: string) => {
      const r = await api<ChangeControl>('GET', `/api/v1/environments/${q(envName)}/change-control`);
      out(r, () => console.log(describeRule(r)));
    });
  cc.command('set')
    .description('put an environment under change control (admin); an existing rule keeps what you leave out, its credential too')
    .argument('<env>')
    .addOption(new Option('--provider <tool>', 'the change management tool').choices(['servicenow', 'jira']))
    .option('--instance <https url>', "the tool's base URL, e.g. https://example.service-now.com, or the Jira site, https://example.atlassian.net")
    .addOption(new Option('--type <kind>', 'normal (the change board approves) or standard (pre-approved, from --template)').choices(['normal', 'standard']))
    .option('--template <name or sys_id>', "a standard change's template (looked up in the tool when saved)")
    .option(
      '--approved-state <state>',
      "a state in which a request may be implemented (repeat; ServiceNow's default: -2 and -1; Jira's: Awaiting implementation, Implementing)",
      collect,
    )
    .option(
      '--user <name>',
      "basic authentication: the integration user (its password in STAGELINE_CHANGE_PASSWORD); Jira: the Atlassian account's email (its API token in STAGELINE_CHANGE_PASSWORD)",
    )
    .option('--service-desk-id <id>', "Jira: the service desk's numeric id a change request is raised in")
    .option('--request-type-id <id>', "Jira: the change request type's numeric id")
    .option('--planned-start-field <customfield_…>', "Jira: the id of the request's Planned start field (with --planned-end-field)")
    .option('--planned-end-field <customfield_…>', "Jira: the id of the request's Planned end field")
    .action(async (envName: string) => {
      const cur = await fetchOrNull<ChangeControl>(`/api/v1/environments/${q(envName)}/change-control`);
      const r = await api<ChangeControl>('PUT', `/api/v1/environments/${q(envName)}/change-control`, changeControlBody(values, cur));
      out(r, () => console.log(describeRule(r)));
    });
  cc.command('remove')
    .argument('<env>')
    .action(async (envName: string) => {
      await api('DELETE', `/api/v1/environments/${q(envName)}/change-control`);
      out({ removed: envName }, () => console.log(`${envName}: no change control`));
    });
  cc.command('check')
    .description("look at a waiting promotion's change request now (it goes on at once when approved inside its window)")
    .argument('<promotion-id>')
    .action(async (id: string) => {
      const r = await api<ChangeCheck>('POST', `/api/v1/promotions/${q(id)}/change-request/check`, {});
      out(r, () =>
        console.log(
          `${id}: looking at change request ${r.changeRequest?.number ?? '(being opened)'} now${r.changeRequest?.state ? ` (last read: state ${r.changeRequest.state})` : ''}`,
        ),
      );
    });
}
