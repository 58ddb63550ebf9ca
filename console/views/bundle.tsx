import { Badge, Wrap } from '../ui.tsx';

/** A digest as people compare them: its first 12 hex characters (`sha256:` dropped). */
export const short = (digest: string | null | undefined) => (digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '');

/** What a promotion moves, in a few words: "api v1.2.0", "bundle checkout", "config full". */
export function subjectText(s: any): string {
  return s.type === 'artifact'
    ? `${s.name} ${s.version}`
    : s.type === 'bundle'
      ? `bundle ${s.name}`
      : `${CONFIG_KIND[String(s.promotionType).toLowerCase()] ?? 'configuration'}${s.sourceSnapshot ? ` (snapshot ${s.sourceSnapshot.seq})` : ''}`;
}

/** A config promotion's kind in words, not the API's enum. */
const CONFIG_KIND: Record<string, string> = { full: 'all configuration', pattern: 'configuration by key pattern', selective: 'selected configuration keys' };

/** The API's one-line label of a subject ("api@v1", "config:full@3", "bundle:checkout@sha256:…"), a bundle's as "bundle checkout". */
export function labelText(label: string): string {
  const m = /^bundle:(.+)@sha256:[0-9a-f]*$/.exec(label);
  if (m) return `bundle ${m[1]}`;
  const c = /^config:(full|pattern|selective)@(\d+)$/.exec(label);
  return c ? `${CONFIG_KIND[c[1]!]} (snapshot ${c[2]})` : label;
}

/** Which keys of its snapshot a bundle carries: "every key" or "keys matching db.*, queue.*". */
export const scope = (c: { keyPatterns: string[] }) => (c.keyPatterns.length ? `keys matching ${c.keyPatterns.join(', ')}` : 'every key');

/**
 * A bundle promotion's changes: each member from → to (those the target already runs marked unchanged),
 * then its configuration part, key by key.
 */
export function BundleChanges({ c }: { c: any }) {
  const b = c.bundle;
  const same = b.members.filter((m: any) => !m.moves).length;
  const config = c.subject?.type === 'bundle' ? c.subject.config : undefined;
  return (
    <>
      <p>
        Bundle <strong>{b.name}</strong> <code title={b.digest}>{short(b.digest)}</code>: {b.members.length} member{b.members.length === 1 ? '' : 's'}
        {same ? ` (${same} unchanged)` : ''}
        {config ? ' and a configuration snapshot' : ''}.
      </p>
      <Wrap>
        <table class="members">
          <caption class="sr">The bundle's members: the version the target runs before and the one the bundle brings</caption>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
            </tr>
          </thead>
          <tbody>
            {b.members.map((m: any) => (
              <tr key={m.name} class={m.moves ? '' : 'same'}>
                <th scope="row">{m.name}</th>
                <td>{m.from ? <code>{m.from}</code> : <span class="mut">nothing</span>}</td>
                <td>
                  <code title={m.toDigest}>{m.to}</code> {m.moves ? <span class="sr">(moves)</span> : <Badge>unchanged</Badge>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Wrap>
      <h3 class="sub-title">Configuration</h3>
      {config ? (
        <>
          <p>
            Snapshot{' '}
            <code>
              {config.environment}@{config.seq}
            </code>{' '}
            ({scope(config)}): {c.total ? `${c.total} key${c.total === 1 ? '' : 's'} change${c.total === 1 ? 's' : ''}.` : 'no key changes here.'}
          </p>
          {c.total > 0 && <KeyChanges c={c} />}
        </>
      ) : (
        <p class="mut">This bundle carries no configuration: the target's keys stay as they are.</p>
      )}
    </>
  );
}

/** Key-by-key changes of a configuration promotion (or a bundle's configuration part), values before and after, secrets masked. */
export function KeyChanges({ c }: { c: any }) {
  return (
    <Wrap>
      <table>
        <caption class="sr">Keys the promotion changes, with their values before and after (secrets masked)</caption>
        <thead>
          <tr>
            <th scope="col">Change</th>
            <th scope="col">Key</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
          </tr>
        </thead>
        <tbody>
          {c.changes.map((r: any) => (
            <tr key={r.kind + r.key}>
              <td class={r.change}>{r.change}</td>
              <th scope="row">
                <code>{r.key}</code> {r.kind === 'flag' && <span class="mut">flag</span>}
              </th>
              <td>
                <code>{r.before ?? ''}</code>
              </td>
              <td>
                <code>{r.after ?? ''}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {c.total > c.changes.length && (
        <p class="mut">
          The first {c.changes.length} of {c.total} changes.
        </p>
      )}
    </Wrap>
  );
}
