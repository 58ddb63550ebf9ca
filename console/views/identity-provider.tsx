import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import { loginConfig, type Session } from '../auth.ts';
import { Loading, Time, usePoll, Wrap, type Say } from '../ui.tsx';
import { copy } from './access.tsx';

/**
 * Settings → Identity provider (admin): the tenant's connection to its company IdP (GET/PUT/DELETE
 * /api/v1/access/identity-provider, domain/access/federation.ts), the values the IdP's admin must give their
 * side, and the group mapping (GET/PUT /api/v1/access/group-mapping, domain/access/group-mapping.ts) that
 * turns the IdP's groups into Stageline groups and tenant-wide roles. The API checks everything; a refusal
 * is shown next to the field it names.
 */

interface Connection {
  kind: 'oidc' | 'saml' | null;
  providerName?: string;
  oidc?: { issuer: string; clientId: string; clientSecret?: string };
  saml?: { metadataUrl?: string; entityId: string; ssoUrl: string };
  emailDomains: string[];
  groupsClaim?: string;
  version: number;
  updatedAt?: string;
  updatedBy?: string;
}

export type Issues = Record<string, string>;

/** The issues of a refusal by the form field they name (`emailDomains.1` → emailDomains); what names no field under '' . */
export function issuesByField(e: ApiError, fields: readonly string[]): Issues {
  const out: Issues = {};
  const list: { path?: string; message?: string }[] = e.body?.error?.issues ?? [];
  for (const i of list) {
    const path = i.path ?? '';
    const field = fields.find((f) => path === f || path.startsWith(`${f}.`)) ?? '';
    const index = /\.(\d+)$/.exec(path)?.[1];
    const text = `${index !== undefined && field === 'emailDomains' ? `domain ${Number(index) + 1}: ` : ''}${i.message ?? ''}`;
    out[field] = out[field] ? `${out[field]}; ${text}` : text;
  }
  // A refusal without a field (a stale version, a secret store that failed) reads as a whole.
  if (!list.length) out[''] = `Not saved: ${e.message}`;
  if (e.body?.error?.code === 'VERSION_CONFLICT')
    out[''] = 'Not saved: someone else changed the connection since this page read it. Reload it, then make your change again.';
  return out;
}

const FIELDS = [
  'kind',
  'oidc.issuer',
  'oidc.clientId',
  'oidc.clientSecret',
  'saml.metadataUrl',
  'saml.metadataXml',
  'saml',
  'oidc',
  'emailDomains',
  'groupsClaim',
] as const;

/** What the IdP's admin enters on their side: read from where this deployment signs people in (GET /api/v1/auth/config). */
function useSpValues(tenant: string) {
  const [v, setV] = useState<{ redirect: string; acs: string; entityId: string } | null>(null);
  useEffect(() => {
    void loginConfig()
      .then((cfg) => {
        // The user pool domain on AWS (https://<domain>/oauth2/authorize), the local stand-in (…/dev/oauth2/authorize) locally.
        const base = cfg.authorizationEndpoint.replace(/\/oauth2\/authorize$/, '');
        const poolId = new URL(cfg.issuer).pathname.split('/').filter(Boolean).pop() ?? '';
        setV({
          redirect: `${base}/oauth2/idpresponse`,
          acs: `${base}/saml2/idpresponse`,
          entityId: cfg.fragmentSignIn ? `urn:stageline:local:sp:${tenant}` : `urn:amazon:cognito:sp:${poolId}`,
        });
      })
      .catch(() => setV(null));
  }, [tenant]);
  return v;
}

export function IdentityProviderSettings({ me, say }: { me: Session; say: Say }) {
  return (
    <>
      <ConnectionPanel me={me} say={say} />
      <GroupMappingPanel say={say} />
    </>
  );
}

function CopyValue({ id, label, value, say }: { id: string; label: string; value: string; say: Say }) {
  return (
    <>
      <label for={id}>{label}</label>
      <div class="copy-row">
        <input id={id} class="wide" readOnly value={value} onFocus={(e) => (e.target as HTMLInputElement).select()} />
        <button type="button" onClick={() => void copy(value, say, label)} aria-label={`Copy the ${label}`}>
          Copy
        </button>
      </div>
    </>
  );
}

