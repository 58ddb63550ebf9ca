import { useState } from 'preact/hooks';
import { DATADOG_SITES } from '../../domain/kernel/vendor-sites.ts';
import { api, q } from '../api.ts';
import type { Session } from '../auth.ts';
import { AddButton, EmptyRow, FormEnd, Problem, RowActions, useAction } from '../forms.tsx';
import { Badge, Loading, usePoll, Wrap, type Say } from '../ui.tsx';

/**
 * Settings → Audit stream (admin): where the tenant's audit entries are shipped (its SIEM), each destination's
 * state and how far behind it is, its last error and dead letters, a form per kind, and a replay from a
 * sequence number. It reads and writes /api/v1/audit/destinations:
 * - GET → {items: [{name, kind, its settings (url, index, site, bucket, roleArn…; secrets masked as …), state, lag: {entries,
 *   seconds}, lastError?, deadLetters: [{fromSeq, toSeq, reason}]}]}
 * - PUT /{name} {kind, …settings, token | apiKey | headers}: the destination's credential (the HEC token, the API key,
 *   the OTLP Authorization header); left out on an edit, the stored one is kept. A secret field is never filled
 *   with anything the API answered, and the page never shows it.
 * - DELETE /{name}; POST /{name}/replay {fromSeq}.
 */

export type DestinationKind = 'splunk' | 'datadog' | 'otlp' | 's3';

/** A destination as GET answers it: its settings beside its state (secrets masked as MASKED). */
export interface Destination extends Record<string, unknown> {
  name: string;
  kind: DestinationKind;
  state: 'active' | 'failing';
  lag: { entries: number; seconds: number };
  lastError?: string | { at?: string; message: string };
  deadLetters?: { fromSeq: number; toSeq: number; reason: string }[];
  headers?: Record<string, string>;
}

/** How the API shows a stored secret; sent back as it is, the stored one is kept (domain/audit/stream.ts MASKED_SECRET). */
export const MASKED = '…';

/**
 * The PUT body of a destination: its kind, its settings, and its credential under the kind's own name — the one typed,
 * or the masked form when editing without typing one (the stored credential is kept). An OTLP destination's credential
 * is its Authorization header.
 */
export function destinationBody(
  kind: DestinationKind,
  settings: Record<string, unknown>,
  secret: string,
  initial: Destination | null,
): Record<string, unknown> {
  const keep = initial?.kind === kind;
  switch (kind) {
    case 'splunk':
      return { kind, ...settings, ack: settings.ack === 'on', token: secret || (keep ? MASKED : '') };
    case 'datadog':
      return { kind, ...settings, apiKey: secret || (keep ? MASKED : '') };
    case 'otlp':
      return { kind, ...settings, headers: secret ? { authorization: secret } : keep ? { ...(initial?.headers ?? {}) } : {} };
    case 's3':
      return { kind, ...settings };
  }
}

const KIND_WORDS: Record<DestinationKind, string> = {
  splunk: 'Splunk HTTP Event Collector',
  datadog: 'Datadog logs',
  otlp: 'OpenTelemetry (OTLP/HTTP logs)',
  s3: 'S3 bucket',
};

/** A field of a kind's form: its settings key, label, and whether it is required. */
interface Field {
  key: string;
  label: string;
  required?: boolean;
  placeholder?: string;
  help?: string;
  options?: readonly string[];
  /** a comma-separated list in the form, an array in the settings */
  list?: boolean;
}

const FIELDS: Record<DestinationKind, Field[]> = {
  splunk: [
    { key: 'url', label: 'HEC URL', required: true, placeholder: 'https://splunk.example.com:8088' },
    { key: 'index', label: 'Index', placeholder: 'main' },
    { key: 'sourcetype', label: 'Source type', placeholder: 'stageline:audit' },
    {
      key: 'ack',
      label: 'Indexer acknowledgement',
      options: ['off', 'on'],
      help: 'On when the token asks for it: a batch counts as shipped once Splunk acknowledges it.',
    },
  ],
  datadog: [
    { key: 'site', label: 'Datadog site', required: true, options: DATADOG_SITES, help: 'The site parameter of your organization (its URL: app.<site>).' },
    { key: 'service', label: 'Service', placeholder: 'stageline' },
    { key: 'tags', label: 'Tags', placeholder: 'env:prod, team:platform', list: true, help: 'Comma-separated; tenant:<tenant> is added to every log.' },
  ],
  otlp: [{ key: 'url', label: 'OTLP logs endpoint', required: true, placeholder: 'https://otel.example.com/v1/logs' }],
  s3: [
    { key: 'bucket', label: 'Bucket', required: true, placeholder: 'acme-audit' },
    { key: 'prefix', label: 'Key prefix', placeholder: 'stageline-audit' },
    { key: 'region', label: 'Region', placeholder: 'eu-west-1' },
    {
      key: 'roleArn',
      label: 'Role ARN',
      required: true,
      placeholder: 'arn:aws:iam::123456789012:role/stageline-audit',
      help: "A role in your account allowed s3:PutObject on the bucket; its trust policy must require the external id stageline:<your tenant>. Stageline's own credentials never write your bucket.",
    },
  ],
};

