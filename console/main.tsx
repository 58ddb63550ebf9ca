import 'uplot/dist/uPlot.min.css';
import './style.css';
import './views.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { completeSignIn, onSession, session, signIn, signOut, takeFragmentToken, type Session } from './auth.ts';
import { Notices, useNotices } from './ui.tsx';
import { lazy } from './lazy.tsx';
import { Bundles } from './views/bundles.tsx';
import { EnvironmentPage } from './views/environment.tsx';
import { Pipeline } from './views/pipeline.tsx';
import { PromotionPage } from './views/promotion.tsx';

// Views the first screen does not need: each a chunk loaded when its route is first opened (the first load stays small).
const Audit = lazy(() => import('./views/audit.tsx').then((m) => m.Audit));
const Calendar = lazy(() => import('./views/calendar.tsx').then((m) => m.Calendar));
const Flags = lazy(() => import('./views/flags.tsx').then((m) => m.Flags));
const Insights = lazy(() => import('./views/insights.tsx').then((m) => m.Insights));
const Manifest = lazy(() => import('./views/manifest.tsx').then((m) => m.Manifest));
const Settings = lazy(() => import('./views/settings.tsx').then((m) => m.Settings));

/**
 * The console: one page (hash routes), reading the same public API as the CLI with the signed-in
 * person's ID token. Views: #/ pipeline, #/promotions/<id>, #/environments/<name>, #/bundles, #/flags,
 * #/calendar, #/insights, #/manifest, #/audit, #/settings (and its parts: #/settings/access, /scim, /rights).
 */
const route = () => location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);

function App({ initial }: { initial: string | null }) {
  const [me, setMe] = useState<Session | null>(session());
  const [why, setWhy] = useState<string | null>(initial);
  const [path, setPath] = useState(route());
  const { notices, say, dismiss } = useNotices(path.join('/'));
  useEffect(() => {
    const onHash = () => {
      setPath(route());
      document.getElementById('main')?.focus();
    };
    addEventListener('hashchange', onHash);
    const off = onSession((w) => {
      setMe(session());
      if (w === 'expired') setWhy('Your session has expired: sign in again to go on.');
    });
    // A session ends on its own too (the ID token's expiry).
    const timer = setInterval(() => {
      const s = session();
      setMe((m) => {
        if (m && !s) setWhy('Your session has expired: sign in again to go on.');
        return s;
      });
    }, 15000);
    return () => {
      removeEventListener('hashchange', onHash);
      off();
      clearInterval(timer);
    };
  }, []);
  const [view, arg] = path;
  const nav = [
    ['', 'Pipeline'],
    ['bundles', 'Bundles'],
    ['flags', 'Flags'],
    ['calendar', 'Calendar'],
    ['insights', 'Insights'],
    ['manifest', 'Manifest'],
    ['audit', 'Audit'],
    ['settings', 'Settings'],
  ] as const;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          Stageline
        </a>
        {me && (
          <nav aria-label="Views">
            {nav.map(([k, label]) => (
              <a key={k} href={`#/${k}`} aria-current={(view ?? '') === k ? 'page' : undefined}>
                {label}
              </a>
            ))}
          </nav>
        )}
        <div class="who">
          {me ? (
            <>
              <span>
                {me.email}{' '}
                <span class="mut">
                  ({me.tenant}: {me.groups.join(', ') || 'no role'})
                </span>
              </span>
              <button type="button" class="link" onClick={() => void signOut()}>
                Sign out
              </button>
            </>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Notices notices={notices} dismiss={dismiss} />
        {!me ? (
          <SignIn why={why} />
        ) : view === 'promotions' && arg ? (
          // keyed by the promotion: what was typed on one (a comment, a reason) is not carried to another
          <PromotionPage key={arg} id={arg} me={me} say={say} />
        ) : view === 'environments' && arg ? (
          <EnvironmentPage key={arg} name={arg} me={me} say={say} />
        ) : view === 'bundles' ? (
          <Bundles />
        ) : view === 'manifest' ? (
          <Manifest me={me} />
        ) : view === 'flags' ? (
          <Flags me={me} say={say} />
        ) : view === 'calendar' ? (
          <Calendar />
        ) : view === 'insights' ? (
          <Insights />
        ) : view === 'audit' ? (
          <Audit say={say} />
        ) : view === 'settings' ? (
          <Settings me={me} say={say} part={arg} />
        ) : (
          <Pipeline />
        )}
      </main>
    </>
  );
}

async function start() {
  await takeFragmentToken();
  const failed = await completeSignIn();
  const root = document.getElementById('app')!;
  render(<App initial={failed} />, root);
}
void start();

/** The sign-in page: Sign in, or the company's identity provider found by the person's email (GET /api/v1/auth/config?email=). */
function SignIn({ why }: { why: string | null }) {
  const [email, setEmail] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <section class="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to Stageline</h1>
      {why && <p class="notice bad">{why}</p>}
      <p>See what runs where, what waits for whom and what failed; approve and promote.</p>
      <button type="button" class="primary" onClick={() => void signIn()}>
        Sign in
      </button>
      <form
        class="company-signin"
        noValidate
        aria-labelledby="company-title"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!email.trim()) return setProblem('Give your company email, e.g. name@company.example.');
          setBusy(true);
          const refused = await signIn(email.trim());
          setBusy(false);
          setProblem(refused ?? null);
        }}
      >
        <h2 id="company-title">Sign in with your company email</h2>
        <label for="company-email">Company email</label>
        <div class="copy-row">
          <input
            id="company-email"
            type="email"
            autocomplete="email"
            spellcheck={false}
            placeholder="name@company.example"
            value={email}
            aria-invalid={problem ? 'true' : undefined}
            aria-describedby={problem ? 'company-problem' : undefined}
            onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
          />
          <button type="submit" disabled={busy}>
            {busy ? 'Finding…' : 'Continue'}
          </button>
        </div>
        {problem && (
          <p id="company-problem" class="notice bad" role="alert">
            {problem}
          </p>
        )}
      </form>
    </section>
  );
}
