import type { ChangeControl } from '#domain/kernel/model';
import { ChangeRefused, type ChangeProvider, type ChangeTemplateCheck, type ChangeTools } from '#domain/change/ports';
import type { JiraChangeSettings, JiraCredential } from '#domain/change/jira';
import { jiraCredentialOf } from '#domain/change/rule';
import { openSealed } from '../secret-box.ts';

/**
 * The one place a change management tool is wired: a provider's adapter, opened with the rule's credential (opened
 * here from its seal, or the plain one a save is checking). Each adapter is loaded only when a rule of its tool is opened.
 */
const PROVIDERS: Record<ChangeControl['provider'], ((rule: ChangeControl, credentials: never) => Promise<ChangeProvider & ChangeTemplateCheck>) | null> = {
  servicenow: async (rule, credentials) => new (await import('./servicenow.ts')).ServiceNowChanges(rule, credentials),
  // The rule's site and approved statuses are its instanceUrl and approvedStates; the credential's basic user is the account's email.
  jira: async (rule, credentials) => {
    let credential: JiraCredential;
    try {
      credential = jiraCredentialOf(credentials);
    } catch (err) {
      throw new ChangeRefused(`${(err as Error).message}: save the rule again with its credentials`);
    }
    if (!rule.jira) throw new ChangeRefused('the Jira rule has no service desk and request type: save it again with body.jira');
    const settings: JiraChangeSettings = { ...rule.jira, site: rule.instanceUrl, approvedStatuses: rule.approvedStates };
    return (await import('./jira.ts')).jiraChangeProvider(settings, credential);
  },
};

export class ChangeToolsAdapter implements ChangeTools {
  async open(rule: ChangeControl, plain?: string): Promise<ChangeProvider & ChangeTemplateCheck> {
    const make = PROVIDERS[rule.provider];
    if (!make) throw new ChangeRefused(`the change management tool '${rule.provider}' is not available yet in this deployment: use servicenow`, 422);
    let credentials: unknown;
    try {
      credentials = JSON.parse(plain ?? (await openSealed(rule.credentials)));
    } catch {
      throw new ChangeRefused('the change-control credential could not be opened with the secrets key: save the rule again with its credentials');
    }
    return make(rule, credentials as never);
  }
}
