import { useState } from 'preact/hooks';
import { ENTITY_TYPES } from '../../domain/kernel/entity-types.ts';
import { ApiError } from '../api.ts';
import { session } from '../auth.ts';
import { Loading, Time, usePoll, Wrap } from '../ui.tsx';

const TYPES = ['', ...ENTITY_TYPES];

/** The audit trail: filtered by entity, actor and time; the chain's verification state; an export. */
export function Audit({ say }: { say: (tone: 'ok' | 'bad', text: string) => void }) {
  const [filters, setFilters] = useState({ entityType: '', entityId: '', actor: '', from: '' });
  const [applied, setApplied] = useState(filters);
  const query = new URLSearchParams({ limit: '100' });
  if (applied.entityType) query.set('entityType', applied.entityType);
  if (applied.entityType && applied.entityId) query.set('entityId', applied.entityId);
  if (applied.actor) query.set('actor', applied.actor);
  if (applied.from) query.set('from', new Date(applied.from).toISOString());
  const { data, error } = usePoll<any>(`api/v1/audit?${query}`, 15000);
  const { data: verify } = usePoll<any>('api/v1/audit/verify', 60000);
  const set = (k: keyof typeof filters) => (e: Event) => setFilters({ ...filters, [k]: (e.target as HTMLInputElement).value });
  const exportChain = async () => {
    try {
      const res = await fetch('api/v1/audit/export', { headers: { authorization: `Bearer ${session()?.token ?? ''}` }, credentials: 'omit' });
      if (!res.ok) throw new ApiError(res.status, `HTTP ${res.status}`, null);
      const a = document.createElement('a');
      a.href = URL.createObjectURL(await res.blob());
      a.download = 'audit.jsonl';
      a.click();
    } catch (e) {
      say('bad', `Export failed: ${(e as ApiError).message}`);
    }
  };
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit trail</h1>
      <p>
        {verify ? (
          verify.ok ? (
            <span class="ok">
              Chain intact: {verify.checked} entries linked, {verify.checkpoints.count} signed checkpoints
              {verify.pending ? `, ${verify.pending} entries not linked yet` : ''}.
            </span>
          ) : (
            <span class="bad">Chain broken at entry {JSON.stringify(verify.firstBroken ?? '')}</span>
          )
        ) : (
          <span class="mut">Verifying the chain…</span>
        )}{' '}
        <button type="button" class="link" onClick={exportChain}>
          Export (JSON Lines, verifiable offline)
        </button>
      </p>
      <form class="filters-form" onSubmit={(e) => (e.preventDefault(), setApplied(filters))}>
        <div>
          <label for="f-type">Entity type</label>
          <select id="f-type" value={filters.entityType} onChange={set('entityType')}>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {t || 'any'}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-id">Entity id</label>
          <input id="f-id" value={filters.entityId} onInput={set('entityId')} />
        </div>
        <div>
          <label for="f-actor">Actor</label>
          <input id="f-actor" value={filters.actor} onInput={set('actor')} />
        </div>
        <div>
          <label for="f-from">Since</label>
          <input id="f-from" type="datetime-local" value={filters.from} onInput={set('from')} />
        </div>
        <div>
          <button type="submit">Filter</button>
        </div>
      </form>
      {!data ? (
        <Loading error={error} />
      ) : (
        <Wrap>
          <table>
            <caption class="sr">Audit entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When (UTC)</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">What</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((a: any) => (
                <tr key={a.id}>
                  <td>
                    <Time at={a.at} />
                  </td>
                  <td>{a.actorName}</td>
                  <td>
                    <code>{a.action}</code>
                    {a.via ? <span class="mut"> via {a.via.channel ?? 'link'}</span> : null}
                  </td>
                  <td>{a.entityType === 'promotion' ? <a href={`#/promotions/${a.entityId}`}>{a.entityId}</a> : `${a.entityType} ${a.entityId}`}</td>
                  <td>{a.reason ?? ''}</td>
                </tr>
              ))}
              {!data.items.length && (
                <tr>
                  <td colSpan={5} class="mut">
                    No entries match.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </Wrap>
      )}
    </section>
  );
}
