import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, apiText } from '../api.ts';
import { may, type Session } from '../auth.ts';
import { Head, Loading, PromotionLink, Time, Wrap } from '../ui.tsx';
import { short, subjectText } from './bundle.tsx';
import { addPage } from '../../domain/manifest/simulation-pages.ts';

/** An issue's path as the document names it: `document.artifacts.promotion.approval_rules.0.name` → `approval_rules[0].name`. */
const field = (path: string) =>
  path
    .replace(/^document\.?/, '')
    .replace(/^artifacts\.promotion\.?/, '')
    .replace(/\.(\d+)(?=\.|$)/g, '[$1]') || 'the document';

/** A value of the plan, on one line and cut: the whole of it is in the document. */
const value = (v: unknown) => {
  if (v === undefined) return '—';
  const s = typeof v === 'string' ? v : JSON.stringify(v, null, 1).replace(/\n\s*/g, ' ');
  return s.length > 140 ? `${s.slice(0, 140)}…` : s;
};
const OP_CLASS: Record<string, string> = { add: 'added', change: 'modified', remove: 'removed' };
const words = (s: string) => s.replace(/_/g, ' ').toLowerCase();

/**
 * The tenant's setup as its manifest: exported, edited in place, planned field by field, and replayed over
 * the promotions of the last 90 days (what they would have been decided under it). Nothing here writes.
 */
export function Manifest({ me }: { me: Session }) {
  const [current, setCurrent] = useState<{ text: string; digest: string | null } | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<string | null>(null);
  const [result, setResult] = useState<any>(null);
  /** Why the last plan was refused: the API's issues, each naming its field (or one without a field). */
  const [issues, setIssues] = useState<{ path: string; message: string }[]>([]);
  useEffect(() => {
    apiText('api/v1/manifest').then(
      (r) => (setCurrent({ text: r.text, digest: r.headers.get('x-manifest-digest') }), setText(r.text)),
      (e) => setLoadError(e.message),
    );
  }, []);
  if (!current) return <Loading error={loadError} />;
  const run = async (replay: boolean) => {
    setBusy(true);
    setIssues([]);
    setResult(null);
    try {
      const url = `api/v1/manifest/plan${replay ? '?simulate=90d' : ''}`;
      let r: any = await api('POST', url, { document: text });
      // A long history comes a page of requests at a time: follow `next`, saying how far back it has come.
      while (r.simulation?.next) {
        setProgress(`Replayed ${r.simulation.promotions.toLocaleString('en-US')} promotions so far, back to ${r.simulation.reachedBack?.slice(0, 10)} …`);
        const more: any = await api('POST', `${url}&cursor=${encodeURIComponent(r.simulation.next)}`, { document: text });
        r = { ...r, simulation: addPage(r.simulation, more.simulation) };
      }
      setResult(r);
    } catch (e) {
      const err = e as ApiError;
      setIssues(err.body?.error?.issues?.length ? err.body.error.issues : [{ path: '', message: err.message }]);
    } finally {
      setBusy(false);
      setProgress(null);
    }
  };
  const edited = text !== current.text;
  return (
    <section aria-labelledby="manifest-title">
      <h1 id="manifest-title">Manifest</h1>
      <p class="why-box">
        Edit the tenant's promotion setup to see what applying it would change, and how the last 90 days of promotions would have been decided under it. Nothing
        here writes: applying {may(me, 'admin') ? 'is' : 'needs the admin role and is'} done with <code>stageline apply -f manifest.yaml</code>.
      </p>
      <form onSubmit={(e) => (e.preventDefault(), void run(false))}>
        <div class="manifest-head">
          <label for="manifest-document">
            Document (YAML or JSON){' '}
            <span class="mut">
              {edited ? 'edited, ' : ''}exported from setup <code title={current.digest ?? ''}>{short(current.digest)}</code>
            </span>
          </label>
          {edited && (
            <button type="button" class="link" onClick={() => (setText(current.text), setIssues([]), setResult(null))}>
              Reset to the current setup
            </button>
          )}
        </div>
        <textarea
          id="manifest-document"
          spellcheck={false}
          rows={22}
          value={text}
          aria-invalid={issues.length > 0}
          aria-describedby={issues.length ? 'manifest-issues' : undefined}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        />
        {issues.length > 0 && (
          <div id="manifest-issues" class="why-box bad" role="alert">
            <strong>Refused:</strong>
            <ul class="plain">
              {issues.map((i) => (
                <li key={i.path + i.message}>
                  {i.path && (
                    <>
                      <code>{field(i.path)}</code>:{' '}
                    </>
                  )}
                  {i.message}
                </li>
              ))}
            </ul>
          </div>
        )}
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy}>
            Plan
          </button>
          <button type="button" disabled={busy} onClick={() => void run(true)}>
            Replay last 90 days
          </button>
        </div>
      </form>
      {progress && (
        <p class="mut" role="status">
          {progress}
        </p>
      )}
      {result && <Plan plan={result} />}
      {result?.simulation && <Replay sim={result.simulation} />}
    </section>
  );
}

