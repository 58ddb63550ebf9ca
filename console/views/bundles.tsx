import { q } from '../api.ts';
import { Badge, Loading, Time, usePoll } from '../ui.tsx';
import { scope, short } from './bundle.tsx';

/**
 * Release bundles: per bundle its newest version (members, configuration part) and which environments run
 * it. Read-only: bundles are created and promoted with the CLI (or the API), as the page says.
 */
export function Bundles() {
  const { data, error } = usePoll<any>('api/v1/bundles', 30000);
  if (!data) return <Loading error={error} />;
  // The API lists every version, newest first: a bundle is shown once, as its newest.
  const latest = new Map<string, { bundle: any; versions: number }>();
  for (const b of data.bundles) {
    const seen = latest.get(b.name);
    if (seen) seen.versions++;
    else latest.set(b.name, { bundle: b, versions: 1 });
  }
  return (
    <section aria-labelledby="bundles-title">
      <h1 id="bundles-title">Bundles</h1>
      <p>Several artifact versions, and optionally a configuration snapshot, promoted as one unit under one digest.</p>
      {error && <p class="notice bad">Not refreshed: {error}</p>}
      {latest.size === 0 ? (
        <p class="why-box">
          No bundles yet. Create one from what an environment runs: <code>stageline bundles create --name checkout --from dev --config</code>
        </p>
      ) : (
        [...latest.values()].map(({ bundle, versions }) => <Bundle key={bundle.name} b={bundle} versions={versions} />)
      )}
    </section>
  );
}

const RUNS: Record<string, [string, string]> = { newest: ['ok', 'the newest'], older: ['wait', 'an older version'], none: ['', 'not running it'] };

function Bundle({ b, versions }: { b: any; versions: number }) {
  const { data } = usePoll<any>(`api/v1/bundles/${q(b.name)}`, 30000);
  const envs: { environment: string; digest: string | null }[] = data?.environments ?? [];
  const runs = (e: { digest: string | null }) => (e.digest === b.digest ? 'newest' : e.digest ? 'older' : 'none');
  // Where to bring it next: the first environment after one that runs it (or the first of the line).
  const first = envs.findIndex((e) => e.digest === b.digest);
  const next = envs.find((e, i) => i > first && e.digest !== b.digest);
  return (
    <article class="card bundle" aria-label={`Bundle ${b.name}`}>
      <h2>
        {b.name} <code title={b.digest}>{short(b.digest)}</code>
      </h2>
      <p class="mut">
        Created by {b.createdBy}, <Time at={b.createdAt} /> UTC{b.from && `, from what ${b.from} ran`}
        {versions > 1 && ` · the newest of ${versions} versions`}
      </p>
      {b.notes && <p>{b.notes}</p>}
      <dl>
        <dt>Members</dt>
        <dd>
          {b.members.map((m: any, i: number) => (
            <span key={m.name} class="nowrap">
              {i > 0 && ', '}
              {m.name} <code title={m.digest}>{m.version}</code>
            </span>
          ))}
        </dd>
        <dt>Configuration</dt>
        <dd>
          {b.config ? (
            <>
              <code>
                {b.config.environment}@{b.config.seq}
              </code>{' '}
              ({scope(b.config)})
            </>
          ) : (
            <span class="mut">none</span>
          )}
        </dd>
        <dt>Runs in</dt>
        <dd>
          {data
            ? envs.map((e) => (
                <Badge key={e.environment} tone={RUNS[runs(e)]![0]}>
                  {e.environment}: {RUNS[runs(e)]![1]}
                </Badge>
              ))
            : 'Loading…'}
        </dd>
      </dl>
      {next && (
        <p class="promote-hint">
          Promote it into {next.environment}:{' '}
          <code>
            stageline promote --bundle {b.name} --to {next.environment}
          </code>
        </p>
      )}
    </article>
  );
}
