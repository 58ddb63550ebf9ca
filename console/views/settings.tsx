import { useState } from 'preact/hooks';
import { api, ApiError, q } from '../api.ts';
import { may, type Session } from '../auth.ts';
import { Loading, Status, Time, usePoll, Wrap } from '../ui.tsx';

/** Settings: app keys, webhook subscriptions with their delivery log, users (admins), and linking one's Slack account. */
export function Settings({ me, say }: { me: Session; say: (tone: 'ok' | 'bad', text: string) => void }) {
  const { data: keys, error } = usePoll<any>('api/v1/app-keys', 30000);
  const { data: hooks } = usePoll<any>('api/v1/webhooks', 30000);
  const { data: templates } = usePoll<any>('api/v1/analysis-templates', 60000);
  const { data: users } = usePoll<any>(may(me, 'admin') ? 'api/v1/users' : null, 30000);
  const [code, setCode] = useState<any>(null);
  if (!keys) return <Loading error={error} />;
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      {may(me, 'approver') && (
        <section aria-labelledby="slack-title">
          <h2 id="slack-title">Your Slack account</h2>
          <p>Link it once to approve from Slack as {me.email}.</p>
          {code ? (
            <p class="why-box">
              In Slack, send <code>{code.command}</code> before <Time at={code.expiresAt} /> UTC (valid once).
            </p>
          ) : (
            <button
              type="button"
              onClick={async () => {
                try {
                  setCode(await api('POST', 'api/v1/slack/link-codes', {}));
                } catch (e) {
                  say('bad', `No code: ${(e as ApiError).message}`);
                }
              }}
            >
              Get a link code
            </button>
          )}
        </section>
      )}
      <section aria-labelledby="keys-title">
        <h2 id="keys-title">App keys</h2>
        <Wrap>
          <table>
            <caption class="sr">Read-only app keys of services (their secrets are never shown)</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Environment</th>
                <th scope="col">Prefix</th>
                <th scope="col">Status</th>
                <th scope="col">Last used</th>
              </tr>
            </thead>
            <tbody>
              {keys.items.map((k: any) => (
                <tr key={k.id}>
                  <th scope="row">
                    {k.name} <code class="mut">{k.id}</code>
                  </th>
                  <td>{k.environment}</td>
                  <td>{k.prefix ?? '—'}</td>
                  <td>{k.status}</td>
                  <td>
                    <Time at={k.lastUsedAt} />
                  </td>
                </tr>
              ))}
              {!keys.items.length && (
                <tr>
                  <td colSpan={5} class="mut">
                    No app keys.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </Wrap>
      </section>
      <section aria-labelledby="hooks-title">
        <h2 id="hooks-title">Webhooks</h2>
        {!hooks ? (
          <p class="mut">Loading…</p>
        ) : hooks.items.length ? (
          hooks.items.map((h: any) => <Webhook key={h.id} h={h} me={me} say={say} />)
        ) : (
          <p class="mut">No webhook subscriptions.</p>
        )}
      </section>
      <section aria-labelledby="templates-title">
        <h2 id="templates-title">Analysis templates</h2>
        {!templates ? (
          <p class="mut">Loading…</p>
        ) : templates.templates.length ? (
          <Wrap>
            <table>
              <caption class="sr">What bakes and checks measure (read-only here: stageline analysis-templates or the manifest change them)</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Measures</th>
                  <th scope="col">Passes when</th>
                  <th scope="col">Fails when</th>
                </tr>
              </thead>
              <tbody>
                {templates.templates.map((t: any) => (
                  <tr key={t.name}>
                    <th scope="row">{t.name}</th>
                    <td>{t.provider.type}</td>
                    <td>
                      {t.count} × {t.intervalSeconds} s{t.initialDelaySeconds ? ` after ${t.initialDelaySeconds} s` : ''}
                    </td>
                    <td>
                      <code>{t.successCondition ?? '—'}</code>
                    </td>
                    <td>
                      <code>{t.failureCondition ?? '—'}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Wrap>
        ) : (
          <p class="mut">No analysis templates.</p>
        )}
      </section>
      {users && (
        <section aria-labelledby="users-title">
          <h2 id="users-title">Users</h2>
          <Wrap>
            <table>
              <caption class="sr">Users of this tenant and their roles</caption>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Roles</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {users.items.map((u: any) => (
                  <tr key={u.id}>
                    <th scope="row">{u.email}</th>
                    <td>{u.roles.join(', ')}</td>
                    <td>{u.status}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Wrap>
          <p class="mut">
            Invite, change roles or remove with <code>stageline users …</code> or the API.
          </p>
        </section>
      )}
    </section>
  );
}

function Webhook({ h, me, say }: { h: any; me: Session; say: (tone: 'ok' | 'bad', text: string) => void }) {
  const { data } = usePoll<any>(`api/v1/webhooks/${q(h.id)}/deliveries?limit=5`, 30000);
  return (
    <article class="card" aria-label={`Webhook ${h.id}`}>
      <p>
        <strong>{new URL(h.url, location.href).host}</strong> <code class="mut">{h.id}</code> · {h.events.join(', ')} · {h.environment ?? 'all environments'} ·{' '}
        {h.enabled ? 'active' : 'disabled'}
        {h.health.status === 'failing' && <span class="bad"> · failing: {h.health.reason}</span>}
      </p>
      <ul class="plain">
        {(data?.items ?? []).map((d: any) => (
          <li key={d.id}>
            <Time at={d.createdAt ?? d.attempts?.[0]?.at} /> {d.type} <Status value={String(d.status).toUpperCase()} />{' '}
            {d.attempts?.length ? `HTTP ${d.attempts[d.attempts.length - 1].statusCode ?? '—'}` : ''}
            {may(me, 'deployer') && (
              <button
                type="button"
                class="link"
                onClick={async () => {
                  try {
                    await api('POST', `api/v1/webhooks/${q(h.id)}/deliveries/${q(d.id)}/redeliver`);
                    say('ok', `Redelivery of ${d.id} under way.`);
                  } catch (e) {
                    say('bad', `Redeliver failed: ${(e as ApiError).message}`);
                  }
                }}
              >
                Redeliver
              </button>
            )}
          </li>
        ))}
      </ul>
    </article>
  );
}
