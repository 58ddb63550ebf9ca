import { useState } from 'preact/hooks';
import { api, ApiError, q } from '../api.ts';
import { may, type Session } from '../auth.ts';
import { EmptyRow, Problem, useAction } from '../forms.tsx';
import { Badge, Head, Loading, PromotionLink, Status, Time, usePoll, Wrap } from '../ui.tsx';
import { AccessSettings, RightsSettings, ScimSettings } from './access.tsx';
import { AuditStreamSettings } from './audit-stream.tsx';
import { IdentityProviderSettings } from './identity-provider.tsx';

/**
 * The parts of Settings, each a page of its own (#/settings/<part>), so each reads only what it shows. `admin`: the
 * part changes what only an admin may change; others see a plain sentence instead, never its controls.
 * The identity provider (SAML/OIDC federation) and its group mapping are one admin part, "Identity provider"
 * (#/settings/identity-provider, console/views/identity-provider.tsx). Where the audit log is streamed (the tenant's
 * SIEM destinations, their lag and replay) is the admin part "Audit stream" (#/settings/audit-stream, console/views/audit-stream.tsx).
 */
const PARTS = [
  { part: '', label: 'General', admin: false },
  { part: 'access', label: 'Access', admin: true },
  { part: 'identity-provider', label: 'Identity provider', admin: true },
  { part: 'scim', label: 'SCIM', admin: true },
  { part: 'rights', label: 'Rights', admin: false },
  { part: 'notifications', label: 'Notifications', admin: false },
  { part: 'audit-stream', label: 'Audit stream', admin: true },
] as const;

/** Settings: the general page, role bindings (Access), the SCIM token, effective rights per environment, and where notifications go (an admin sets Microsoft Teams). */
export function Settings({ me, say, part = '' }: { me: Session; say: (tone: 'ok' | 'bad', text: string) => void; part?: string }) {
  const admin = may(me, 'admin');
  const here = PARTS.find((p) => p.part === part);
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <nav aria-label="Settings" class="subnav">
        {PARTS.filter((p) => admin || !p.admin).map((p) => (
          <a key={p.part} href={`#/settings${p.part ? `/${p.part}` : ''}`} aria-current={p.part === (here?.part ?? '') ? 'page' : undefined}>
            {p.label}
          </a>
        ))}
      </nav>
      {!here ? (
        <p class="notice bad">There is no settings page '{part}'. Pick one above.</p>
      ) : here.admin && !admin ? (
        <p class="notice">
          Only an admin sees and changes{' '}
          {here.part === 'scim'
            ? 'the SCIM token'
            : here.part === 'identity-provider'
              ? 'the identity provider and its group mapping'
              : here.part === 'audit-stream'
                ? 'where the audit log is streamed'
                : 'the role bindings'}
          ; you are {me.groups.join(', ') || 'bound by role bindings'}. Your own rights are under <a href="#/settings/rights">Rights</a>.
        </p>
      ) : here.part === 'access' ? (
        <AccessSettings say={say} />
      ) : here.part === 'identity-provider' ? (
        <IdentityProviderSettings me={me} say={say} />
      ) : here.part === 'scim' ? (
        <ScimSettings say={say} />
      ) : here.part === 'rights' ? (
        <RightsSettings me={me} />
      ) : here.part === 'notifications' ? (
        <Notifications me={me} say={say} />
      ) : here.part === 'audit-stream' ? (
        <AuditStreamSettings me={me} say={say} />
      ) : (
        <General me={me} say={say} />
      )}
    </section>
  );
}

