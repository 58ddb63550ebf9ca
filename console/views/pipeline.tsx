import { labelText } from './bundle.tsx';
import { changeStateName } from '../../domain/change/servicenow-states.ts';
import { Badge, EnvLink, Loading, PromotionLink, Status, Time, usePoll } from '../ui.tsx';

/** Home: the line of environments as stages — what runs, how the last promotion ended, guards — and what waits to enter each. */
export function Pipeline() {
  const { data, error } = usePoll<any>('api/v1/status');
  if (!data) return <Loading error={error} />;
  return (
    <section aria-labelledby="pipeline-title">
      <h1 id="pipeline-title">Pipeline</h1>
      {error && <p class="notice bad">Not refreshed: {error}</p>}
      <ol class="stages">
        {levels(data.environments).map((level) => (
          <li class="level" key={level.map((e: any) => e.name).join(' ')}>
            <ol
              class={level.length > 1 ? 'branches' : 'plain-list'}
              aria-label={level.length > 1 ? `in parallel: ${level.map((e: any) => e.name).join(', ')}` : undefined}
            >
              {level.map((e: any) => {
                const waiting = data.pending.filter((p: any) => p.to === e.name);
                const o = e.lastOutcome;
                return (
                  <li class="stage" key={e.name}>
                    {waiting.length > 0 && (
                      <div class="between">
                        <h3>Waiting to enter {e.name}</h3>
                        <ul>
                          {waiting.map((p: any) => (
                            <li key={p.id}>
                              <PromotionLink id={p.id} label={labelText(p.subject)} /> <span class="mut">from {p.from}</span> <Status value={p.status} />
                              {p.changeRequest?.number && (
                                <>
                                  {' '}
                                  <a class="mut" href={p.changeRequest.url} rel="noopener noreferrer" target="_blank">
                                    {p.changeRequest.number}
                                  </a>
                                  {p.changeRequest.state && <span class="mut"> ({changeStateName(p.changeRequest.state)})</span>}
                                </>
                              )}
                              <div class="why">{p.behind ? <Behind id={p.behind} why={p.why} /> : p.why}</div>
                            </li>
                          ))}
                        </ul>
                      </div>
                    )}
                    <article class={`card ${o && o.status !== 'COMPLETED' ? 'troubled' : ''}`} aria-labelledby={`stage-${e.name}`}>
                      <h2 id={`stage-${e.name}`}>
                        <EnvLink name={e.name} /> {e.displayName && e.displayName !== e.name && <span class="mut">{e.displayName}</span>}
                      </h2>
                      {e.after?.length > 0 && (
                        <p class="mut after">
                          after {e.after.join(e.afterMode === 'any' ? ' or ' : ' and ')}
                          {e.after.length > 1 ? (e.afterMode === 'any' ? ' (any one)' : ' (all)') : ''}
                        </p>
                      )}
                      <div class="badges">
                        {e.protected && <Badge>protected</Badge>}
                        {e.freeze?.current && (
                          <Badge tone="bad">
                            frozen until <Time at={e.freeze.current.end} /> ({e.freeze.current.reason})
                          </Badge>
                        )}
                        {e.autoPromotionPaused && <Badge>auto-promotion paused</Badge>}
                        {e.requireAttestationFrom?.length > 0 && (
                          <Badge>
                            <span title="a release enters only with a signed, verifying verification summary (SLSA VSA) from each">
                              attested in {e.requireAttestationFrom.join(' and ')}
                            </span>
                          </Badge>
                        )}
                        {e.lastBreakGlass && <Badge tone="wait">break-glass by {e.lastBreakGlass.by}</Badge>}
                      </div>
                      <dl>
                        <dt>Runs</dt>
                        <dd>
                          {e.artifacts.length ? (
                            <ul class="plain">
                              {e.artifacts.map((a: any) => (
                                <li key={a.artifact}>
                                  {a.restored ? 'Restored ' : ''}
                                  {a.artifact} <code>{a.version}</code> <Provenance by={a.promotedBy} at={a.promotedAt} restored={a.restored} />
                                </li>
                              ))}
                            </ul>
                          ) : (
                            <span class="mut">no artifact</span>
                          )}
                        </dd>
                        <dt>Config</dt>
                        <dd>
                          {e.config.restored ? 'Restored ' : ''}
                          <code>{e.config.snapshot}</code>{' '}
                          <span class="mut">
                            {e.config.items} item{e.config.items === 1 ? '' : 's'}
                          </span>
                          {e.config.restored && (
                            <>
                              {' '}
                              <Provenance restored={e.config.restored} />
                            </>
                          )}
                        </dd>
                        {e.targets > 0 && <Targets env={e.name} />}
                        <dt>Last promotion</dt>
                        <dd>
                          {o ? (
                            <>
                              <Status value={o.status} /> <PromotionLink id={o.id} label={labelText(o.subject)} />{' '}
                              <span class="mut">
                                <Time at={o.at} />
                              </span>
                              {o.reason && <div class="why">{o.reason}</div>}
                            </>
                          ) : (
                            <span class="mut">none yet</span>
                          )}
                        </dd>
                      </dl>
                    </article>
                  </li>
                );
              })}
            </ol>
          </li>
        ))}
      </ol>
    </section>
  );
}

