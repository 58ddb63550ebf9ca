import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, q } from '../api.ts';
import { may, type Session } from '../auth.ts';
import { AddButton, Confirm, copy, EmptyRow, FormEnd, Refused, RowActions, useAction, type Refusal } from '../forms.tsx';
import { Head, Loading, Time, usePoll, Wrap, type Say } from '../ui.tsx';

/**
 * The settings of who may do what where (domain/access): the role bindings (Access), the SCIM token (SCIM) and a
 * person's effective rights per environment (Rights). What each shows and changes is the API's
 * (/api/v1/access/bindings, /api/v1/scim/token, /api/v1/access/rights); the API decides who may, the console
 * only leaves out the controls a person could not use.
 */

type Role = 'viewer' | 'deployer' | 'approver' | 'admin' | 'break-glass';
interface Binding {
  user?: string;
  group?: string;
  role: Role;
  environments: string[];
}
const ROLES: Role[] = ['viewer', 'deployer', 'approver', 'admin', 'break-glass'];
const ROLE_WORDS: Record<Role, string> = {
  viewer: 'viewer (reads)',
  deployer: 'deployer (requests, executes)',
  approver: 'approver (approves)',
  admin: 'admin (everything)',
  'break-glass': 'break-glass (acts through a freeze, with a reason)',
};
const EVERY = '*';
const whereText = (envs: string[]) => (envs.includes(EVERY) ? 'every environment' : envs.join(', '));
const subjectOf = (b: Binding) => (b.user !== undefined ? { kind: 'user' as const, name: b.user } : { kind: 'group' as const, name: b.group! });

/** The words of a refused save: a 409 says which one (someone else's change, or no admin left) and what to do. */
function refusedText(e: ApiError): string {
  const code = e.body?.error?.code;
  if (code === 'VERSION_CONFLICT') return 'Not saved: someone else changed the bindings since this page read them. Reload them, then make your change again.';
  if (code === 'NO_ADMIN_LEFT')
    return 'Not saved: this would leave the tenant with no admin. Keep an admin binding for every environment (*), or make someone admin first.';
  return `Not saved: ${e.message}`;
}

/** Settings → Access: the bindings as a table, with add, edit and remove; each change saves the whole list with the version read. */
export function AccessSettings({ say }: { say: Say }) {
  const bindings = usePoll<{ bindings: Binding[]; version: number }>('api/v1/access/bindings', 0);
  const envs = usePoll<any>('api/v1/environments', 0);
  /** the binding being edited (its index), or 'new', or null (the form is closed) */
  const [editing, setEditing] = useState<number | 'new' | null>(null);
  const [run, busy, refused, setRefused] = useAction<Refusal>();
  if (!bindings.data || !envs.data) return <Loading error={bindings.error ?? envs.error} />;
  const { version } = bindings.data;
  const list = bindings.data.bindings;
  const names: string[] = [...envs.data.items].sort((a: any, b: any) => a.position - b.position).map((e: any) => e.name);

  const save = (next: Binding[], done: string) =>
    run(
      (e) => ({ text: refusedText(e), stale: e.body?.error?.code === 'VERSION_CONFLICT' }),
      () => api('PUT', 'api/v1/access/bindings', { bindings: next, version }),
      () => {
        setEditing(null);
        say('ok', done);
        return bindings.reload();
      },
    );

  return (
    <section aria-labelledby="access-title">
      <h2 id="access-title">Role bindings</h2>
      <p class="mut">
        Who holds which role in which environments. A person's rights in an environment are their tenant-wide roles plus every binding that names them or one of
        their groups there. Also: <code>stageline roles …</code>, the manifest's <code>bindings</code>.
      </p>
      <Refused refused={refused} label="Reload bindings" reload={() => (setRefused(null), setEditing(null), void bindings.reload())} />
      <Wrap>
        <table class="bindings">
          <caption class="sr">Role bindings (version {version})</caption>
          <thead>
            <tr>
              <th scope="col">Subject</th>
              <th scope="col">Role</th>
              <th scope="col">Environments</th>
              <th scope="col">
                <span class="sr">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((b, i) => {
              const s = subjectOf(b);
              return (
                <tr key={`${s.kind}:${s.name}:${b.role}`}>
                  <th scope="row" class="subject">
                    <span class="badge">{s.kind}</span> <span class="long">{s.name}</span>
                  </th>
                  <td>{b.role}</td>
                  <td>{whereText(b.environments)}</td>
                  <RowActions
                    what={`${s.kind} ${s.name} ${b.role}`}
                    busy={busy}
                    edit={() => (setRefused(null), setEditing(i))}
                    remove={() =>
                      void save(
                        list.filter((_, j) => j !== i),
                        `Removed: ${s.kind} ${s.name} is no longer ${b.role} in ${whereText(b.environments)}.`,
                      )
                    }
                  />
                </tr>
              );
            })}
            {!list.length && <EmptyRow cols={4}>No bindings yet: roles come from each person's tenant-wide roles only.</EmptyRow>}
          </tbody>
        </table>
      </Wrap>
      {editing === null ? (
        <AddButton onClick={() => (setRefused(null), setEditing('new'))}>Add a binding</AddButton>
      ) : (
        <BindingForm
          key={String(editing)}
          initial={editing === 'new' ? null : list[editing]!}
          environments={names}
          busy={busy}
          cancel={() => setEditing(null)}
          submit={(b) => {
            const s = subjectOf(b);
            const next = editing === 'new' ? [...list, b] : list.map((x, j) => (j === editing ? b : x));
            void save(next, `Saved: ${s.kind} ${s.name} is ${b.role} in ${whereText(b.environments)}.`);
          }}
        />
      )}
    </section>
  );
}

