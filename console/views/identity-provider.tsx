import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api.ts';
import { loginConfig, type Session } from '../auth.ts';
import {
  AddButton,
  Choice,
  Confirm,
  copy,
  EmptyRow,
  Field,
  FormEnd,
  issuesByField,
  Problem,
  Refused,
  RowActions,
  useAction,
  type Issues,
  type Refusal,
} from '../forms.tsx';
import { Loading, Time, usePoll, Wrap, type Say } from '../ui.tsx';

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
  const [run, busy, refused, setRefused] = useAction();
  if (!conn.data) return <Loading error={conn.error} />;
  const c = conn.data;
  const remove = () =>
    run(
      'Not removed',
      () => api('DELETE', 'api/v1/access/identity-provider'),
      () => {
        setConfirm(false);
        say('ok', 'The identity provider is removed: its people can no longer sign in through it, and its email domains are released.');
        return conn.reload();
      },
    );
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
      <Problem text={refused} />
      {confirm ? (
        <Confirm id="idp-confirm" yes="Remove the identity provider" no="Keep it" busy={busy} onYes={() => void remove()} onNo={() => setConfirm(false)}>
          Remove the identity provider? People of {c.emailDomains.join(', ')} can no longer sign in through it, and these domains are released.
        </Confirm>
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
  const [run, busy, problem] = useAction<Issues>();
  const issues = problem ?? {};
  const kept = current.oidc?.clientSecret;
  return (
    <form
      class="card binding-form"
      aria-labelledby="idp-form-title"
      onSubmit={(ev) => {
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
        void run(
          (e) => issuesByField(e, FIELDS),
          () => api<Connection>('PUT', 'api/v1/access/identity-provider', body),
          saved,
        );
      }}
    >
      <h3 id="idp-form-title">{current.kind ? 'Change the connection' : 'Connect an identity provider'}</h3>
      <Problem text={issues['']} />
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
      <FormEnd busy={busy} label="Save the connection" saving="Checking and saving…" cancel={cancel} />
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
  const [run, busy, refused, setRefused] = useAction<Refusal>();
  if (!mapping.data) return <Loading error={mapping.error} />;
  const { entries, version } = mapping.data;
  const save = (next: MapEntry[], done: string) =>
    run(
      (err) => {
        const stale = err.body?.error?.code === 'VERSION_CONFLICT';
        const fields = (err.body?.error?.issues ?? []).map(
          (i: { path: string; message: string }) => `${i.path.replace(/^entries\.(\d+)\./, (_m, n) => `entry ${Number(n) + 1}, `)}: ${i.message}`,
        );
        return {
          text: stale
            ? 'Not saved: someone else changed the group mapping since this page read it. Reload it, then make your change again.'
            : `Not saved: ${fields.length ? fields.join('; ') : err.message}`,
          stale,
        };
      },
      () => api('PUT', 'api/v1/access/group-mapping', { entries: next, version }),
      () => {
        setEditing(null);
        say('ok', done);
        return mapping.reload();
      },
    );
  const mapsTo = (e: MapEntry) => [e.group ? `group ${e.group}` : '', e.roles?.length ? `roles ${e.roles.join(', ')}` : ''].filter(Boolean).join(' and ');
  return (
    <section aria-labelledby="groupmap-title">
      <h2 id="groupmap-title">Group mapping</h2>
      <p class="mut">
        What the identity provider's groups make a person at their next sign-in: a Stageline group (role bindings name it), tenant-wide roles, or both. A group
        not listed gives nothing. Also: <code>stageline idp …</code>, the manifest.
      </p>
      <Refused refused={refused} label="Reload the mapping" reload={() => (setRefused(null), setEditing(null), void mapping.reload())} />
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
                <RowActions
                  what={`the mapping of ${e.idpGroup}`}
                  busy={busy}
                  edit={() => (setRefused(null), setEditing(i))}
                  remove={() =>
                    void save(
                      entries.filter((_, j) => j !== i),
                      `Removed: ${e.idpGroup} no longer maps to ${mapsTo(e)}.`,
                    )
                  }
                />
              </tr>
            ))}
            {!entries.length && (
              <EmptyRow cols={4}>No group is mapped: the identity provider's groups give no role until you map them (or bind people by email).</EmptyRow>
            )}
          </tbody>
        </table>
      </Wrap>
      {editing === null ? (
        <AddButton onClick={() => (setRefused(null), setEditing('new'))}>Map a group</AddButton>
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
      <FormEnd problem={problem} busy={busy} label="Save the mapping" cancel={cancel} />
    </form>
  );
}
