import { useState } from 'preact/hooks';
import { api, ApiError, q } from '../api.ts';
import { Loading, PromotionLink, Status, Time, usePoll, Wrap } from '../ui.tsx';
import { subjectText } from './bundle.tsx';
import type { Session } from '../auth.ts';
import type { Say } from '../ui.tsx';
import { lazy } from '../lazy.tsx';

// The environment's settings panels load after the view itself (each a chunk: change control brings the form parts of the identity provider's).
const ChangeControlPanel = lazy(() => import('./change-control.tsx').then((m) => m.ChangeControlPanel));
const DeploymentGatePanel = lazy(() => import('./deployment-gate.tsx').then((m) => m.DeploymentGatePanel));

const KINDS: Record<string, (p: any) => boolean> = {
  all: () => true,
  promotions: (p) => p.sourceEnvironment !== p.targetEnvironment,
  rollbacks: (p) => p.sourceEnvironment === p.targetEnvironment || p.status === 'ROLLED_BACK',
  failures: (p) => ['FAILED', 'VALIDATION_FAILED', 'ROLLED_BACK', 'REJECTED', 'EXPIRED'].includes(p.status),
};

/** One environment: its history, its configs and flags (searchable), two snapshots compared, version drift, its change control. */
export function EnvironmentPage({ name, me, say }: { name: string; me: Session; say: Say }) {
  const { data: env, error } = usePoll<any>(`api/v1/environments/${q(name)}`, 15000);
  const { data: history } = usePoll<any>(`api/v1/promotions?target=${q(name)}&limit=50`);
  const { data: configs } = usePoll<any>(`api/v1/environments/${q(name)}/configs?limit=200`, 15000);
  const { data: flags } = usePoll<any>(`api/v1/environments/${q(name)}/flags?limit=200`, 15000);
  const { data: metrics } = usePoll<any>('api/v1/platform/metrics?period=week', 60000);
  const [kind, setKind] = useState('all');
  const [search, setSearch] = useState('');
  if (!env) return <Loading error={error} />;
  const items = [...(configs?.items ?? []), ...(flags?.items ?? [])].filter((i: any) => !search || i.key.toLowerCase().includes(search.toLowerCase()));
  return (
    <article aria-labelledby="env-title">
      <p class="crumbs">
        <a href="#/">Pipeline</a> › environment
      </p>
      <h1 id="env-title">
        {env.displayName || env.name} <span class="mut">{env.name}</span>
      </h1>
      <p>
        Snapshot{' '}
        <code>
          {env.name}@{env.snapshot?.seq ?? '?'}
        </code>
        {env.protected && ' · protected'}
        {env.bakeSeconds ? ` · bakes ${env.bakeSeconds} s under ${env.monitors?.length ?? 0} monitor(s)` : ''}
      </p>
      {(env.analysis?.length > 0 || env.preAnalysis?.length > 0) && (
        <p>
          {env.analysis?.length > 0 && (
            <>
              Analyses every bake runs:{' '}
              {env.analysis.map((a: any) => (
                <code key={a.template}>{a.template} </code>
              ))}
            </>
          )}
          {env.preAnalysis?.length > 0 && (
            <>
              {' '}
              · checks of the source first:{' '}
              {env.preAnalysis.map((a: any) => (
                <code key={a.template}>
                  {a.template}
                  {a.lookbackSeconds ? ` (last ${a.lookbackSeconds} s)` : ''}{' '}
                </code>
              ))}
            </>
          )}
        </p>
      )}
      {env.ciGate && (
        <p class="ci-gate">
          CI gate: a promotion executes only after{' '}
          {env.ciGate.host === 'github' ? (
            <>
              GitHub Actions workflow <code>{env.ciGate.workflow}</code> of <code>{env.ciGate.repository}</code>
            </>
          ) : (
            <>
              a GitLab pipeline of <code>{env.ciGate.repository}</code>
            </>
          )}{' '}
          succeeds on <code>{env.ciGate.ref}</code> (rejected after {env.ciGate.timeoutMinutes} min). Set with <code>stageline ci-gate set</code>.
        </p>
      )}
      <ChangeControlPanel env={name} me={me} say={say} />
      <DeploymentGatePanel env={name} />
      <section aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        <fieldset class="filters">
          <legend>Show</legend>
          {Object.keys(KINDS).map((k) => (
            <label key={k}>
              <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} /> {k}
            </label>
          ))}
        </fieldset>
        {!history ? (
          <p class="mut">Loading…</p>
        ) : (
          <ol class="timeline">
            {history.items.filter(KINDS[kind]!).map((p: any) => (
              <li key={p.id}>
                <Time at={p.completedAt ?? p.updatedAt} /> <Status value={p.status} /> <PromotionLink id={p.id} label={subjectText(p.subject)} />{' '}
                {p.sourceEnvironment === p.targetEnvironment ? 'rollback' : `from ${p.sourceEnvironment}`} <span class="mut">by {p.requestedBy.name}</span>
                {p.error && <div class="why">{p.error.message}</div>}
              </li>
            ))}
            {!history.items.filter(KINDS[kind]!).length && <li class="mut">Nothing to show.</li>}
          </ol>
        )}
      </section>
      <section aria-labelledby="items-title">
        <h2 id="items-title">Configs and flags</h2>
        <label for="search">Search keys</label>
        <input id="search" type="search" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        <Wrap>
          <table>
            <caption class="sr">Current configs and flags of {env.name}</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Kind</th>
                <th scope="col">Value</th>
                <th scope="col">Changed</th>
              </tr>
            </thead>
            <tbody>
              {items.map((i: any) => (
                <tr key={i.id}>
                  <th scope="row">
                    <code>{i.key}</code>
                  </th>
                  <td>{i.kind}</td>
                  <td>
                    <code>{JSON.stringify(i.value).slice(0, 200)}</code>
                  </td>
                  <td>
                    <Time at={i.updatedAt} /> <span class="mut">{i.updatedBy}</span>
                  </td>
                </tr>
              ))}
              {!items.length && (
                <tr>
                  <td colSpan={4} class="mut">
                    No keys{search ? ' match' : ''}.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </Wrap>
      </section>
      <Compare name={name} head={env.snapshot?.seq ?? 0} />
      <section aria-labelledby="drift-title">
        <h2 id="drift-title">Versions across environments</h2>
        {metrics ? (
          <ul class="plain">
            {metrics.versions.map((v: any) => {
              const d = metrics.drift.find((x: any) => x.environment === v.environment);
              return (
                <li key={v.environment}>
                  {v.environment}: <code>{v.imageTag ?? '—'}</code>
                  {d && <span class={d.differs ? 'wait' : 'mut'}> {d.differs ? `differs from ${d.behind}` : `same as ${d.behind}`}</span>}
                </li>
              );
            })}
          </ul>
        ) : (
          <p class="mut">Loading…</p>
        )}
      </section>
    </article>
  );
}

function Compare({ name, head }: { name: string; head: number }) {
  const [from, setFrom] = useState(String(Math.max(0, head - 1)));
  const [to, setTo] = useState(String(head));
  const [diff, setDiff] = useState<any>(null);
  const [error, setError] = useState<string | null>(null);
  const compare = async (e: Event) => {
    e.preventDefault();
    try {
      setDiff(await api('GET', `api/v1/snapshots/diff?from=${q(`${name}@${from}`)}&to=${q(`${name}@${to}`)}`));
      setError(null);
    } catch (err) {
      setError((err as ApiError).message);
    }
  };
  return (
    <section aria-labelledby="compare-title">
      <h2 id="compare-title">Compare two snapshots</h2>
      <form class="inline" onSubmit={compare}>
        <label for="from-seq">From {name}@</label>
        <input id="from-seq" inputMode="numeric" size={4} value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        <label for="to-seq">to {name}@</label>
        <input id="to-seq" inputMode="numeric" size={4} value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        <button type="submit">Compare</button>
      </form>
      {error && <p class="notice bad">{error}</p>}
      {diff && (
        <ul class="plain diff">
          {diff.added.map((a: any) => (
            <li key={`a${a.kind}${a.key}`} class="added">
              + {a.kind} <code>{a.key}</code> = <code>{JSON.stringify(a.value)}</code>
            </li>
          ))}
          {diff.modified.map((m: any) => (
            <li key={`m${m.kind}${m.key}`} class="modified">
              ~ {m.kind} <code>{m.key}</code>: <code>{JSON.stringify(m.fromValue)}</code> → <code>{JSON.stringify(m.toValue)}</code>
            </li>
          ))}
          {diff.removed.map((r: any) => (
            <li key={`r${r.kind}${r.key}`} class="removed">
              − {r.kind} <code>{r.key}</code>
            </li>
          ))}
          <li class="mut">{diff.unchanged} unchanged</li>
        </ul>
      )}
    </section>
  );
}
