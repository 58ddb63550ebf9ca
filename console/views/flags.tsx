import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, NOT_MODIFIED, q, revalidate } from '../api.ts';
import { may, type Session } from '../auth.ts';
import { EnvLink, Loading, usePoll, Wrap, type Say } from '../ui.tsx';

const shown = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v).slice(0, 120));
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Each flag across the line of environments, and a promotion of one flag from where it differs. */
export function Flags({ me, say }: { me: Session; say: Say }) {
  const { data: envs, error } = usePoll<any>('api/v1/environments', 60000);
  const [flags, setFlags] = useState<Record<string, any[]> | null>(null);
  const [busy, setBusy] = useState(false);
  const line: any[] = envs ? [...envs.items].sort((a: any, b: any) => a.position - b.position) : [];
  const names = line.map((e) => e.name).join(',');
  /** The flags shown per environment with their ETags: a refresh that finds nothing new (304s) changes nothing. */
  const held = useRef<Record<string, { etag: string | null; items: any[] }>>({});
  useEffect(() => {
    if (!names) return;
    let live = true;
    const load = async () => {
      try {
        let changed = Object.keys(held.current).join(',') !== names;
        const all = await Promise.all(
          names.split(',').map(async (n) => {
            const mine = held.current[n];
            const r = await revalidate<any>(`api/v1/environments/${q(n)}/flags?limit=200`, mine?.etag ?? null);
            if (r === NOT_MODIFIED && mine) return [n, mine] as const;
            changed = true;
            return [n, r === NOT_MODIFIED ? { etag: null, items: [] } : { etag: r.etag, items: r.data.items as any[] }] as const;
          }),
        );
        if (!live || !changed) return;
        held.current = Object.fromEntries(all);
        setFlags(Object.fromEntries(all.map(([n, h]) => [n, h.items])));
      } catch (e) {
        if (live) say('bad', `Flags could not be read: ${(e as ApiError).message}`);
      }
    };
    void load();
    const timer = setInterval(() => document.visibilityState === 'visible' && void load(), 15000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [names]);
  if (!envs || !flags) return <Loading error={error} />;
  const keys = [...new Set(Object.values(flags).flatMap((items) => items.map((f: any) => f.key)))].sort();
  const valueIn = (env: string, key: string) => flags[env]?.find((f: any) => f.key === key);
  const promote = async (from: string, to: string, flag: any) => {
    setBusy(true);
    try {
      const p = await api<any>('POST', 'api/v1/promotions', {
        sourceEnvironment: from,
        targetEnvironment: to,
        promotionType: 'SELECTIVE',
        flagIds: [flag.id],
        notes: `flag ${flag.key}`,
      });
      // said on the promotion's page, where the person is taken
      say('ok', `Promotion ${p.id} of flag ${flag.key} from ${from} to ${to} requested: ${p.status.toLowerCase().replace(/_/g, ' ')}.`, `promotions/${p.id}`);
      location.hash = `#/promotions/${p.id}`;
    } catch (e) {
      say('bad', `Could not promote ${flag.key}: ${(e as ApiError).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="flags-title">
      <h1 id="flags-title">Flags</h1>
      <p class="mut">Each feature flag in every environment; where a value differs from the environment before it, a deployer can promote that one flag.</p>
      <Wrap>
        <table>
          <caption class="sr">Feature flags (rows) across the environments of the line (columns)</caption>
          <thead>
            <tr>
              <th scope="col">Flag</th>
              {line.map((e) => (
                <th scope="col" key={e.name}>
                  <EnvLink name={e.name} />
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key}>
                <th scope="row">
                  <code>{key}</code>
                </th>
                {line.map((e, i) => {
                  const here = valueIn(e.name, key);
                  // The environments it comes after (its edges, or the one before it): a promotion from each that differs.
                  const from: string[] = e.after?.length ? e.after : i > 0 ? [line[i - 1].name] : [];
                  const differing = from.map((name) => ({ name, value: valueIn(name, key) })).filter((p) => p.value && !same(p.value.value, here?.value));
                  return (
                    <td key={e.name}>
                      <code>{shown(here?.value)}</code>
                      {may(me, 'deployer') &&
                        differing.map((p) => (
                          <div key={p.name}>
                            {/* Its name begins with what it shows (WCAG 2.5.3: a speech user says what they see), then says which flag and where to. */}
                            <button type="button" class="link" disabled={busy} onClick={() => promote(p.name, e.name, p.value)}>
                              Promote from {p.name}
                              <span class="sr">{` (${key} to ${e.name})`}</span>
                            </button>
                          </div>
                        ))}
                    </td>
                  );
                })}
              </tr>
            ))}
            {!keys.length && (
              <tr>
                <td colSpan={line.length + 1} class="mut">
                  No flags yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </Wrap>
    </section>
  );
}