/** The general settings: app keys, webhook subscriptions with their delivery log, analysis templates, recurring promotions, users (admins), and linking one's Slack account. */
function General({ me, say }: { me: Session; say: (tone: 'ok' | 'bad', text: string) => void }) {
  const { data: keys, error } = usePoll<any>('api/v1/app-keys', 30000);
  const { data: hooks } = usePoll<any>('api/v1/webhooks', 30000);
  const { data: templates } = usePoll<any>('api/v1/analysis-templates', 60000);
  const { data: users } = usePoll<any>(may(me, 'admin') ? 'api/v1/users' : null, 30000);
  const [code, setCode] = useState<any>(null);
  if (!keys) return <Loading error={error} />;
  return (
    <>
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
            <Head cols={['Name', 'Environment', 'Target', 'Prefix', 'Status', 'Last used']} />
            <tbody>
              {keys.items.map((k: any) => (
                <tr key={k.id}>
                  <th scope="row">
                    {k.name} <code class="mut">{k.id}</code>
                  </th>
                  <td>{k.environment}</td>
                  <td title={k.target ? 'reads as this target, and reports its application instances to a fleet confirmation' : undefined}>
                    {k.target ?? '—'}
                  </td>
                  <td>{k.prefix ?? '—'}</td>
                  <td>{k.status}</td>
                  <td>
                    <Time at={k.lastUsedAt} />
                  </td>
                </tr>
              ))}
              {!keys.items.length && <EmptyRow cols={6}>No app keys.</EmptyRow>}
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
              <Head cols={['Name', 'Provider', 'Measures', 'Passes when', 'Fails when']} />
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
      <Recurring />
      {users && (
        <section aria-labelledby="users-title">
          <h2 id="users-title">Users</h2>
          <Wrap>
            <table>
              <caption class="sr">Users of this tenant and their roles</caption>
              <Head cols={['Email', 'Roles', 'Status']} />
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
            Invite, change roles or remove with <code>stageline users …</code> or the API. Who may do what in which environment:{' '}
            <a href="#/settings/access">Access</a>.
          </p>
        </section>
      )}
    </>
  );
}

const DAYS = ['Sundays', 'Mondays', 'Tuesdays', 'Wednesdays', 'Thursdays', 'Fridays', 'Saturdays'];

/** A cron expression in plain words when it is a simple one (a fixed minute and hour, every day, weekdays or one weekday); otherwise null. */
export function cronInWords(cron: string): string | null {
  const [minute, hour, dom, month, dow, ...rest] = cron.trim().split(/\s+/);
  if (rest.length || dom !== '*' || month !== '*' || !/^\d{1,2}$/.test(minute ?? '') || !/^\d{1,2}$/.test(hour ?? '')) return null;
  const at = `${hour!.padStart(2, '0')}:${minute!.padStart(2, '0')}`;
  if (dow === '*') return `every day at ${at}`;
  if (dow === '1-5') return `weekdays at ${at}`;
  if (/^[0-7]$/.test(dow!)) return `${DAYS[Number(dow) % 7]} at ${at}`;
  return null;
}

