import { useEffect, useState } from 'preact/hooks';
import { SERVICENOW_STATES } from '../../domain/change/servicenow-states.ts';
import { api, ApiError, q } from '../api.ts';
import { may, type Session } from '../auth.ts';
import { Choice, Confirm, Field, FormEnd, issuesByField, Problem, useAction, type Issues } from '../forms.tsx';
import { Time, type Say } from '../ui.tsx';

/**
 * An environment's change control, on its page: the rule promotions into it wait under (GET/PUT/DELETE
 * /api/v1/environments/{env}/change-control, domain/change/rule.ts). Everyone sees the rule (the credential only by its
 * kind); an admin sets, changes and removes it. The credential field is write-only: never filled with anything the API
 * answered, cleared after every save, and left empty it keeps the stored credential (the body then has none). The rule's
 * settings the form does not show (a Jira rule's statuses and planned-window fields) are sent back as stored, so an
 * edit here never wipes them. The API checks everything (the template, the service desk and request type with the
 * tool); a refusal is shown next to the field it names.
 */

interface Rule {
  provider: 'servicenow' | 'jira';
  instanceUrl: string;
  type: 'normal' | 'standard';
  template: string | null;
  approvedStates: string[];
  jira: ({ serviceDeskId: string; requestTypeId: string } & Record<string, unknown>) | null;
  credentialKind: 'basic' | 'bearer';
  updatedAt?: string;
  updatedBy?: string;
}

const TOOLS: Record<Rule['provider'], string> = { servicenow: 'ServiceNow', jira: 'Jira Service Management' };

/** Issue paths the form shows next to a field (a Jira field before the Jira object; what names none reads as a whole). */
const FIELDS = ['provider', 'instanceUrl', 'type', 'template', 'approvedStates', 'jira.serviceDeskId', 'jira.requestTypeId', 'jira', 'credentials'] as const;

const stateText = (r: Rule, s: string) => (r.provider === 'servicenow' && SERVICENOW_STATES[s] ? `${s} (${SERVICENOW_STATES[s]})` : s);

export function ChangeControlPanel({ env, me, say }: { env: string; me: Session; say: Say }) {
  const path = `api/v1/environments/${q(env)}/change-control`;
  /** undefined: not read yet; null: the environment has no rule */
  const [rule, setRule] = useState<Rule | null | undefined>(undefined);
  /** what reading or removing the rule met */
  const [run, busy, error, setError] = useAction();
  const [editing, setEditing] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const load = async () => {
    try {
      setRule(await api<Rule>('GET', path));
      setError(null);
    } catch (e) {
      if ((e as ApiError).status === 404) setRule(null);
      else setError((e as ApiError).message);
    }
  };
  useEffect(() => {
    void load();
  }, [path]);
  const admin = may(me, 'admin');
  const remove = () =>
    run(
      'Not removed',
      () => api('DELETE', path),
      () => {
        setConfirm(false);
        say('ok', `${env} is no longer under change control: its promotions no longer wait for a change request.`);
        return load();
      },
    );
  return (
    <section aria-labelledby="cc-title">
      <h2 id="cc-title">Change control</h2>
      <Problem text={error} />
      {rule === undefined ? (
        !error && <p class="mut">Loading…</p>
      ) : rule === null ? (
        <p>
          <span class="badge">none</span> {env} is not under change control: promotions into it do not wait for a change request.
        </p>
      ) : (
        <dl class="facts">
          <dt>Tool</dt>
          <dd>{TOOLS[rule.provider] ?? rule.provider}</dd>
          <dt>Instance</dt>
          <dd class="long">{rule.instanceUrl}</dd>
          {rule.provider === 'jira' ? (
            <>
              <dt>Service desk, request type</dt>
              <dd>
                {rule.jira?.serviceDeskId ?? '—'}, {rule.jira?.requestTypeId ?? '—'}
              </dd>
            </>
          ) : (
            <>
              <dt>Change type</dt>
              <dd>
                {rule.type}
                {rule.template && (
                  <>
                    {' '}
                    from template <span class="long">{rule.template}</span>
                  </>
                )}
              </dd>
            </>
          )}
          <dt>Approved states</dt>
          <dd>{rule.approvedStates.map((s) => stateText(rule, s)).join(', ')}</dd>
          <dt>Credential</dt>
          <dd>{rule.credentialKind === 'basic' ? 'user and password' : 'bearer token'}, stored sealed (never shown)</dd>
          <dt>Updated</dt>
          <dd>
            <Time at={rule.updatedAt} /> UTC by <span class="long">{rule.updatedBy ?? '—'}</span>
          </dd>
        </dl>
      )}
      {!admin ? (
        rule !== undefined && <p class="mut">Only an admin changes change control; you see it read-only.</p>
      ) : confirm && rule ? (
        <Confirm id="cc-confirm" yes="Remove change control" no="Keep it" busy={busy} onYes={() => void remove()} onNo={() => setConfirm(false)}>
          Remove change control from {env}? Promotions into {env} will no longer wait for an approved change request (those already waiting keep waiting for the
          request they opened).
        </Confirm>
      ) : editing ? (
        <RuleForm
          env={env}
          path={path}
          current={rule ?? null}
          cancel={() => setEditing(false)}
          saved={async (next) => {
            setEditing(false);
            say('ok', `Saved: ${env} is under change control in ${TOOLS[next.provider]}; its promotions wait for an approved change request.`);
            await load();
          }}
        />
      ) : (
        rule !== undefined && (
          <div class="buttons">
            <button type="button" class="primary" onClick={() => (setError(null), setEditing(true))}>
              {rule ? 'Change the rule' : 'Set up change control'}
            </button>
            {rule && (
              <button type="button" class="danger" onClick={() => (setError(null), setConfirm(true))}>
                Remove
              </button>
            )}
          </div>
        )
      )}
    </section>
  );
}

