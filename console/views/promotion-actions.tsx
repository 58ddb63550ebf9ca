import { useState } from 'preact/hooks';
import { api, ApiError, q } from '../api.ts';
import { may, type Session } from '../auth.ts';

/** The statuses a promotion can still be cancelled in (it has not started executing). */
export const ACTIVE = ['PENDING', 'VALIDATING', 'VALIDATION_FAILED', 'AWAITING_APPROVAL', 'APPROVED', 'SCHEDULED'];

/** The actions this person may take now; each goes through the same API route as the CLI. */
export function Actions({ p, me, say, reload }: { p: any; me: Session; say: (tone: 'ok' | 'bad', text: string) => void; reload: () => void }) {
  const [reason, setReason] = useState('');
  const [comment, setComment] = useState('');
  const [at, setAt] = useState('');
  const [impact, setImpact] = useState<any>(null);
  const [busy, setBusy] = useState(false);
  const isRequester = p.requestedBy.name === me.email || p.rebasedBy?.name === me.email;
  const canApprove =
    p.status === 'AWAITING_APPROVAL' &&
    may(me, 'approver') &&
    !(p.approvals.separationOfDuties && isRequester) &&
    !p.approvals.given.some((g: any) => g.by === me.email && g.counts);
  const deployer = may(me, 'deployer');
  const act = async (label: string, method: string, path: string, body?: unknown, after?: (r: any) => string) => {
    setBusy(true);
    try {
      const r = await api(method, `api/v1/promotions/${q(p.id)}${path}`, body);
      say('ok', after ? after(r) : `${label}: done.`);
      setReason('');
      setImpact(null);
      reload();
    } catch (e) {
      say('bad', `${label} failed: ${(e as ApiError).message}`);
    } finally {
      setBusy(false);
    }
  };
  const sections = [];
  if (canApprove) {
    sections.push(
      <form
        key="decide"
        class="action"
        onSubmit={(e) => (
          e.preventDefault(),
          act(
            'Approve',
            'POST',
            '/approve',
            comment ? { comment } : {},
            (r) => `Approved ${p.id} as ${me.email}: now ${r.status.toLowerCase().replace(/_/g, ' ')}.`,
          )
        )}
      >
        <h2>Your decision</h2>
        <p class="mut">
          You approve as {me.email}, for release {p.releaseDigest.slice(7, 19)} (the changes above).
        </p>
        <label for="comment">Comment (kept with the approval)</label>
        <input id="comment" class="wide" value={comment} onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy}>
            Approve
          </button>
        </div>
        <label for="reject-reason">Reason to reject (required to reject)</label>
        <input id="reject-reason" class="wide" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        <div class="buttons">
          <button
            type="button"
            class="danger"
            disabled={busy}
            onClick={() =>
              reason.trim()
                ? act('Reject', 'POST', '/reject', { reason: reason.trim() }, () => `Rejected ${p.id}.`)
                : say('bad', 'A rejection needs a reason the requester can act on.')
            }
          >
            Reject
          </button>
        </div>
      </form>,
    );
  } else if (p.status === 'AWAITING_APPROVAL' && may(me, 'approver') && isRequester && p.approvals.separationOfDuties) {
    sections.push(
      <p key="sod" class="mut">
        You requested this promotion, so you cannot approve it (separation of duties).
      </p>,
    );
  }
  if (deployer && (p.status === 'PENDING' || p.status === 'VALIDATION_FAILED')) {
    sections.push(<Evidence key="evidence" p={p} act={act} busy={busy} say={say} />);
    sections.push(
      <button
        key="validate"
        type="button"
        disabled={busy}
        onClick={() => act('Validate', 'POST', '/validate', undefined, (r) => `Validation started for ${p.id}: ${r.status.toLowerCase()}.`)}
      >
        Validate
      </button>,
    );
  }
  // Queued behind another promotion: it goes on by itself (executing or scheduling it now would only queue it again).
  if (deployer && p.waitingFor === 'execution' && !p.heldBy?.promotion) {
    sections.push(
      <button
        key="execute"
        type="button"
        class="primary"
        disabled={busy}
        onClick={() => act('Execute', 'POST', '/execute', { dryRun: false }, () => `Execution of ${p.id} started.`)}
      >
        Execute now
      </button>,
    );
    sections.push(
      <form
        key="schedule"
        class="inline"
        onSubmit={(e) => (
          e.preventDefault(),
          act('Schedule', 'POST', '/schedule', { at: new Date(at).toISOString() }, (r) => `Scheduled ${p.id} for ${r.scheduledAt}.`)
        )}
      >
        <label for="at">Run at (your local time)</label>
        <input id="at" type="datetime-local" required value={at} onInput={(e) => setAt((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={busy}>
          Schedule
        </button>
      </form>,
    );
  }
  if (deployer && p.status === 'AWAITING_APPROVAL' && p.subject.type !== 'artifact')
    sections.push(
      <button
        key="rebase"
        type="button"
        disabled={busy}
        onClick={() =>
          act('Rebase', 'POST', '/rebase', undefined, (r: any) =>
            r?.releaseDigest === p.releaseDigest
              ? `Nothing newer: ${p.id} already promotes ${p.subject.type === 'bundle' ? 'the newest bundle of its name' : `${p.sourceEnvironment}'s newest snapshot`}.`
              : `Rebased ${p.id} onto ${p.subject.type === 'bundle' ? `the newest ${p.subject.name} bundle` : `${p.sourceEnvironment}'s newest snapshot`}; its approvals start over.`,
          )
        }
      >
        Rebase
      </button>,
    );
  if (deployer && ACTIVE.includes(p.status))
    sections.push(
      <button key="cancel" type="button" class="danger" disabled={busy} onClick={() => act('Cancel', 'DELETE', '', undefined, () => `Cancelled ${p.id}.`)}>
        Cancel promotion
      </button>,
    );
  if (deployer && p.status === 'COMPLETED' && p.sourceEnvironment !== p.targetEnvironment) {
    sections.push(
      <form key="rollback" class="action" onSubmit={(e) => e.preventDefault()}>
        <h2>Roll back</h2>
        <label for="rollback-reason">Why (kept in the audit trail)</label>
        <input id="rollback-reason" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        <div class="buttons">
          <button
            type="button"
            disabled={busy || !reason.trim()}
            onClick={async () => {
              try {
                setImpact(await api('POST', `api/v1/promotions/${q(p.id)}/rollback`, { reason: reason.trim(), dryRun: true }));
              } catch (e) {
                say('bad', `Impact analysis failed: ${(e as ApiError).message}`);
              }
            }}
          >
            Show the impact
          </button>
          {impact && (
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() =>
                act(
                  'Roll back',
                  'POST',
                  '/rollback',
                  { reason: reason.trim() },
                  // A rollback is a promotion of its own, under the environment's approval policy: say where it stands.
                  (r) => `Rollback ${r.promotion.id} of what ${p.id} changed: ${String(r.promotion.status).toLowerCase().replace(/_/g, ' ')}.`,
                )
              }
            >
              Confirm the rollback
            </button>
          )}
        </div>
        {impact && (
          <div class="why-box">
            <p>
              Reverts:{' '}
              {(impact.reverts ?? [])
                .map((r: any) => (r.artifact ? `${r.artifact} ${r.from ?? 'nothing'} → ${r.to}` : `${r.action} ${r.kind} ${r.key}`))
                .join(', ') || 'nothing'}
            </p>
            {impact.impact && (
              <p>
                Recommendation: {impact.impact.recommendation}
                {impact.impact.reasons?.length ? ` (${impact.impact.reasons.join('; ')})` : ''}
              </p>
            )}
          </div>
        )}
      </form>,
    );
  }
  if (!sections.length) return null;
  return (
    <section class="actions" aria-label="Actions">
      {sections}
    </section>
  );
}

const EVIDENCE_TYPES = {
  test_results: '{"passed": 412, "failed": 0}',
  security_scan: '{"critical": 0, "high": 0, "signatureVerified": true}',
  cost_estimate: '{"monthlyDelta": 0}',
  benchmark: '{"metric": "p99_ms", "value": 180, "baseline": 190}',
  policy: '{"passed": true}',
  metrics: '{"error_rate": 0.001}',
} as const;

/** Evidence for the gates (what a pipeline usually posts), typed in by a person. */
function Evidence({
  p,
  act,
  busy,
  say,
}: {
  p: any;
  act: (label: string, method: string, path: string, body?: unknown, after?: (r: any) => string) => Promise<void>;
  busy: boolean;
  say: (tone: 'ok' | 'bad', text: string) => void;
}) {
  const [type, setType] = useState<keyof typeof EVIDENCE_TYPES>('test_results');
  const [payload, setPayload] = useState<string>(EVIDENCE_TYPES.test_results);
  const submit = (e: Event) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      say('bad', 'The payload is not JSON.');
      return;
    }
    void act('Attach evidence', 'POST', '/evidence', { type, payload: parsed }, (r) => `Evidence ${r.id} (${r.type}) attached to ${p.id}.`);
  };
  return (
    <form class="action" onSubmit={submit}>
      <h2>Evidence</h2>
      <label for="evidence-type">Type</label>
      <select
        id="evidence-type"
        value={type}
        onChange={(e) => {
          const t = (e.target as HTMLSelectElement).value as keyof typeof EVIDENCE_TYPES;
          setType(t);
          setPayload(EVIDENCE_TYPES[t]);
        }}
      >
        {Object.keys(EVIDENCE_TYPES).map((t) => (
          <option key={t}>{t}</option>
        ))}
      </select>
      <label for="evidence-payload">Payload (JSON)</label>
      <input id="evidence-payload" class="wide" value={payload} onInput={(e) => setPayload((e.target as HTMLInputElement).value)} />
      <div class="buttons">
        <button type="submit" disabled={busy}>
          Attach
        </button>
      </div>
    </form>
  );
}