/** The recurring promotions (calendars), read-only: what each promotes, when, its next time and what its last run did. */
function Recurring() {
  const { data } = usePoll<any>('api/v1/recurring-promotions', 30000);
  return (
    <section aria-labelledby="recurring-title">
      <h2 id="recurring-title">Recurring promotions</h2>
      {!data ? (
        <p class="mut">Loading…</p>
      ) : data.items.length ? (
        <Wrap>
          <table class="recurring">
            <caption class="sr">
              Promotions requested on a calendar (read-only here: stageline recurring or the manifest's recurring_promotions change them)
            </caption>
            <Head cols={['Name', 'Promotes', 'When', 'State', 'Next (UTC)', 'Last run (UTC)']} />
            <tbody>
              {data.items.map((r: any) => {
                const words = cronInWords(r.cron);
                const last = r.lastRuns[0];
                return (
                  <tr key={r.name}>
                    <th scope="row" class="nowrap">
                      {r.name}
                    </th>
                    <td>
                      <span class="nowrap">
                        {r.source} → {r.target}
                      </span>
                      {r.artifact && (
                        <>
                          <br />
                          <span class="mut nowrap">
                            artifact <code>{r.artifact}</code>
                          </span>
                        </>
                      )}
                    </td>
                    <td>
                      {words && <>{words} in </>}
                      {r.timeZone}
                      <br />
                      <code class="mut nowrap">{r.cron}</code>
                    </td>
                    <td>{r.paused ? <Badge tone="wait">paused</Badge> : <Badge tone="ok">active</Badge>}</td>
                    <td>{r.paused ? <span class="mut nowrap">none (paused)</span> : <Time at={r.next[0]} />}</td>
                    <td class="last-run">
                      {!last ? (
                        <span class="mut">not run yet</span>
                      ) : (
                        <>
                          <Time at={last.at} />{' '}
                          {last.outcome === 'promoted' ? (
                            <>promoted {last.promotionId && <PromotionLink id={last.promotionId} />}</>
                          ) : (
                            <>skipped: {last.reason ?? last.code}</>
                          )}
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Wrap>
      ) : (
        <p class="mut">
          No recurring promotions are set. Add one with <code>stageline recurring …</code> or under <code>recurring_promotions</code> in the manifest.
        </p>
      )}
      {data?.items.length > 0 && (
        <p class="mut">
          Add, change, pause or remove with <code>stageline recurring …</code> or <code>recurring_promotions</code> in the manifest.
        </p>
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

/**
 * Where notifications go, tenant-wide: each channel as the API shows it (webhooks masked: origin and an ellipsis).
 * An admin sets the Teams Workflows webhook in a secret field (never filled with the stored value) or turns Teams
 * off; each save sends Teams alone, so the other channels are kept as they are.
 */
function Notifications({ me, say }: { me: Session; say: (tone: 'ok' | 'bad', text: string) => void }) {
  const { data, reload } = usePoll<any>('api/v1/notifications', 30000);
  const [url, setUrl] = useState('');
  // Its buttons never waited for the answer (busy is left unused); a refusal reads as the API's words alone.
  const [run, , problem] = useAction();
  if (!data) return null;
  const put = (teams: { webhook: string } | null) =>
    run(
      (e) => e.message,
      () => api('PUT', 'api/v1/notifications', { teams }),
      () => {
        setUrl('');
        say('ok', teams ? 'Teams webhook saved.' : 'Teams turned off.');
        return reload();
      },
    );
  return (
    <section aria-labelledby="notify-title">
      <h2 id="notify-title">Notifications</h2>
      <ul>
        <li>Slack: {data.slack ? `${data.slack.webhook} ${data.slack.channels.join(' ')}` : 'off'}</li>
        <li>Teams: {data.teams ? data.teams.webhook : 'off'}</li>
        <li>Email: {data.email ? [...data.email.recipients, ...(data.email.approvers ? ['the eligible approvers'] : [])].join(', ') || '—' : 'off'}</li>
      </ul>
      {may(me, 'admin') && (
        <form
          class="filters-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (url.trim()) void put({ webhook: url.trim() });
          }}
        >
          <p>
            <label for="teams-webhook">Teams Workflows webhook URL</label>{' '}
            <input
              id="teams-webhook"
              type="password"
              autocomplete="off"
              spellcheck={false}
              aria-describedby="teams-help"
              placeholder={data.teams ? data.teams.webhook : 'https://….logic.azure.com/workflows/…'}
              value={url}
              onInput={(e) => setUrl((e.target as HTMLInputElement).value)}
            />{' '}
            <button type="submit">Save Teams webhook</button>{' '}
            {data.teams && (
              <button type="button" onClick={() => void put(null)}>
                Turn Teams off
              </button>
            )}
          </p>
          <p id="teams-help" class="mut">
            From a “When a Teams webhook request is received” workflow, on *.logic.azure.com or *.environment.api.powerplatform.com. Its signature is a secret:
            it is stored sealed and never shown again.
          </p>
          <Problem text={problem} />
        </form>
      )}
    </section>
  );
}