function ConnectionPanel({ me, say }: { me: Session; say: Say }) {
  const conn = usePoll<Connection>('api/v1/access/identity-provider', 0);
  const sp = useSpValues(me.tenant);
  const [editing, setEditing] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [refused, setRefused] = useState<string | null>(null);
  if (!conn.data) return <Loading error={conn.error} />;
  const c = conn.data;
  const remove = async () => {
    setBusy(true);
    try {
      await api('DELETE', 'api/v1/access/identity-provider');
      setConfirm(false);
      setRefused(null);
      say('ok', 'The identity provider is removed: its people can no longer sign in through it, and its email domains are released.');
      await conn.reload();
    } catch (e) {
      setRefused(`Not removed: ${(e as ApiError).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="idp-title">
      <h2 id="idp-title">Identity provider</h2>
      <p class="mut">
        People of your email domains sign in through your company's identity provider (Entra ID, Okta, Google Workspace…), by OpenID Connect or SAML 2.0. Also:{' '}
        <code>stageline idp …</code>.
      </p>
      {c.kind ? (
        <dl class="facts">
          <dt>Kind</dt>
          <dd>{c.kind === 'oidc' ? 'OpenID Connect' : 'SAML 2.0'}</dd>
          <dt>Provider name</dt>
          <dd>
            <code class="long">{c.providerName}</code>
          </dd>
          {c.oidc && (
            <>
              <dt>Issuer</dt>
              <dd class="long">{c.oidc.issuer}</dd>
              <dt>Client id</dt>
              <dd class="long">{c.oidc.clientId}</dd>
              <dt>Client secret</dt>
              <dd>
                tenant secret <code>{c.oidc.clientSecret ?? '—'}</code> <span class="mut">(its name; the secret is never shown)</span>
              </dd>
            </>
          )}
          {c.saml && (
            <>
              <dt>IdP entity id</dt>
              <dd class="long">{c.saml.entityId}</dd>
              <dt>Single sign-on URL</dt>
              <dd class="long">{c.saml.ssoUrl}</dd>
              <dt>Metadata</dt>
              <dd class="long">{c.saml.metadataUrl ?? 'pasted document'}</dd>
            </>
          )}
          <dt>Email domains</dt>
          <dd class="long">{c.emailDomains.join(', ')}</dd>
          <dt>Groups claim</dt>
          <dd>
            <code>{c.groupsClaim}</code>
          </dd>
          <dt>Version</dt>
          <dd>{c.version}</dd>
          <dt>Updated</dt>
          <dd>
            <Time at={c.updatedAt} /> UTC by <span class="long">{c.updatedBy ?? '—'}</span>
          </dd>
        </dl>
      ) : (
        <p>
          <span class="badge">none</span> No identity provider is connected: people sign in with their Stageline accounts.
        </p>
      )}
      {refused && (
        <p class="notice bad" role="alert">
          {refused}
        </p>
      )}
      {confirm ? (
        <div class="why-box bad" role="alertdialog" aria-labelledby="idp-confirm">
          <p id="idp-confirm">
            Remove the identity provider? People of {c.emailDomains.join(', ')} can no longer sign in through it, and these domains are released.
          </p>
          <div class="buttons">
            <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
              Remove the identity provider
            </button>
            <button type="button" disabled={busy} onClick={() => setConfirm(false)}>
              Keep it
            </button>
          </div>
        </div>
      ) : editing ? (
        <ConnectionForm
          current={c}
          cancel={() => setEditing(false)}
          saved={async (next) => {
            setEditing(false);
            say('ok', `Saved: people of ${next.emailDomains.join(', ')} sign in through ${next.providerName}.`);
            await conn.reload();
          }}
        />
      ) : (
        <div class="buttons">
          <button type="button" class="primary" onClick={() => (setRefused(null), setEditing(true))}>
            {c.kind ? 'Change the connection' : 'Connect an identity provider'}
          </button>
          {c.kind && (
            <button type="button" class="danger" onClick={() => (setRefused(null), setConfirm(true))}>
              Remove
            </button>
          )}
        </div>
      )}
      <h3 class="sp-values">What to enter at your identity provider</h3>
      {sp ? (
        <>
          <CopyValue id="sp-redirect" label="OIDC redirect URI" value={sp.redirect} say={say} />
          <CopyValue id="sp-acs" label="SAML ACS (reply) URL" value={sp.acs} say={say} />
          <CopyValue id="sp-entity" label="SAML SP entity id (audience)" value={sp.entityId} say={say} />
          <p class="mut">
            OIDC scopes <code>openid email profile</code>; send the user's groups in the groups claim, and their <code>email</code>.
          </p>
        </>
      ) : (
        <p class="mut">Loading…</p>
      )}
    </section>
  );
}

/**
 * A text field of a settings form (the connection's here, change control's in change-control.tsx); a refusal naming it
 * (its API path `name`) is shown under it. `secret`: a password field, never filled with anything the API answered.
 */
export function Field(p: {
  name: string;
  label: string;
  value: string;
  set: (v: string) => void;
  issues: Issues;
  area?: true;
  help?: string;
  placeholder?: string;
  prefix?: string;
  secret?: true;
}) {
  const id = `${p.prefix ?? 'idp'}-${p.name.replace('.', '-')}`;
  const problem = p.issues[p.name];
  const attrs = {
    id,
    class: 'wide',
    spellcheck: false,
    autocomplete: 'off',
    placeholder: p.placeholder,
    value: p.value,
    'aria-invalid': problem ? ('true' as const) : undefined,
    'aria-describedby': [p.help && `${id}-help`, problem && `${id}-problem`].filter(Boolean).join(' ') || undefined,
    onInput: (e: Event) => p.set((e.target as HTMLInputElement).value),
  };
  return (
    <>
      <label for={id}>{p.label}</label>
      {p.area ? <textarea rows={6} {...attrs} /> : p.secret ? <input type="password" {...attrs} /> : <input {...attrs} />}
      {p.help && (
        <p id={`${id}-help`} class="mut">
          {p.help}
        </p>
      )}
      {problem && (
        <p id={`${id}-problem`} class="field-problem bad" role="alert">
          {problem}
        </p>
      )}
    </>
  );
}

/** Two choices as radio buttons (the protocol, where the SAML metadata comes from); a refusal naming `name` under them. */
export function Choice<T extends string>(p: {
  name: string;
  legend: string;
  value: T;
  set: (v: T) => void;
  options: [T, string][];
  issues: Issues;
  prefix?: string;
}) {
  return (
    <>
      <fieldset class="env-picks">
        <legend>{p.legend}</legend>
        {p.options.map(([v, text]) => (
          <label key={v}>
            <input type="radio" name={`${p.prefix ?? 'idp'}-${p.name}`} checked={p.value === v} onChange={() => p.set(v)} /> {text}
          </label>
        ))}
      </fieldset>
      {p.issues[p.name] && (
        <p class="field-problem bad" role="alert">
          {p.issues[p.name]}
        </p>
      )}
    </>
  );
}

function ConnectionForm({ current, cancel, saved }: { current: Connection; cancel: () => void; saved: (c: Connection) => Promise<void> }) {
  const [kind, setKind] = useState<'oidc' | 'saml'>(current.kind ?? 'oidc');
  const [issuer, setIssuer] = useState(current.oidc?.issuer ?? '');
  const [clientId, setClientId] = useState(current.oidc?.clientId ?? '');
  const [secret, setSecret] = useState('');
  const [source, setSource] = useState<'url' | 'xml'>(current.saml && !current.saml.metadataUrl ? 'xml' : 'url');
  const [metadataUrl, setMetadataUrl] = useState(current.saml?.metadataUrl ?? '');
  const [metadataXml, setMetadataXml] = useState('');
  const [domains, setDomains] = useState(current.emailDomains.join(', '));
  const [groupsClaim, setGroupsClaim] = useState(current.groupsClaim ?? '');
  const [issues, setIssues] = useState<Issues>({});
  const [busy, setBusy] = useState(false);
  const kept = current.oidc?.clientSecret;
  return (
    <form
      class="card binding-form"
      aria-labelledby="idp-form-title"
      onSubmit={async (ev) => {
        ev.preventDefault();
        const body = {
          kind,
          ...(kind === 'oidc'
            ? { oidc: { issuer: issuer.trim(), clientId: clientId.trim(), ...(secret.trim() ? { clientSecret: secret.trim() } : {}) } }
            : { saml: source === 'url' ? { metadataUrl: metadataUrl.trim() } : { metadataXml } }),
          emailDomains: domains.split(/[\s,]+/).filter(Boolean),
          ...(groupsClaim.trim() ? { groupsClaim: groupsClaim.trim() } : {}),
          version: current.version,
        };
        setBusy(true);
        try {
          const next = await api<Connection>('PUT', 'api/v1/access/identity-provider', body);
          setIssues({});
          await saved(next);
        } catch (e) {
          setIssues(issuesByField(e as ApiError, FIELDS));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h3 id="idp-form-title">{current.kind ? 'Change the connection' : 'Connect an identity provider'}</h3>
      {issues[''] && (
        <p class="notice bad" role="alert">
          {issues['']}
        </p>
      )}
      <Choice
        name="kind"
        legend="Protocol"
        value={kind}
        set={setKind}
        options={[
          ['oidc', 'OpenID Connect'],
          ['saml', 'SAML 2.0'],
        ]}
        issues={issues}
      />
      {kind === 'oidc' ? (
        <>
          <Field name="oidc.issuer" label="Issuer URL" value={issuer} set={setIssuer} issues={issues} placeholder="https://login.company.example" />
          <Field name="oidc.clientId" label="Client id" value={clientId} set={setClientId} issues={issues} />
          <Field
            name="oidc.clientSecret"
            label="Client secret: the name of the tenant secret that holds it"
            value={secret}
            set={setSecret}
            issues={issues}
            placeholder={kept ? `${kept} (left empty: kept)` : 'IDP_CLIENT_SECRET'}
            help="A name, never the secret: store the secret first as the tenant secret idp-client-secret/<NAME>."
          />
        </>
      ) : (
        <>
          <Choice
            name="saml"
            legend="Metadata"
            value={source}
            set={setSource}
            options={[
              ['url', 'From a URL'],
              ['xml', 'Paste the XML'],
            ]}
            issues={issues}
          />
          {source === 'url' ? (
            <Field name="saml.metadataUrl" label="Metadata URL" value={metadataUrl} set={setMetadataUrl} issues={issues} />
          ) : (
            <Field name="saml.metadataXml" label="Metadata document (XML)" value={metadataXml} set={setMetadataXml} issues={issues} area />
          )}
        </>
      )}
      <Field name="emailDomains" label="Email domains (comma-separated)" value={domains} set={setDomains} issues={issues} placeholder="company.example" />
      <Field name="groupsClaim" label="Groups claim or attribute" value={groupsClaim} set={setGroupsClaim} issues={issues} placeholder="groups" />
      <div class="buttons">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking and saving…' : 'Save the connection'}
        </button>
        <button type="button" onClick={cancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

type MapRole = 'viewer' | 'deployer' | 'approver' | 'admin';
const MAP_ROLES: MapRole[] = ['viewer', 'deployer', 'approver', 'admin'];
interface MapEntry {
  idpGroup: string;
  group?: string;
  roles?: MapRole[];
}

/** Settings → Identity provider, group mapping: IdP group → Stageline group and/or tenant-wide roles; the whole list saved with the version read. */
function GroupMappingPanel({ say }: { say: Say }) {
  const mapping = usePoll<{ entries: MapEntry[]; version: number }>('api/v1/access/group-mapping', 0);
  const [editing, setEditing] = useState<number | 'new' | null>(null);
  const [refused, setRefused] = useState<{ text: string; stale: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  if (!mapping.data) return <Loading error={mapping.error} />;
  const { entries, version } = mapping.data;
  const save = async (next: MapEntry[], done: string) => {
    setBusy(true);
    try {
      await api('PUT', 'api/v1/access/group-mapping', { entries: next, version });
      setRefused(null);
      setEditing(null);
      say('ok', done);
      await mapping.reload();
    } catch (e) {
      const err = e as ApiError;
      const stale = err.body?.error?.code === 'VERSION_CONFLICT';
      const fields = (err.body?.error?.issues ?? []).map(
        (i: { path: string; message: string }) => `${i.path.replace(/^entries\.(\d+)\./, (_m, n) => `entry ${Number(n) + 1}, `)}: ${i.message}`,
      );
      setRefused({
        text: stale
          ? 'Not saved: someone else changed the group mapping since this page read it. Reload it, then make your change again.'
          : `Not saved: ${fields.length ? fields.join('; ') : err.message}`,
        stale,
      });
    } finally {
      setBusy(false);
    }
  };
  const mapsTo = (e: MapEntry) => [e.group ? `group ${e.group}` : '', e.roles?.length ? `roles ${e.roles.join(', ')}` : ''].filter(Boolean).join(' and ');
  return (
    <section aria-labelledby="groupmap-title">
      <h2 id="groupmap-title">Group mapping</h2>
      <p class="mut">
        What the identity provider's groups make a person at their next sign-in: a Stageline group (role bindings name it), tenant-wide roles, or both. A group
        not listed gives nothing. Also: <code>stageline idp …</code>, the manifest.
      </p>
      {refused && (
        <div class="notice bad" role="alert">
          <span>{refused.text}</span>
          {refused.stale && (
            <button
              type="button"
              onClick={async () => {
                setRefused(null);
                setEditing(null);
                await mapping.reload();
              }}
            >
              Reload the mapping
            </button>
          )}
        </div>
      )}
      <Wrap>
        <table class="bindings groupmap">
          <caption class="sr">Group mapping (version {version})</caption>
          <thead>
            <tr>
              <th scope="col">IdP group</th>
              <th scope="col">Stageline group</th>
              <th scope="col">Tenant-wide roles</th>
              <th scope="col">
                <span class="sr">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e, i) => (
              <tr key={`${e.idpGroup}\n${e.group ?? ''}`}>
                <th scope="row" class="subject">
                  {e.idpGroup}
                </th>
                <td>{e.group ?? <span class="mut">—</span>}</td>
                <td>{e.roles?.join(', ') ?? <span class="mut">—</span>}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    class="link"
                    disabled={busy}
                    onClick={() => (setRefused(null), setEditing(i))}
                    aria-label={`Edit the mapping of ${e.idpGroup}`}
                  >
                    Edit
                  </button>
                  <button
                    type="button"
                    class="link"
                    disabled={busy}
                    onClick={() =>
                      void save(
                        entries.filter((_, j) => j !== i),
                        `Removed: ${e.idpGroup} no longer maps to ${mapsTo(e)}.`,
                      )
                    }
                    aria-label={`Remove the mapping of ${e.idpGroup}`}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
            {!entries.length && (
              <tr>
                <td colSpan={4} class="mut">
                  No group is mapped: the identity provider's groups give no role until you map them (or bind people by email).
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </Wrap>
      {editing === null ? (
        <p>
          <button type="button" class="primary" onClick={() => (setRefused(null), setEditing('new'))}>
            Map a group
          </button>
        </p>
      ) : (
        <MapEntryForm
          key={String(editing)}
          initial={editing === 'new' ? null : entries[editing]!}
          busy={busy}
          cancel={() => setEditing(null)}
          submit={(e) => {
            const next = editing === 'new' ? [...entries, e] : entries.map((x, j) => (j === editing ? e : x));
            void save(next, `Saved: ${e.idpGroup} maps to ${mapsTo(e)}.`);
          }}
        />
      )}
    </section>
  );
}

function MapEntryForm({ initial, busy, cancel, submit }: { initial: MapEntry | null; busy: boolean; cancel: () => void; submit: (e: MapEntry) => void }) {
  const [idpGroup, setIdpGroup] = useState(initial?.idpGroup ?? '');
  const [group, setGroup] = useState(initial?.group ?? '');
  const [roles, setRoles] = useState<MapRole[]>(initial?.roles ?? []);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <form
      class="card binding-form"
      aria-labelledby="groupmap-form-title"
      onSubmit={(ev) => {
        ev.preventDefault();
        if (!idpGroup) return setProblem('Name the IdP group exactly as the identity provider sends it.');
        if (!group.trim() && !roles.length) return setProblem('Map it to something: a Stageline group, tenant-wide roles, or both.');
        setProblem(null);
        submit({ idpGroup, ...(group.trim() ? { group: group.trim() } : {}), ...(roles.length ? { roles: MAP_ROLES.filter((r) => roles.includes(r)) } : {}) });
      }}
    >
      <h3 id="groupmap-form-title">{initial ? 'Edit the mapping' : 'Map a group'}</h3>
      <div class="form-grid">
        <div>
          <label for="groupmap-idp">IdP group (exactly as sent)</label>
          <input id="groupmap-idp" value={idpGroup} spellcheck={false} autocomplete="off" onInput={(e) => setIdpGroup((e.target as HTMLInputElement).value)} />
        </div>
        <div>
          <label for="groupmap-group">Stageline group (optional)</label>
          <input
            id="groupmap-group"
            value={group}
            spellcheck={false}
            autocomplete="off"
            placeholder="payments"
            onInput={(e) => setGroup((e.target as HTMLInputElement).value)}
          />
        </div>
      </div>
      <fieldset class="env-picks">
        <legend>Tenant-wide roles (optional)</legend>
        {MAP_ROLES.map((r) => (
          <label key={r}>
            <input
              type="checkbox"
              checked={roles.includes(r)}
              onChange={(e) => setRoles((now) => ((e.target as HTMLInputElement).checked ? [...now.filter((x) => x !== r), r] : now.filter((x) => x !== r)))}
            />{' '}
            {r}
          </label>
        ))}
      </fieldset>
      {problem && (
        <p class="notice bad" role="alert">
          {problem}
        </p>
      )}
      <div class="buttons">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save the mapping'}
        </button>
        <button type="button" onClick={cancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