/** The form of one binding: a user or a group, a role, and environments from the tenant's list (or every one). */
function BindingForm({
  initial,
  environments,
  busy,
  cancel,
  submit,
}: {
  initial: Binding | null;
  environments: string[];
  busy: boolean;
  cancel: () => void;
  submit: (b: Binding) => void;
}) {
  const [kind, setKind] = useState<'user' | 'group'>(initial?.group !== undefined ? 'group' : 'user');
  const [name, setName] = useState(initial ? subjectOf(initial).name : '');
  const [role, setRole] = useState<Role>(initial?.role ?? 'deployer');
  const [envs, setEnvs] = useState<string[]>(initial?.environments ?? []);
  const [problem, setProblem] = useState<string | null>(null);
  const every = envs.includes(EVERY);
  const toggle = (e: string, on: boolean) => setEnvs((now) => (on ? [...now.filter((x) => x !== e), e] : now.filter((x) => x !== e)));
  return (
    <form
      class="card binding-form"
      aria-labelledby="binding-form-title"
      onSubmit={(ev) => {
        ev.preventDefault();
        const who = name.trim();
        if (!who) return setProblem(kind === 'user' ? 'Name the user: their email or subject id.' : 'Name the group.');
        if (!envs.length) return setProblem('Pick at least one environment, or every environment.');
        setProblem(null);
        submit({
          ...(kind === 'user' ? { user: who.toLowerCase() } : { group: who }),
          role,
          environments: every ? [EVERY] : environments.filter((e) => envs.includes(e)),
        });
      }}
    >
      <h3 id="binding-form-title">{initial ? 'Edit the binding' : 'Add a binding'}</h3>
      <div class="form-grid">
        <div>
          <label for="binding-kind">Subject</label>
          <select id="binding-kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as 'user' | 'group')}>
            <option value="user">User</option>
            <option value="group">Group</option>
          </select>
        </div>
        <div>
          <label for="binding-name">{kind === 'user' ? 'Email or subject id' : 'Group name'}</label>
          <input
            id="binding-name"
            class="wide"
            value={name}
            autocomplete="off"
            spellcheck={false}
            placeholder={kind === 'user' ? 'name@example.com' : 'payments'}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </div>
        <div>
          <label for="binding-role">Role</label>
          <select id="binding-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {ROLE_WORDS[r]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <fieldset class="env-picks">
        <legend>Environments</legend>
        <label>
          <input type="checkbox" checked={every} onChange={(e) => toggle(EVERY, (e.target as HTMLInputElement).checked)} /> Every environment (*)
        </label>
        {environments.map((e) => (
          <label key={e}>
            <input type="checkbox" disabled={every} checked={every || envs.includes(e)} onChange={(ev) => toggle(e, (ev.target as HTMLInputElement).checked)} />{' '}
            {e}
          </label>
        ))}
        {!environments.length && <span class="mut">This tenant has no environments yet: only every environment (*) can be picked.</span>}
      </fieldset>
      <FormEnd problem={problem} busy={busy} label="Save binding" cancel={cancel} />
    </form>
  );
}

