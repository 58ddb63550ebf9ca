import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, q } from '../api.ts';
import { may, type Session } from '../auth.ts';
import { Status, Time, Wrap } from '../ui.tsx';
import { lazy } from '../lazy.tsx';

import { FILTER_STATES, NO_FILTER, PAGE, countsOf, useRolloutPage, type Filter } from './rollout-page.ts';

// The charts (uPlot) load when there is something to chart: a chunk of their own.
const Analyses = lazy(() => import('./analysis.tsx').then((m) => m.Analyses));

type Say = (tone: 'ok' | 'bad', text: string) => void;

/** Seconds as a person reads a countdown: 45s, 3m 05s, 2h 10m. */
export function duration(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
const left = (iso: string | null | undefined, now: number) => (iso ? Math.max(0, Math.round((new Date(iso).getTime() - now) / 1000)) : null);

const MODE: Record<string, string> = {
  immediate: 'served by Stageline',
  callback: "the deployer's confirmation",
  health: 'its health URL',
  argocd: 'its Argo CD application (Synced at the delivered commit, Healthy)',
  flux: 'its Flux Kustomization (Ready at the delivered commit)',
  fleet: 'its instances',
};

/**
 * A rollout through the environment's targets: where it stands (rolling out, halted and by whom, waiting
 * for a start window), a row per wave with its counts per state and a progress bar, then the targets a page
 * at a time (rollout-page.ts: at most 50 rows, whatever the fleet), filtered by state, wave, name and label,
 * each with its state, when it was changed and confirmed, its bake window (a countdown while it bakes) and
 * the alarm or error that stopped it. Halt, resume and a callback target's Confirm are offered to deployers
 * (and admins), through the same routes as the CLI.
 */
export function Rollout({ p, me, say, reload }: { p: any; me: Session; say: Say; reload: () => void }) {
  const r = p.rollout;
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [draft, setDraft] = useState<Filter>(NO_FILTER);
  const [filter, setFilter] = useState<Filter>(NO_FILTER);
  const { page, error, next, prev } = useRolloutPage(p, filter);
  const counts = r.waves.map((w: any) => countsOf(w));
  const ticking = counts.some((c: any) => (c.states.BAKING ?? 0) + (c.states.CONFIRMING ?? 0) > 0) || !!r.waiting;
  useEffect(() => {
    if (!ticking) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ticking]);
  const deployer = may(me, 'deployer');
  const running = p.status === 'EXECUTING';
  /** a target still pending when the rollout ended was never started (a rollback stops before later waves) */
  const finished = ['COMPLETED', 'ROLLED_BACK', 'FAILED'].includes(r.phase);
  const act = async (label: string, path: string, body: unknown, after: (res: any) => string) => {
    setBusy(true);
    try {
      const res = await api('POST', `api/v1/promotions/${q(p.id)}${path}`, body);
      say('ok', after(res));
      setReason('');
      reload();
    } catch (e) {
      say('bad', `${label} failed: ${(e as ApiError).message}`);
    } finally {
      setBusy(false);
    }
  };
  const count = counts.reduce((n: number, c: any) => n + c.total, 0);
  // Before it executes, a rollout has no plan yet: say what will happen rather than an empty table.
  if (r.waves.length === 0)
    return (
      <section aria-labelledby="rollout-title">
        <h2 id="rollout-title">Targets</h2>
        <p class="mut">
          {p.targetEnvironment} has targets: when this promotion executes, it rolls out through them wave by wave (the plan is made when it starts).
        </p>
      </section>
    );
  const set = (k: keyof Filter) => (e: Event) => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value });
  const filtered = filter.state || filter.wave || filter.name || filter.label;
  const shown = page
    ? page.to
      ? `Targets ${page.from}–${page.to}${page.matching !== null ? ` of ${page.matching}` : ''}`
      : 'No target matches'
    : 'Loading targets…';
  const pager = (where: string) => (
    <nav class="pager" aria-label={`Pages of targets (${where})`}>
      <button type="button" disabled={!page?.hasPrev} onClick={prev}>
        Previous {PAGE}
      </button>
      <button type="button" disabled={!page?.hasNext} onClick={next}>
        Next {PAGE}
      </button>
    </nav>
  );
  return (
    <section aria-labelledby="rollout-title">
      <h2 id="rollout-title">Targets</h2>
      <p>
        <Status value={r.phase} />
        {r.phase === 'ROLLING_OUT' && r.wave > 0 && (
          <>
            {' '}
            · wave {r.wave} of {r.waves.length}
          </>
        )}
      </p>
      {r.halted && (
        <p class="why-box">
          Halted by {r.halted.by} <Time at={r.halted.at} /> before wave {r.wave + 1}: {r.halted.reason}. What is done stays; resuming starts the next wave.
        </p>
      )}
      {r.waiting && (
        <p class="why-box">
          {r.waiting.reason}: waits until <Time at={r.waiting.until} /> UTC ({duration(left(r.waiting.until, now) ?? 0)} left).
        </p>
      )}
      <Wrap>
        <table class="waves stacked">
          <caption class="mut">Waves: how many targets each has, and where they stand</caption>
          <thead>
            <tr>
              <th scope="col">Wave</th>
              <th scope="col">Targets</th>
              <th scope="col">Done</th>
              <th scope="col">Confirming or baking</th>
              <th scope="col">Pending</th>
              <th scope="col">Failed or rolled back</th>
              <th scope="col">Progress</th>
            </tr>
          </thead>
          <tbody>
            {r.waves.map((w: any, i: number) => {
              const c = counts[i];
              const s = (k: string) => c.states[k] ?? 0;
              const done = s('DONE');
              const troubled = s('FAILED') + s('ROLLED_BACK');
              return (
                <tr key={w.wave} class={troubled ? 'troubled' : ''}>
                  <th scope="row">
                    {w.wave}
                    {w.wave === r.wave && r.phase === 'ROLLING_OUT' ? <span class="mut"> (running)</span> : null}
                  </th>
                  <td data-label="Targets">{c.total}</td>
                  <td data-label="Done">{done}</td>
                  <td data-label="Confirming or baking">{s('CONFIRMING') + s('BAKING')}</td>
                  <td data-label="Pending">{s('PENDING') + s('SKIPPED')}</td>
                  <td data-label="Failed or rolled back" class={troubled ? 'bad' : ''}>
                    {troubled}
                  </td>
                  <td data-label="Progress">
                    <progress max={c.total || 1} value={done} aria-label={`Wave ${w.wave}: ${done} of ${c.total} done`} />{' '}
                    {c.total ? Math.floor((done / c.total) * 100) : 0} %
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Wrap>
      <form
        class="filters-form rollout-filters"
        aria-label="Filter the targets"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ ...draft, name: draft.name.trim(), label: draft.label.trim() });
        }}
      >
        <div>
          <label for="rf-state">State</label>
          <select id="rf-state" value={draft.state} onChange={set('state')}>
            <option value="">any</option>
            {FILTER_STATES.map((s) => (
              <option key={s} value={s}>
                {s.replace(/_/g, ' ').toLowerCase()}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="rf-wave">Wave</label>
          <select id="rf-wave" value={draft.wave} onChange={set('wave')}>
            <option value="">any</option>
            {r.waves.map((w: any) => (
              <option key={w.wave} value={String(w.wave)}>
                {w.wave}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="rf-name">Name (glob: cell-1*)</label>
          <input id="rf-name" value={draft.name} maxLength={64} onInput={set('name')} />
        </div>
        <div>
          <label for="rf-label">Label (key=glob: region=eu-*)</label>
          <input id="rf-label" value={draft.label} maxLength={200} onInput={set('label')} />
        </div>
        <div class="buttons">
          <button type="submit">Filter</button>
          {filtered ? (
            <button
              type="button"
              class="link"
              onClick={() => {
                setDraft(NO_FILTER);
                setFilter(NO_FILTER);
              }}
            >
              Clear
            </button>
          ) : null}
        </div>
      </form>
      {error && <p class="notice bad">The targets could not be read: {error}</p>}
      <p class="mut pager-status" role="status" aria-live="polite">
        {shown}
        {filtered ? ' matching the filter' : ''}, {PAGE} at a time.
      </p>
      {pager('top')}
      <Wrap>
        <table class="rollout">
          <caption class="mut">
            {count} target{count === 1 ? '' : 's'} in {r.waves.length} wave{r.waves.length === 1 ? '' : 's'}: state, timings (UTC) and alarms
          </caption>
          <thead>
            <tr>
              <th scope="col">Wave</th>
              <th scope="col">Target</th>
              <th scope="col">State</th>
              <th scope="col">Applied</th>
              <th scope="col">Confirmed</th>
              <th scope="col">Bake</th>
              <th scope="col">Alarm</th>
            </tr>
          </thead>
          {(page?.waves ?? []).map((w) => (
            <tbody key={w.wave}>
              {w.targets.map((t: any, i: number) => (
                <tr key={t.name} class={t.alarm || t.error ? 'troubled' : ''}>
                  {i === 0 && (
                    <th scope="rowgroup" rowSpan={w.targets.length} data-label="Wave">
                      {w.wave}
                      <span class="mut sub">bake {duration(w.bakeSeconds)}</span>
                    </th>
                  )}
                  <th scope="row">{t.name}</th>
                  <td data-label="State">
                    <Status value={t.state === 'PENDING' && finished ? 'NOT_STARTED' : t.state} />
                    {deployer && running && t.state === 'CONFIRMING' && t.confirmation?.mode === 'callback' && left(t.confirmation.deadline, now) !== 0 && (
                      <button
                        type="button"
                        class="primary small"
                        disabled={busy}
                        onClick={() =>
                          act(`Confirm ${t.name}`, `/targets/${q(t.name)}/confirm`, {}, (res) => `Confirmed ${res.target}: ${String(res.state).toLowerCase()}.`)
                        }
                      >
                        Confirm {t.name}
                      </button>
                    )}
                  </td>
                  <td data-label="Applied" class={t.appliedAt ? '' : 'empty'}>
                    <Time at={t.appliedAt} />
                    {t.rolledBackAt && (
                      <span class="sub">
                        rolled back <Time at={t.rolledBackAt} />
                      </span>
                    )}
                    <Delivery t={t} />
                  </td>
                  <td data-label="Confirmed" class={t.confirmation ? '' : 'empty'}>
                    {t.confirmation?.at ? (
                      <>
                        <Time at={t.confirmation.at} />
                        <span class="mut sub">{t.confirmation.by ? `by ${t.confirmation.by}` : MODE[t.confirmation.mode]}</span>
                        <Fleet c={t.confirmation} />
                        {(t.confirmation.mode === 'argocd' || t.confirmation.mode === 'flux') && t.confirmation.detail && (
                          <span class="mut sub" title={t.confirmation.detail}>
                            {t.confirmation.mode === 'argocd' ? 'Argo CD' : 'Flux'}:{' '}
                            {t.confirmation.detail.replace(/^(Argo CD application|Flux Kustomization) \S+ is /, '')}
                          </span>
                        )}
                      </>
                    ) : t.confirmation && t.state === 'CONFIRMING' ? (
                      <span class="wait">
                        waits for {MODE[t.confirmation.mode] ?? t.confirmation.mode}
                        {t.confirmation.deadline && <> ({duration(left(t.confirmation.deadline, now) ?? 0)} left)</>}
                        <Fleet c={t.confirmation} />
                      </span>
                    ) : (
                      <span class="mut">—</span>
                    )}
                  </td>
                  <td data-label="Bake" class={t.bake || t.state === 'BAKING' ? '' : 'empty'}>
                    {t.bake ? (
                      <>
                        <Time at={t.bake.from} /> → <Time at={t.bake.until} />
                        {t.state === 'BAKING' && <span class="wait sub">{duration(left(t.bake.until, now) ?? 0)} left</span>}
                        {t.bake.monitors?.length > 0 && <span class="mut sub">under {t.bake.monitors.map(alarmName).join(', ')}</span>}
                      </>
                    ) : t.state === 'BAKING' ? (
                      // Confirmed, its bake window not written yet: it ends the wave's bake after the confirmation (as the CLI counts).
                      <span class="wait">{duration(left(bakeEnd(t, w.bakeSeconds), now) ?? 0)} left</span>
                    ) : (
                      <span class="mut">—</span>
                    )}
                  </td>
                  <td data-label="Alarm" class={t.alarm || t.error || t.appliedAt ? '' : 'empty'}>
                    {t.alarm ? (
                      <span class="bad">
                        {t.alarm.name}: {t.alarm.reason} <Time at={t.alarm.at} />
                      </span>
                    ) : t.error ? (
                      <span class="bad">{t.error}</span>
                    ) : (
                      <span class="mut">none</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          ))}
        </table>
      </Wrap>
      {page && (page.hasPrev || page.hasNext) ? pager('bottom') : null}
      <Analyses rollout={{ waves: page?.waves ?? [] }} />
      {deployer && running && (
        <form class="action rollout-actions" onSubmit={(e) => e.preventDefault()}>
          {r.halted ? (
            <div class="buttons">
              <button
                type="button"
                class="primary"
                disabled={busy}
                onClick={() => act('Resume', '/resume', {}, () => `Resumed ${p.id}: the next wave starts.`)}
              >
                Resume the rollout
              </button>
            </div>
          ) : (
            <>
              <label for="halt-reason">Why halt (kept in the audit trail; optional)</label>
              <input id="halt-reason" class="wide" maxLength={1000} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
              <div class="buttons">
                <button
                  type="button"
                  class="danger"
                  disabled={busy}
                  onClick={() =>
                    act('Halt', '/halt', reason.trim() ? { reason: reason.trim() } : {}, () => `Halted ${p.id}: no further wave starts until it is resumed.`)
                  }
                >
                  Halt before the next wave
                </button>
              </div>
            </>
          )}
        </form>
      )}
    </section>
  );
}

/**
 * What was delivered for a target: its own git file's commit (short; the file in the title) and its tag in its
 * registry, with what a rollback put back — or that it could not, and why.
 */
function Delivery({ t }: { t: any }) {
  const git = t.git;
  const reg = t.registry;
  if (!git && !reg) return null;
  return (
    <>
      {git && (
        <span class="mut sub" title={git.file}>
          git <code>{git.commit ? git.commit.slice(0, 7) : 'none'}</code>
          {git.changed ? '' : ' (held it)'}
          {git.revert &&
            (git.revert.commit ? (
              <>
                {' '}
                → reverted <code>{git.revert.commit.slice(0, 7)}</code>
              </>
            ) : (
              <span class="bad"> not reverted: {git.revert.error}</span>
            ))}
        </span>
      )}
      {reg && (
        <span class="mut sub">
          tag <code>{reg.tag}</code> in {reg.registry}
          {reg.revert && (reg.revert.digest ? <> → back to {reg.revert.digest.slice(7, 19)}</> : <span class="bad"> left: {reg.revert.reason}</span>)}
        </span>
      )}
    </>
  );
}

const bakeEnd = (t: any, bakeSeconds: number) => {
  const from = t.confirmation?.at ?? t.appliedAt;
  return from ? new Date(new Date(from).getTime() + bakeSeconds * 1000).toISOString() : null;
};

/** An alarm's name from its ARN (the name is what a person knows it by). */
const alarmName = (arn: string) => arn.split(':alarm:')[1] ?? arn;

/**
 * A fleet target's convergence: how many of its instances run the release, of those seen ("9/10"), as a
 * meter against the share it needs, and the instances over the cap that were not counted; nothing before the
 * first count or for another mode.
 */
function Fleet({ c }: { c: any }) {
  const f = c?.mode === 'fleet' ? c.fleet : null;
  if (!f) return null;
  const pct = Math.floor(f.share * 100 + 1e-9);
  return (
    <span class="sub fleet" title={c.detail ?? undefined}>
      <meter min={0} max={1} low={f.minShare} optimum={1} value={f.share} aria-label={`${f.took} of ${f.seen} instances run the release`} /> {f.took}/{f.seen}{' '}
      instances ({pct} %, needs {Math.round(f.minShare * 100)} %)
      {f.over ? (
        <>
          {' '}
          <strong class="bad">
            {f.over} over the cap of {f.cap} not counted
          </strong>
        </>
      ) : null}
    </span>
  );
}
