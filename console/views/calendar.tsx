import { useState } from 'preact/hooks';
import { EnvLink, Loading, PromotionLink, Time, usePoll } from '../ui.tsx';

/**
 * #/calendar: each environment in line order over the next days (GET /api/v1/calendar, as `stageline calendar`):
 * when it is open (its allowed hours), its freeze windows and the promotions scheduled into it. A strip per UTC day
 * draws them (decoration: the lists beside it say the same in words), so a release manager sees at a glance when a
 * promotion can go.
 */
interface Interval {
  start: string;
  end: string;
}
interface Row {
  environment: string;
  open: Interval[];
  frozen: (Interval & { windowId: string; reason: string })[];
  scheduled: { promotionId: string; at: string | null; heldBy?: { kind: string; reason: string } }[];
  leftOff: { open: number; frozen: number };
  complete: boolean;
}
interface Answer {
  from: string;
  to: string;
  days: number;
  environments: Row[];
}

const DAY = 86_400_000;
const RANGES = [7, 14, 31] as const;

export function Calendar() {
  const [days, setDays] = useState<number>(14);
  // From today's UTC midnight (not "now"): the answer stays the same from one refresh to the next while nothing
  // changes (a 304, no body), and each day's strip is whole (the part already past is shaded).
  const today = new Date(Math.floor(Date.now() / DAY) * DAY).toISOString();
  const { data, error } = usePoll<Answer>(`api/v1/calendar?from=${encodeURIComponent(today)}&days=${days}`, 60000);
  return (
    <section aria-labelledby="calendar-title" class="calendar">
      <h1 id="calendar-title">Calendar</h1>
      <p>
        Freeze windows and allowed hours of each environment, and the promotions scheduled into them. Times in UTC. Set them with <code>stageline freeze</code>{' '}
        and <code>stageline env hours</code>.
      </p>
      <label class="cal-range">
        Show the next{' '}
        <select value={String(days)} onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}>
          {RANGES.map((n) => (
            <option key={n} value={String(n)}>
              {n} days
            </option>
          ))}
        </select>
      </label>
      {!data ? (
        <Loading error={error} />
      ) : (
        <>
          {error && <p class="notice bad">Not refreshed: {error}</p>}
          {data.environments.length === 0 && <p class="why-box">No environments yet.</p>}
          {data.environments.map((row) => (
            <Environment key={row.environment} row={row} from={data.from} to={data.to} />
          ))}
        </>
      )}
    </section>
  );
}

function Environment({ row, from, to }: { row: Row; from: string; to: string }) {
  const always = row.open.length === 1 && row.open[0]!.start === from && row.open[0]!.end === to;
  const quiet = always && !row.frozen.length && !row.scheduled.length;
  const id = `cal-${row.environment}`;
  return (
    <article class="card cal-env" aria-labelledby={id}>
      <h2 id={id}>
        <EnvLink name={row.environment} />
      </h2>
      {quiet ? (
        <p class="mut">Always open (no allowed hours), no freeze window, nothing scheduled.</p>
      ) : (
        <>
          <Strip row={row} from={from} to={to} always={always} />
          <dl class="cal-lists">
            <dt>Open</dt>
            <dd>
              {always ? (
                'always (no allowed hours)'
              ) : row.open.length === 0 ? (
                'not in these days'
              ) : (
                <ul class="cal-openings">
                  {row.open.map((o) => (
                    <li key={o.start}>
                      <Span i={o} />
                    </li>
                  ))}
                  {row.leftOff.open > 0 && <li class="mut">and {row.leftOff.open} more</li>}
                </ul>
              )}
            </dd>
            <dt>Frozen</dt>
            <dd>
              {row.frozen.length === 0 ? (
                'no freeze window'
              ) : (
                <ul>
                  {row.frozen.map((f) => (
                    <li key={`${f.windowId} ${f.start}`}>
                      <Span i={f} />: {f.reason}
                    </li>
                  ))}
                  {row.leftOff.frozen > 0 && <li class="mut">and {row.leftOff.frozen} more</li>}
                </ul>
              )}
            </dd>
            <dt>Scheduled</dt>
            <dd>
              {row.scheduled.length === 0 ? (
                'nothing'
              ) : (
                <ul>
                  {row.scheduled.map((s) => (
                    <li key={s.promotionId}>
                      <PromotionLink id={s.promotionId} />{' '}
                      {s.at ? (
                        <>
                          at <Time at={s.at} />
                        </>
                      ) : (
                        'when released'
                      )}
                      {s.heldBy && (
                        <span class="mut">
                          {' '}
                          (held by {s.heldBy.kind}: {s.heldBy.reason})
                        </span>
                      )}
                    </li>
                  ))}
                </ul>
              )}
            </dd>
          </dl>
          {!row.complete && <p class="mut">A window opens more often than the calendar reads: not every opening is shown.</p>}
        </>
      )}
    </article>
  );
}

const Span = ({ i }: { i: Interval }) => (
  <span class="nowrap">
    <Time at={i.start} /> – <Time at={i.end} />
  </span>
);

/** Where an interval falls on a day's strip, in percent of the day (clipped to it); null when it misses the day. */
function place(i: Interval, day: number): { left: string; width: string } | null {
  const s = Math.max(Date.parse(i.start), day);
  const e = Math.min(Date.parse(i.end), day + DAY);
  if (e <= s) return null;
  return { left: `${((s - day) / DAY) * 100}%`, width: `${Math.max(((e - s) / DAY) * 100, 0.4)}%` };
}

/** A strip per UTC day of the range: open hours, freezes over them and scheduled promotions (decoration: the lists say it in words). */
function Strip({ row, from, to, always }: { row: Row; from: string; to: string; always: boolean }) {
  const first = Math.floor(Date.parse(from) / DAY) * DAY;
  const now = Date.now();
  const days: number[] = [];
  for (let d = first; d < Date.parse(to); d += DAY) days.push(d);
  const label = (d: number) => new Date(d).toLocaleDateString('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short' });
  return (
    <div class="cal-strip" aria-hidden="true">
      <div class="cal-day cal-axis">
        <span />
        <span class="cal-bar">
          {['00', '06', '12', '18'].map((h) => (
            <span key={h}>{h}</span>
          ))}
        </span>
      </div>
      {days.map((d) => (
        <div class="cal-day" key={d}>
          <span class="cal-date">{label(d)}</span>
          <span class="cal-bar">
            {d < now && <i class="cal-past" style={place({ start: new Date(d).toISOString(), end: new Date(now).toISOString() }, d)!} />}
            {(always ? [{ start: from, end: to }] : row.open).map((o) => {
              const at = place(o, d);
              return at && <i key={`o${o.start}`} class="cal-open" style={at} />;
            })}
            {row.frozen.map((f) => {
              const at = place(f, d);
              return at && <i key={`f${f.windowId}${f.start}`} class="cal-frozen" style={at} />;
            })}
            {row.scheduled.map((s) => {
              const at = s.at ? Date.parse(s.at) : NaN;
              return at >= d && at < d + DAY && <i key={s.promotionId} class="cal-promotion" style={{ left: `${((at - d) / DAY) * 100}%` }} />;
            })}
          </span>
        </div>
      ))}
      <p class="cal-key">
        <span>
          <i class="cal-open" /> open
        </span>
        <span>
          <i class="cal-frozen" /> frozen
        </span>
        <span>
          <i class="cal-promotion" /> scheduled promotion
        </span>
        <span>
          <i class="cal-past" /> past
        </span>
      </p>
    </div>
  );
}