/** Settings → SCIM: the base URL to give the identity provider, the token's state, create or rotate (shown once), revoke. */
export function ScimSettings({ say }: { say: Say }) {
  const base = new URL('scim/v2', location.href).href;
  const [state, setState] = useState<{ info: any | null; error: string | null; loaded: boolean }>({ info: null, error: null, loaded: false });
  const [issued, setIssued] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<'rotate' | 'revoke' | null>(null);
  const [run, busy] = useAction<void>();
  const load = async () => {
    try {
      setState({ info: await api('GET', 'api/v1/scim/token'), error: null, loaded: true });
    } catch (e) {
      const err = e as ApiError;
      setState({ info: null, error: err.status === 404 ? null : err.message, loaded: true });
    }
  };
  useEffect(() => void load(), []);
  if (!state.loaded) return <Loading />;
  if (state.error) return <Loading error={state.error} />;
  const info = state.info;
  // A refusal is said as a notice: the page shows no problem of its own.
  const issue = () =>
    run(
      (e) => say('bad', `No token made: ${e.message}`),
      () => api<any>('POST', 'api/v1/scim/token', {}),
      (r) => {
        setIssued(r.token);
        setConfirm(null);
        setState({ info: r, error: null, loaded: true });
      },
    );
  const revoke = () =>
    run(
      (e) => say('bad', `Not revoked: ${e.message}`),
      () => api('DELETE', 'api/v1/scim/token'),
      () => {
        setIssued(null);
        setConfirm(null);
        say('ok', 'The SCIM token is revoked: provisioning stops until a new one is made.');
        return load();
      },
    );
  return (
    <section aria-labelledby="scim-title">
      <h2 id="scim-title">SCIM provisioning</h2>
      <p class="mut">
        Your identity provider (Entra ID, Okta, Google Workspace…) creates, changes and removes this tenant's users and groups with these two values.
      </p>
      <label for="scim-base">Base URL (the SCIM endpoint)</label>
      <div class="copy-row">
        <input id="scim-base" class="wide" readOnly value={base} onFocus={(e) => (e.target as HTMLInputElement).select()} />
        <button type="button" onClick={() => void copy(base, say, 'Base URL')}>
          Copy
        </button>
      </div>
      <h3>Token</h3>
      {issued && (
        <div class="why-box secret" role="region" aria-labelledby="scim-new-title">
          <p id="scim-new-title">
            <strong>Your new SCIM token. Copy it now: you will not see it again.</strong> Give it to the identity provider as its secret token.
          </p>
          <div class="copy-row">
            <input id="scim-token" aria-label="New SCIM token" class="wide" readOnly value={issued} onFocus={(e) => (e.target as HTMLInputElement).select()} />
            <button type="button" class="primary" onClick={() => void copy(issued, say, 'Token')}>
              Copy token
            </button>
          </div>
          <button type="button" class="link" onClick={() => setIssued(null)}>
            I have stored it: hide it
          </button>
        </div>
      )}
      {info ? (
        <dl class="facts">
          <dt>State</dt>
          <dd>
            <span class="badge ok">active</span>
          </dd>
          <dt>Created</dt>
          <dd>
            <Time at={info.createdAt} /> UTC by <span class="long">{info.createdBy}</span>
          </dd>
          <dt>Last rotated</dt>
          <dd>
            {info.rotatedAt ? (
              <>
                <Time at={info.rotatedAt} /> UTC
              </>
            ) : (
              <span class="mut">never</span>
            )}
          </dd>
        </dl>
      ) : (
        <p>
          <span class="badge">none</span> No SCIM token: provisioning is off. Create one to connect your identity provider.
        </p>
      )}
      {confirm ? (
        <Confirm
          id="scim-confirm"
          yes={confirm === 'rotate' ? 'Replace the token' : 'Revoke the token'}
          no="Keep the current one"
          busy={busy}
          onYes={() => void (confirm === 'rotate' ? issue() : revoke())}
          onNo={() => setConfirm(null)}
        >
          {confirm === 'rotate'
            ? 'Replace the SCIM token? The current one stops working at once: provisioning fails until the identity provider has the new one.'
            : 'Revoke the SCIM token? Provisioning stops until a new one is made; users already provisioned stay.'}
        </Confirm>
      ) : (
        <div class="buttons">
          {info ? (
            <>
              <button type="button" onClick={() => setConfirm('rotate')}>
                Rotate token
              </button>
              <button type="button" class="danger" onClick={() => setConfirm('revoke')}>
                Revoke token
              </button>
            </>
          ) : (
            <button type="button" class="primary" disabled={busy} onClick={() => void issue()}>
              Create token
            </button>
          )}
        </div>
      )}
    </section>
  );
}