/** The credential a kind takes, if any: the label of its secret field. */
const SECRET: Record<DestinationKind, string | null> = {
  splunk: 'HEC token',
  datadog: 'API key',
  otlp: 'Authorization header (optional)',
  s3: null,
};

const lastErrorText = (e: Destination['lastError']) => (e === undefined ? '' : typeof e === 'string' ? e : e.message);

/** "12 entries, 40 s behind"; "up to date". */
export function lagText(lag: Destination['lag'] | undefined): string {
  if (!lag || (lag.entries === 0 && lag.seconds === 0)) return 'up to date';
  const secs = lag.seconds;
  const time = secs < 120 ? `${secs} s` : secs < 7200 ? `${Math.round(secs / 60)} min` : `${Math.round(secs / 3600)} h`;
  return `${lag.entries.toLocaleString('en')} ${lag.entries === 1 ? 'entry' : 'entries'}, ${time} behind`;
}

export function AuditStreamSettings({ say }: { me: Session; say: Say }) {
  const { data, error, reload } = usePoll<{ items: Destination[] }>('api/v1/audit/destinations', 15000);
  const [editing, setEditing] = useState<string | 'new' | null>(null);
  const [run, busy, problem, setProblem] = useAction();
  if (!data) return <Loading error={error} />;
  const list = data.items ?? [];
  const remove = (d: Destination) =>
    run(
      'Not removed',
      () => api('DELETE', `api/v1/audit/destinations/${q(d.name)}`),
      () => {
        say('ok', `Removed ${d.name}: nothing more is shipped there.`);
        return reload();
      },
    );
  return (
    <section aria-labelledby="audit-stream-title">
      <h2 id="audit-stream-title">Audit stream</h2>
      <p class="mut">
        Every audit entry, with its sequence number and chain hash, shipped in order to each destination below, at least once. A destination that fails keeps
        its place and is sent again from the first entry it has not taken; what it refuses goes to its dead letters. Replay sends again from a sequence number.
      </p>
      <Problem text={problem} />
      <Wrap>
        <table class="destinations">
          <caption class="sr">Audit stream destinations</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">State</th>
              <th scope="col">Lag</th>
              <th scope="col">Last error</th>
              <th scope="col">
                <span class="sr">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr key={d.name}>
                <th scope="row">{d.name}</th>
                <td>{KIND_WORDS[d.kind] ?? d.kind}</td>
                <td>
                  <Badge tone={d.state === 'failing' ? 'bad' : 'ok'}>{d.state}</Badge>
                  {d.deadLetters?.length ? <span class="mut"> {d.deadLetters.length} dead letters</span> : null}
                </td>
                <td>{lagText(d.lag)}</td>
                <td class="stream-error">{lastErrorText(d.lastError) || <span class="mut">none</span>}</td>
                <RowActions what={d.name} busy={busy} edit={() => (setProblem(null), setEditing(d.name))} remove={() => void remove(d)} />
              </tr>
            ))}
            {!list.length && <EmptyRow cols={6}>No destinations yet: the audit log is kept here only (Audit, and GET /api/v1/audit).</EmptyRow>}
          </tbody>
        </table>
      </Wrap>
      {list.length > 0 && <Replay destinations={list} say={say} reload={reload} />}
      {editing === null ? (
        <AddButton onClick={() => (setProblem(null), setEditing('new'))}>Add a destination</AddButton>
      ) : (
        <DestinationForm
          key={editing}
          initial={editing === 'new' ? null : (list.find((d) => d.name === editing) ?? null)}
          cancel={() => setEditing(null)}
          saved={async (name) => {
            setEditing(null);
            say('ok', `Saved ${name}: entries are shipped there from now on.`);
            await reload();
          }}
        />
      )}
    </section>
  );
}