/**
 * The line's graph as columns: an environment is one column after the furthest of those it comes after
 * (its `after`, or the one before it), so branches (qa, perf after dev) stand side by side in one column
 * and a join (production after both) in the next. A line without `after` is one environment a column, as before.
 */
function levels(envs: any[]): any[][] {
  const depth = new Map<string, number>();
  envs.forEach((e, i) => {
    const before = e.after?.length ? e.after : i > 0 ? [envs[i - 1].name] : [];
    depth.set(e.name, before.length ? Math.max(...before.map((b: string) => depth.get(b) ?? 0)) + 1 : 0);
  });
  const out: any[][] = [];
  for (const e of envs) (out[depth.get(e.name)!] ??= []).push(e);
  return out.filter(Boolean);
}

/** Queued behind another promotion: "waits for promotion <link>, rolling out into production (wave 2 of 3); …". */
function Behind({ id, why }: { id: string; why: string }) {
  const prefix = `waits for promotion ${id}`;
  return why.startsWith(prefix) ? (
    <>
      waits for promotion <PromotionLink id={id} />
      {why.slice(prefix.length)}
    </>
  ) : (
    <>
      queued behind <PromotionLink id={id} />: {why}
    </>
  );
}

/**
 * Who put it there: a person or the pipeline ("by bob, 2 h ago"), or the rollback that put it back and why
 * ("by rollback prm_… (alarm p99-latency …)") — a restored version must not read like a deployment.
 */
function Provenance({ by, at, restored }: { by?: string; at?: string; restored?: { promotionId: string; reason: string } | null }) {
  if (restored)
    return (
      <span class="mut">
        by rollback <PromotionLink id={restored.promotionId} /> ({restored.reason})
        {at && (
          <>
            , <Time at={at} />
          </>
        )}
      </span>
    );
  return (
    <span class="mut">
      by {by}, <Time at={at!} />
    </span>
  );
}

/**
 * An environment's targets grouped by wave, a row per target with the config snapshot and the versions
 * it runs (marked "ahead" while a rollout has changed it and the environment has not caught up). Shown
 * only for an environment that declares targets; polled less often than the line (a 304 when nothing moved).
 */
function Targets({ env }: { env: string }) {
  const { data } = usePoll<any>(`api/v1/environments/${encodeURIComponent(env)}/targets`, 15000);
  if (!data || data.waves.length === 0 || data.waves[0].targets[0]?.implicit) return null;
  const count = data.waves.reduce((n: number, w: any) => n + w.targets.length, 0);
  return (
    <>
      <dt class="wide">Targets</dt>
      <dd class="wide">
        <table class="targets">
          <caption class="mut">
            {count} target{count === 1 ? '' : 's'} in {data.waves.length} wave{data.waves.length === 1 ? '' : 's'}
          </caption>
          <thead>
            <tr>
              <th scope="col">Wave</th>
              <th scope="col">Target</th>
              <th scope="col">Runs</th>
            </tr>
          </thead>
          {data.waves.map((w: any) => (
            <tbody key={w.wave}>
              {w.targets.map((t: any, i: number) => (
                <tr key={t.name}>
                  {i === 0 && (
                    <th scope="rowgroup" rowSpan={w.targets.length}>
                      {w.wave}
                      {w.pause && (
                        <>
                          {' '}
                          <Badge tone="wait">pauses first</Badge>
                        </>
                      )}
                    </th>
                  )}
                  <td>{t.name}</td>
                  <td>
                    <code>
                      {env}@{t.config.seq}
                    </code>{' '}
                    {t.artifacts.map((a: any) => (
                      <span key={a.name}>
                        {a.name} <code>{a.version}</code>{' '}
                      </span>
                    ))}
                    {(t.config.own || t.artifacts.some((a: any) => a.own)) && <Badge tone="wait">ahead</Badge>}
                  </td>
                </tr>
              ))}
            </tbody>
          ))}
        </table>
      </dd>
    </>
  );
}
