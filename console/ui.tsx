import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, NOT_MODIFIED, revalidate } from './api.ts';

/** A time as UTC text in a <time> element. */
export function Time({ at, seconds = false }: { at: string | null | undefined; seconds?: boolean }) {
  if (!at) return <span class="mut">—</span>;
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return <span>{at}</span>;
  return (
    <time dateTime={d.toISOString()}>
      {d
        .toISOString()
        .slice(0, seconds ? 19 : 16)
        .replace('T', ' ')}
    </time>
  );
}

const TONE: Record<string, string> = {
  COMPLETED: 'ok',
  APPROVED: 'ok',
  PASS: 'ok',
  FAILED: 'bad',
  VALIDATION_FAILED: 'bad',
  ROLLED_BACK: 'bad',
  REJECTED: 'bad',
  EXPIRED: 'bad',
  FAIL: 'bad',
  ALARM: 'bad',
  AWAITING_APPROVAL: 'wait',
  PENDING: 'wait',
  VALIDATING: 'wait',
  SCHEDULED: 'wait',
  EXECUTING: 'wait',
  WARN: 'wait',
  DONE: 'ok',
  CONFIRMING: 'wait',
  BAKING: 'wait',
  ROLLING_OUT: 'wait',
  HALTED: 'wait',
  WAITING: 'wait',
};
/** A status as a word with a tone (never colour alone: the word is always there). */
export function Status({ value }: { value: string }) {
  return <span class={`status ${TONE[value] ?? 'mut'}`}>{value.replace(/_/g, ' ').toLowerCase()}</span>;
}

export const Badge = ({ children, tone = '' }: { children: ComponentChildren; tone?: string }) => <span class={`badge ${tone}`}>{children}</span>;

/** A link to a promotion: what it moves when the caller knows it ("api 1.4.2"), its id beside it, small, for who copies it. */
export const PromotionLink = ({ id, label }: { id: string; label?: string }) => (
  <a href={`#/promotions/${id}`}>
    {label ? (
      <>
        {label} <code class="mut small-id">{id}</code>
      </>
    ) : (
      <code>{id}</code>
    )}
  </a>
);
export const EnvLink = ({ name }: { name: string }) => <a href={`#/environments/${name}`}>{name}</a>;

/**
 * What an action said, and the page it was said on (its route: `promotions/prm_…`): it stays there until
 * the person dismisses it (live updates never remove it), and is shown on that page only, so an
 * outcome never follows someone to another page or promotion.
 */
export interface Notice {
  id: number;
  page: string;
  tone: 'ok' | 'bad';
  text: string;
}
/** Says something on a page: the page the view was on when the action began (or the page given, e.g. a promotion just created). */
export type Say = (tone: Notice['tone'], text: string, page?: string) => void;
let seq = 0;
export function useNotices(here: string) {
  const [notices, set] = useState<Notice[]>([]);
  const sayOn = useCallback(
    (page: string) => (tone: Notice['tone'], text: string, on?: string) => set((n) => [...n, { id: ++seq, page: on ?? page, tone, text }]),
    [],
  );
  // A view's actions hold the `say` of the page they began on: an answer that comes after the person
  // moved on is kept for that page, not shown on the new one.
  const say: Say = useMemo(() => sayOn(here), [sayOn, here]);
  const dismiss = useCallback((id: number) => set((n) => n.filter((x) => x.id !== id)), []);
  return { notices: notices.filter((n) => n.page === here), say, dismiss };
}
export function Notices({ notices, dismiss }: { notices: Notice[]; dismiss: (id: number) => void }) {
  if (!notices.length) return null;
  return (
    <div class="notices" role="status" aria-live="polite">
      {notices.map((n) => (
        <p key={n.id} class={`notice ${n.tone}`}>
          <span>{n.text}</span>
          <button type="button" class="link" onClick={() => dismiss(n.id)} aria-label={`Dismiss: ${n.text}`}>
            Dismiss
          </button>
        </p>
      ))}
    </div>
  );
}

/**
 * Reads a path and keeps reading it every `every` ms while the page is visible. A refresh replaces
 * the data only: what the person typed, the focus and the notices are other state and stay. A
 * failed refresh keeps the last data and says so. Each refresh sends the ETag of the data shown
 * (If-None-Match): while nothing changed the API answers 304 with no body and nothing re-renders.
 */
export function usePoll<T>(path: string | null, every = 5000) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const current = useRef(path);
  current.current = path;
  /** The ETag of the data shown, and the path it was read from. */
  const shown = useRef<{ path: string; etag: string } | null>(null);
  const load = useCallback(async () => {
    if (!path) return;
    try {
      const r = await revalidate<T>(path, shown.current?.path === path ? shown.current.etag : null);
      if (current.current !== path) return;
      if (r !== NOT_MODIFIED) {
        shown.current = r.etag ? { path, etag: r.etag } : null;
        setData(r.data);
      }
      setError(null);
    } catch (e) {
      if (current.current === path) setError((e as ApiError).message);
    }
  }, [path]);
  useEffect(() => {
    shown.current = null;
    setData(null);
    setError(null);
    void load();
    if (!every) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void load();
    }, every);
    return () => clearInterval(timer);
  }, [load, every]);
  return { data, error, reload: load };
}

export function Loading({ error }: { error?: string | null }) {
  return error ? (
    <p class="notice bad">{error}</p>
  ) : (
    <p class="mut" aria-busy="true">
      Loading…
    </p>
  );
}

/** A table's column headings. */
export const Head = ({ cols }: { cols: string[] }) => (
  <thead>
    <tr>
      {cols.map((c) => (
        <th key={c} scope="col">
          {c}
        </th>
      ))}
    </tr>
  </thead>
);

/** A table that scrolls sideways on its own (the page never does). */
/**
 * A table's frame: a table wider than the screen scrolls sideways in it. While it does, the frame is a named region
 * a keyboard can reach (and scroll with the arrow keys); one that fits is no extra stop for the Tab key.
 */
export function Wrap({ children }: { children: ComponentChildren }) {
  const frame = useRef<HTMLDivElement>(null);
  const [scrolls, setScrolls] = useState(false);
  useEffect(() => {
    const el = frame.current;
    if (!el) return;
    const check = () => setScrolls(el.scrollWidth > el.clientWidth + 1);
    check();
    const seen = new ResizeObserver(check);
    seen.observe(el);
    if (el.firstElementChild) seen.observe(el.firstElementChild);
    return () => seen.disconnect();
  }, []);
  return (
    <div class="wrap" ref={frame} {...(scrolls ? { tabIndex: 0, role: 'region', 'aria-label': 'Table (scrolls sideways)' } : {})}>
      {children}
    </div>
  );
}

/** Rows as CSV, downloaded as a file. */
export function downloadCsv(name: string, rows: (string | number | null)[][]): void {
  const cell = (v: string | number | null) => (v === null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const blob = new Blob([rows.map((r) => r.map(cell).join(',')).join('\n') + '\n'], { type: 'text/csv' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