/** Replay: a destination and the sequence number to send again from. */
function Replay({ destinations, say, reload }: { destinations: Destination[]; say: Say; reload: () => Promise<void> }) {
  const [name, setName] = useState(destinations[0]!.name);
  const [from, setFrom] = useState('');
  const [run, busy, problem, setProblem] = useAction();
  return (
    <form
      class="card stream-form"
      aria-labelledby="replay-title"
      onSubmit={(e) => {
        e.preventDefault();
        const fromSeq = Number(from);
        if (!/^\d+$/.test(from.trim()) || fromSeq < 1) return setProblem('Give the sequence number to replay from: a whole number, 1 or more.');
        void run(
          'Not replayed',
          () => api('POST', `api/v1/audit/destinations/${q(name)}/replay`, { fromSeq }),
          () => {
            setFrom('');
            say('ok', `Replaying ${name} from entry ${fromSeq}.`);
            return reload();
          },
        );
      }}
    >
      <h3 id="replay-title">Replay</h3>
      <div class="form-grid">
        <div>
          <label for="replay-destination">Destination</label>
          <select id="replay-destination" value={name} onChange={(e) => setName((e.target as HTMLSelectElement).value)}>
            {destinations.map((d) => (
              <option key={d.name} value={d.name}>
                {d.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="replay-from">From sequence number</label>
          <input
            id="replay-from"
            inputMode="numeric"
            autocomplete="off"
            value={from}
            placeholder="1"
            onInput={(e) => setFrom((e.target as HTMLInputElement).value)}
          />
        </div>
      </div>
      <Problem text={problem} />
      <div class="buttons">
        <button type="submit" disabled={busy}>
          {busy ? 'Replaying…' : 'Replay'}
        </button>
      </div>
    </form>
  );
}

const asText = (v: unknown) => (Array.isArray(v) ? v.join(', ') : v === undefined || v === null ? '' : String(v));

/** The form of one destination: its name and kind (fixed once saved), its settings, and its credential in a secret field. */
function DestinationForm({ initial, cancel, saved }: { initial: Destination | null; cancel: () => void; saved: (name: string) => Promise<void> }) {
  const [name, setName] = useState(initial?.name ?? '');
  const [kind, setKind] = useState<DestinationKind>(initial?.kind ?? 'splunk');
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(
      FIELDS[initial?.kind ?? 'splunk'].map((f) => [
        f.key,
        asText(f.key === 'ack' && initial ? (initial.ack ? 'on' : 'off') : initial?.[f.key]) || (f.options ? f.options[0]! : ''),
      ]),
    ),
  );
  const [secret, setSecret] = useState('');
  const [run, busy, problem, setProblem] = useAction();
  const fields = FIELDS[kind];
  const secretLabel = SECRET[kind];
  const pick = (k: DestinationKind) => {
    setKind(k);
    setValues(Object.fromEntries(FIELDS[k].map((f) => [f.key, f.options ? f.options[0]! : ''])));
    setSecret('');
  };
  return (
    <form
      class="card stream-form"
      aria-labelledby="destination-form-title"
      onSubmit={(e) => {
        e.preventDefault();
        const n = name.trim();
        if (!n) return setProblem('Name the destination.');
        const missing = fields.find((f) => f.required && !values[f.key]?.trim());
        if (missing) return setProblem(`${missing.label} is required.`);
        if (!initial && secretLabel && kind !== 'otlp' && !secret) return setProblem(`${secretLabel} is required.`);
        const settings: Record<string, unknown> = {};
        for (const f of fields) {
          const v = values[f.key]?.trim() ?? '';
          if (!v) continue;
          settings[f.key] = f.list
            ? v
                .split(',')
                .map((x) => x.trim())
                .filter(Boolean)
            : v;
        }
        // The secret is cleared once the API answers, saved or not.
        void run(
          'Not saved',
          () => api('PUT', `api/v1/audit/destinations/${q(n)}`, destinationBody(kind, settings, secret, initial)).finally(() => setSecret('')),
          () => saved(n),
        );
      }}
    >
      <h3 id="destination-form-title">{initial ? `Edit ${initial.name}` : 'Add a destination'}</h3>
      <div class="form-grid">
        <div>
          <label for="destination-name">Name</label>
          <input
            id="destination-name"
            value={name}
            disabled={!!initial}
            autocomplete="off"
            spellcheck={false}
            placeholder="siem"
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </div>
        <div>
          <label for="destination-kind">Kind</label>
          <select id="destination-kind" value={kind} disabled={!!initial} onChange={(e) => pick((e.target as HTMLSelectElement).value as DestinationKind)}>
            {(Object.keys(KIND_WORDS) as DestinationKind[]).map((k) => (
              <option key={k} value={k}>
                {KIND_WORDS[k]}
              </option>
            ))}
          </select>
        </div>
        {fields.map((f) => (
          <div key={`${kind}.${f.key}`}>
            <label for={`destination-${f.key}`}>{f.label}</label>
            {f.options ? (
              <select
                id={`destination-${f.key}`}
                value={values[f.key]}
                onChange={(e) => setValues({ ...values, [f.key]: (e.target as HTMLSelectElement).value })}
                aria-describedby={f.help ? `destination-${f.key}-help` : undefined}
              >
                {f.options.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id={`destination-${f.key}`}
                class="wide"
                value={values[f.key] ?? ''}
                autocomplete="off"
                spellcheck={false}
                placeholder={f.placeholder}
                aria-describedby={f.help ? `destination-${f.key}-help` : undefined}
                onInput={(e) => setValues({ ...values, [f.key]: (e.target as HTMLInputElement).value })}
              />
            )}
            {f.help && (
              <p id={`destination-${f.key}-help`} class="mut">
                {f.help}
              </p>
            )}
          </div>
        ))}
        {secretLabel && (
          <div>
            <label for="destination-secret">{secretLabel}</label>
            <input
              id="destination-secret"
              type="password"
              class="wide"
              autocomplete="off"
              spellcheck={false}
              value={secret}
              aria-describedby="destination-secret-help"
              placeholder={initial ? 'stored: leave empty to keep it' : ''}
              onInput={(e) => setSecret((e.target as HTMLInputElement).value)}
            />
            <p id="destination-secret-help" class="mut">
              Stored as a tenant secret, sealed; never shown again and never part of what is streamed.
            </p>
          </div>
        )}
      </div>
      <FormEnd problem={problem} busy={busy} label="Save destination" cancel={cancel} />
    </form>
  );
}