/** What applying the document would change, field by field. */
function Plan({ plan: { changes, summary: s, digest } }: { plan: any }) {
  return (
    <section aria-labelledby="plan-title">
      <h2 id="plan-title">Plan</h2>
      <p>
        {changes.length ? `Applying it would add ${s.add}, change ${s.change} and remove ${s.remove} fields` : 'Applying it would change nothing'} of setup{' '}
        <code title={digest}>{short(digest)}</code>.
      </p>
      {changes.length > 0 && (
        <Wrap>
          <table class="plan stacked">
            <caption class="sr">Fields the document changes, with their value now and under the document</caption>
            <Head cols={['Change', 'Field', 'Now', 'Would be']} />
            <tbody>
              {changes.map((c: any) => (
                <tr key={c.op + c.path}>
                  <td class={OP_CLASS[c.op]} data-label="Change">
                    {c.op}
                  </td>
                  <th scope="row">
                    <code>{c.path}</code>
                  </th>
                  <td data-label="Now">
                    <code>{value(c.before)}</code>
                  </td>
                  <td data-label="Would be">
                    <code>{value(c.after)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Wrap>
      )}
    </section>
  );
}

/** One old → new pair, the new one marked when it differs. */
const Pair = ({ old, now }: { old: any; now: any }) =>
  old === now ? (
    <span class="mut">{old}</span>
  ) : (
    <>
      {old} → <strong>{now}</strong>
    </>
  );
const windowText = (w: any) => (w ? `${w.reason} (${w.scope})` : 'none');

/** The promotions of the look-back decided again under the document: the counts, then those decided differently. */
function Replay({ sim }: { sim: any }) {
  const s = sim.summary;
  return (
    <section aria-labelledby="replay-title">
      <h2 id="replay-title">Replay of the last 90 days</h2>
      <p>
        Of {sim.promotions} promotions since <Time at={sim.since} /> UTC{sim.truncated && ` (the newest ${sim.limit})`},{' '}
        <strong>{s.changed} would have been decided differently</strong>: {s.allowedToBlocked} allowed → not allowed, {s.blockedToAllowed} not allowed →
        allowed, {s.approvalsChanged} with other approvals, {s.newlyHeldByWindow} newly held by a freeze window. Decision digests reproduced:{' '}
        {s.digestsReproduced} of {sim.promotions}
        {sim.rollbacksSkipped ? ` (${sim.rollbacksSkipped} rollbacks not replayed)` : ''}.
      </p>
      {!sim.truncated && !sim.coversLookBack && (
        <p class="why">
          {sim.reachedBack ? (
            <>
              History goes back only to <Time at={sim.reachedBack} /> UTC: no older promotion is stored, so the replay covers from then on.
            </>
          ) : (
            'No promotion is stored in the look-back: nothing to replay.'
          )}
        </p>
      )}
      {sim.changesTruncated && <p class="why">More promotions changed than are listed: the newest {sim.changes.length} are.</p>}
      {sim.changes.length > 0 && (
        <Wrap>
          <table class="replay stacked">
            <caption class="sr">Promotions decided differently under the document: each as decided → as it would be</caption>
            <Head cols={['Promotion', 'Outcome', 'Approvals', 'Freeze window', 'Decision digest']} />
            <tbody>
              {sim.changes.map((c: any) => (
                <tr key={c.id}>
                  <th scope="row">
                    <PromotionLink id={c.id} />
                    <div class="why">
                      {subjectText(c.subject)}, {c.sourceEnvironment} → {c.targetEnvironment}
                    </div>
                  </th>
                  <td data-label="Outcome">
                    <Pair old={words(c.outcome.old)} now={words(c.outcome.new)} />
                    {c.refused && <div class="why">{c.refused}</div>}
                    {c.signatureRequired.new !== c.signatureRequired.old && (
                      <div class="why">{c.signatureRequired.new ? 'would need' : 'would not need'} a signature</div>
                    )}
                    {c.notReplayed && <div class="why">not replayed: {c.notReplayed.join(', ')}</div>}
                  </td>
                  <td data-label="Approvals">
                    <Pair old={c.approvalsRequired.old} now={c.approvalsRequired.new} />
                  </td>
                  <td data-label="Freeze window">
                    <Pair old={windowText(c.heldByWindow.old)} now={windowText(c.heldByWindow.new)} />
                  </td>
                  <td data-label="Decision digest">
                    <code>
                      <Pair old={short(c.decisionDigest.old) || '—'} now={short(c.decisionDigest.new) || '—'} />
                    </code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Wrap>
      )}
    </section>
  );
}