function RuleForm({
  env,
  path,
  current,
  cancel,
  saved,
}: {
  env: string;
  path: string;
  current: Rule | null;
  cancel: () => void;
  saved: (r: Rule) => Promise<void>;
}) {
  const [provider, setProvider] = useState<Rule['provider']>(current?.provider ?? 'servicenow');
  const [instanceUrl, setInstanceUrl] = useState(current?.instanceUrl ?? '');
  const [type, setType] = useState<Rule['type']>(current?.type ?? 'normal');
  const [template, setTemplate] = useState(current?.template ?? '');
  const [desk, setDesk] = useState(current?.jira?.serviceDeskId ?? '');
  const [requestType, setRequestType] = useState(current?.jira?.requestTypeId ?? '');
  const [states, setStates] = useState(current?.approvedStates.join(', ') ?? '');
  const [kind, setKind] = useState<Rule['credentialKind']>(current?.credentialKind ?? 'basic');
  const [user, setUser] = useState('');
  const [secret, setSecret] = useState('');
  const [run, busy, problem, setIssues] = useAction<Issues>();
  const issues = problem ?? {};
  const jira = provider === 'jira';
  const pick = (p: Rule['provider']) => {
    setProvider(p);
    // Another tool's states mean nothing to this one: its own (or its defaults, left empty).
    setStates(current?.provider === p ? current.approvedStates.join(', ') : '');
  };
  return (
    <form
      class="card binding-form"
      aria-labelledby="cc-form-title"
      onSubmit={(ev) => {
        ev.preventDefault();
        const approvedStates = states
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (kind === 'basic' && !!user.trim() !== !!secret)
          return setIssues({ credentials: 'Give the user and the password together, or leave both empty to keep the stored credential.' });
        const credentials =
          kind === 'basic' && user.trim() && secret
            ? { basic: { user: user.trim(), password: secret } }
            : kind === 'bearer' && secret
              ? { bearer: { token: secret } }
              : null;
        const body = {
          provider,
          instanceUrl: instanceUrl.trim(),
          ...(jira
            ? // What the stored Jira rule holds beyond these two is sent back as it is: an edit here never wipes it.
              { jira: { ...(current?.provider === 'jira' ? current.jira : {}), serviceDeskId: desk.trim(), requestTypeId: requestType.trim() } }
            : { type, ...(type === 'standard' ? { template: template.trim() } : {}) }),
          ...(approvedStates.length ? { approvedStates } : {}),
          // Left out: the stored credential is kept.
          ...(credentials ? { credentials } : {}),
        };
        // The secret is cleared once the API answers, saved or not.
        void run(
          (e) => issuesByField(e, FIELDS),
          () => api<Rule>('PUT', path, body).finally(() => setSecret('')),
          saved,
        );
      }}
    >
      <h3 id="cc-form-title">{current ? `Change the rule of ${env}` : `Put ${env} under change control`}</h3>
      <Problem text={issues['']} />
      <Choice
        prefix="cc"
        name="provider"
        legend="Change management tool"
        value={provider}
        set={pick}
        options={Object.entries(TOOLS) as [Rule['provider'], string][]}
        issues={issues}
      />
      <Field
        prefix="cc"
        name="instanceUrl"
        label="Instance URL"
        value={instanceUrl}
        set={setInstanceUrl}
        issues={issues}
        placeholder={jira ? 'https://example.atlassian.net' : 'https://example.service-now.com'}
      />
      {jira ? (
        <>
          <Field prefix="cc" name="jira.serviceDeskId" label="Service desk id" value={desk} set={setDesk} issues={issues} placeholder="4" />
          <Field
            prefix="cc"
            name="jira.requestTypeId"
            label="Request type id"
            value={requestType}
            set={setRequestType}
            issues={issues}
            placeholder="42"
            help="Numeric ids, checked with Jira when you save."
          />
          {issues.jira && (
            <p class="field-problem bad" role="alert">
              {issues.jira}
            </p>
          )}
        </>
      ) : (
        <>
          <Choice
            prefix="cc"
            name="type"
            legend="Change type"
            value={type}
            set={setType}
            options={[
              ['normal', 'Normal: the change board approves it'],
              ['standard', 'Standard: pre-approved, opened from a template'],
            ]}
            issues={issues}
          />
          {type === 'standard' && (
            <Field
              prefix="cc"
              name="template"
              label="Template (name or sys_id)"
              value={template}
              set={setTemplate}
              issues={issues}
              help="Looked up in ServiceNow when you save."
            />
          )}
        </>
      )}
      <Field
        prefix="cc"
        name="approvedStates"
        label="Approved states (comma-separated)"
        value={states}
        set={setStates}
        issues={issues}
        help={
          jira
            ? 'Workflow status names; left empty: Awaiting implementation, Implementing.'
            : 'State numbers; left empty: -2 (Scheduled), -1 (Implement), with the approval approved.'
        }
      />
      <Choice
        prefix="cc"
        name="credentialKind"
        legend="Credential"
        value={kind}
        set={(k) => (setKind(k), setSecret(''))}
        options={[
          ['basic', jira ? 'Basic authentication (account email, API token)' : 'Basic authentication'],
          ['bearer', 'OAuth access token'],
        ]}
        issues={issues}
      />
      {kind === 'basic' && (
        <Field
          prefix="cc"
          name="credentials.basic.user"
          label="User"
          value={user}
          set={setUser}
          issues={issues}
          placeholder={current ? 'stored: leave empty to keep it' : jira ? 'release-bot@company.example' : ''}
        />
      )}
      <Field
        prefix="cc"
        name="credentials"
        label={kind === 'basic' ? 'Password or API token' : 'Access token'}
        value={secret}
        set={setSecret}
        issues={issues}
        secret
        placeholder={current ? 'stored: leave empty to keep it' : ''}
        help="Sealed where it is stored and never shown again; cleared from this form after each save, so type it again after a refusal."
      />
      <FormEnd busy={busy} label="Save change control" saving="Checking and saving…" cancel={cancel} />
    </form>
  );
}