const RIGHTS: [Role, string][] = [
  ['viewer', 'View'],
  ['deployer', 'Request / deploy'],
  ['approver', 'Approve'],
  ['admin', 'Admin'],
  ['break-glass', 'Break-glass'],
];

/** What grants a right, in words; a binding of the person shown is "your binding" (or "their binding"), not their email again. */
const grantText = (g: any, user: { id: string; email: string }, mine: boolean) => {
  if ('role' in g) return `tenant-wide role ${g.role}`;
  const b = g.binding;
  const own = b.user !== undefined && (b.user === user.email || b.user === user.id);
  const whose = own ? `${mine ? 'your' : 'their'} binding` : `${b.user !== undefined ? 'user' : 'group'} ${b.user ?? b.group}`;
  return `${whose}: ${b.role} in ${whereText(b.environments)}${g.elsewhere ? ' (bound elsewhere: reads)' : ''}`;
};

/** Settings → Rights: a person's effective rights per environment, each cell saying what grants it. Yours; an admin picks anyone's. */
export function RightsSettings({ me }: { me: Session }) {
  const admin = may(me, 'admin');
  const [who, setWho] = useState('');
  const [asked, setAsked] = useState('');
  const { data: users } = usePoll<any>(admin ? 'api/v1/users' : null, 0);
  const { data, error } = usePoll<any>(`api/v1/access/rights${asked ? `?user=${q(asked)}` : ''}`, 0);
  return (
    <section aria-labelledby="rights-title">
      <h2 id="rights-title">Effective rights</h2>
      {admin ? (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            setAsked(who.trim());
          }}
        >
          <label for="rights-user">Person (email or subject id; empty: you)</label>
          <input
            id="rights-user"
            class="wide"
            list="rights-people"
            value={who}
            spellcheck={false}
            onInput={(e) => setWho((e.target as HTMLInputElement).value)}
          />
          <datalist id="rights-people">
            {(users?.items ?? []).map((u: any) => (
              <option key={u.id} value={u.email} />
            ))}
          </datalist>
          <button type="submit">Show rights</button>
        </form>
      ) : (
        <p class="mut">Your own rights. An admin sees anyone's.</p>
      )}
      {!data || error ? (
        <Loading error={error} />
      ) : (
        <>
          <p>
            <strong class="long">{data.user.email}</strong>: tenant-wide roles {data.roles.length ? data.roles.join(', ') : 'none'}; groups{' '}
            {data.groups.length ? data.groups.join(', ') : 'none'}.
          </p>
          <Wrap>
            <table class="rights">
              <caption class="sr">Rights of {data.user.email} per environment, and what grants each</caption>
              <Head cols={['Environment', ...RIGHTS.map(([, label]) => label)]} />
              <tbody>
                {data.environments.map((row: any) => (
                  <tr key={row.environment ?? '*'}>
                    <th scope="row">{row.environment ?? <span>tenant-wide</span>}</th>
                    {RIGHTS.map(([right, label]) => {
                      const grants: any[] = row.rights[right];
                      return (
                        <td key={right} class={grants.length ? 'granted' : 'denied'}>
                          {grants.length ? (
                            <>
                              <span class="ok">yes</span>
                              <ul class="plain grants">
                                {grants.map((g, i) => (
                                  <li key={i} class="mut">
                                    {grantText(g, data.user, data.user.email === me.email.toLowerCase())}
                                  </li>
                                ))}
                              </ul>
                            </>
                          ) : (
                            <span class="mut">no</span>
                          )}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </Wrap>
          <p class="mut">
            The tenant-wide row is what changes settings, people and bindings needs. Also: <code>stageline roles rights [user]</code>.
          </p>
        </>
      )}
    </section>
  );
}
