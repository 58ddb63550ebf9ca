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
        {data.environments.map((e: any) => {
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
                        <PromotionLink id={p.id} /> {p.subject} <span class="mut">from {p.from}</span> <Status value={p.status} />
                        <div class="why">{p.why}</div>
                      </li>
                    ))}
                  </ul>
                </div>
              )}
              <article class={`card ${o && o.status !== 'COMPLETED' ? 'troubled' : ''}`} aria-labelledby={`stage-${e.name}`}>
                <h2 id={`stage-${e.name}`}>
                  <EnvLink name={e.name} /> {e.displayName && e.displayName !== e.name && <span class="mut">{e.displayName}</span>}
                </h2>
                <div class="badges">
                  {e.protected && <Badge>protected</Badge>}
                  {e.freeze?.current && (
                    <Badge tone="bad">
                      frozen until <Time at={e.freeze.current.end} /> ({e.freeze.current.reason})
                    </Badge>
                  )}
                  {e.autoPromotionPaused && <Badge>auto-promotion paused</Badge>}
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
                  <dt>Last promotion</dt>
                  <dd>
                    {o ? (
                      <>
                        <Status value={o.status} /> <PromotionLink id={o.id} />{' '}
                        <span class="mut">
                          {o.subject}, <Time at={o.at} />
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
    </section>
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
