import { api, ApiError, q } from '../api.ts';
import { changeStateName } from '../../domain/change/servicenow-states.ts';
import type { Session } from '../auth.ts';
import { EnvLink, Loading, PromotionLink, Status, Time, usePoll, Wrap } from '../ui.tsx';
import { firstOf, gatesBlocking } from '../../domain/kernel/display.ts';
import { lazy } from '../lazy.tsx';

import { Rollout } from './rollout.tsx';
import { Attestation } from './attestation.tsx';
import { BundleChanges, KeyChanges } from './bundle.tsx';
import { ACTIVE, Actions } from './promotion-actions.tsx';

// The charts (uPlot) load when there is something to chart: a chunk of their own.
const GateMeasurements = lazy(() => import('./analysis.tsx').then((m) => m.GateMeasurements));

/** A config promotion's title as a release manager reads it: "All configuration of staging (snapshot 2)", "Keys matching query.* of staging (snapshot 2)". */
export function configTitle(
  s: { promotionType: string; keyPatterns?: string[]; configIds?: string[]; flagIds?: string[]; sourceSnapshot: { seq: number } },
  from: string,
) {
  const snap = `of ${from} (snapshot ${s.sourceSnapshot.seq})`;
  if (s.promotionType === 'PATTERN') return `Keys matching ${(s.keyPatterns ?? []).join(', ')} ${snap}`;
  if (s.promotionType === 'SELECTIVE') {
    const n = (s.configIds?.length ?? 0) + (s.flagIds?.length ?? 0);
    return `${n} selected key${n === 1 ? '' : 's'} ${snap}`;
  }
  return `All configuration ${snap}`;
}

/** One promotion: what moves, gates, policy and approvals, its timeline and deliveries, and the actions this person may take. */
export function PromotionPage({ id, me, say }: { id: string; me: Session; say: (tone: 'ok' | 'bad', text: string) => void }) {
  const { data: p, error, reload } = usePoll<any>(`api/v1/promotions/${q(id)}`);
  const { data: changes } = usePoll<any>(`api/v1/promotions/${q(id)}/changes`, 15000);
  const { data: audit } = usePoll<any>(`api/v1/audit?entityType=promotion&entityId=${q(id)}&limit=50`, 15000);
  if (!p) return <Loading error={error} />;
  const route = p.sourceEnvironment === p.targetEnvironment ? `rollback of ${p.targetEnvironment}` : `${p.sourceEnvironment} → ${p.targetEnvironment}`;
  const what =
    p.subject.type === 'artifact'
      ? `${p.subject.name} ${p.subject.version}`
      : p.subject.type === 'bundle'
        ? `bundle ${p.subject.name}`
        : configTitle(p.subject, p.sourceEnvironment);
  return (
    <article aria-labelledby="promotion-title">
      <p class="crumbs">
        <a href="#/">Pipeline</a> › <EnvLink name={p.targetEnvironment} /> › promotion
      </p>
      <h1 id="promotion-title">
        {what} <span class="mut">{route}</span>
      </h1>
      <p>
        <Status value={p.status} /> <code>{p.id}</code> · requested by {p.requestedBy.name} <Time at={p.requestedAt} />
        {p.notes && <> · “{p.notes}”</>}
      </p>
      {error && <p class="notice bad">Not refreshed: {error}</p>}
      <Why p={p} />
      {p.rollout && <Rollout p={p} me={me} say={say} reload={reload} />}
      <section aria-labelledby="changes-title">
        <h2 id="changes-title">What it changes</h2>
        <Changes c={changes} />
      </section>
      <Actions p={p} me={me} say={say} reload={reload} />
      {p.pullRequest && <PullRequest pr={p.pullRequest} />}
      {p.changeRequest && <ChangeRequest cr={p.changeRequest} />}
      <section aria-labelledby="gates-title">
        <h2 id="gates-title">Gates</h2>
        {p.gates?.length ? (
          <Wrap>
            <table>
              <caption class="sr">Validation gates, their verdicts and reasons</caption>
              <thead>
                <tr>
                  <th scope="col">Gate</th>
                  <th scope="col">Verdict</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {p.gates.map((g: any) => (
                  <tr key={g.gate}>
                    <th scope="row">
                      {g.gate.replace(/_/g, ' ')}
                      {g.blocking ? '' : ' (warns only)'}
                    </th>
                    <td>
                      <Status value={g.verdict} />
                    </td>
                    <td>
                      {g.reason}
                      <GateMeasurements gate={g} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Wrap>
        ) : (
          <p class="mut">Not validated yet.</p>
        )}
      </section>
      <section aria-labelledby="approvals-title">
        <h2 id="approvals-title">Policy and approvals</h2>
        {p.policy.requiresApproval ? (
          <>
            <p>
              {p.approvals.required} approval{p.approvals.required === 1 ? '' : 's'} from {p.approvals.approverGroups.join(' or ')}
              {p.approvals.separationOfDuties ? ', not the requester' : ''}.{' '}
              {p.approvals.remaining
                ? `${p.approvals.given.filter((g: any) => g.counts).length} of ${p.approvals.required} given, ${p.approvals.remaining} still needed.`
                : 'Enough approvals given.'}
              {p.approvals.expiresAt && p.status === 'AWAITING_APPROVAL' && (
                <>
                  {' '}
                  The window closes <Time at={p.approvals.expiresAt} /> UTC.
                </>
              )}
            </p>
            <ul class="plain">
              {p.approvals.given.map((g: any) => (
                <li key={g.by + g.at}>
                  {g.counts ? '✓' : '·'} {g.by} <Time at={g.at} />
                  {g.comment && <> — “{g.comment}”</>}
                  {!g.counts && <span class="mut"> (does not count: {g.why})</span>}
                </li>
              ))}
            </ul>
          </>
        ) : (
          <p>No approval needed.</p>
        )}
        {p.rejection && (
          <p class="notice bad">
            Rejected by {p.rejection.by} <Time at={p.rejection.at} />: {p.rejection.reason}
          </p>
        )}
      </section>
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        <ol class="timeline">
          {p.transitions.map((t: any, i: number) => (
            <li key={i}>
              <Time at={t.at} seconds /> <Status value={t.status} /> <span class="mut">by {t.by}</span>
            </li>
          ))}
        </ol>
        {audit?.items?.length > 0 && (
          <details>
            <summary>Audit entries ({audit.items.length})</summary>
            <ul class="plain">
              {audit.items.map((a: any) => (
                <li key={a.id}>
                  <Time at={a.at} seconds /> <code>{a.action}</code> by {a.actorName}
                  {a.reason && <> — {a.reason}</>}
                </li>
              ))}
            </ul>
          </details>
        )}
      </section>
      <section aria-labelledby="deliveries-title">
        <h2 id="deliveries-title">Outcome and deliveries</h2>
        {p.result ? (
          <dl>
            <dt>Deployed</dt>
            <dd>
              <Time at={p.result.deployedAt} /> · digest <code>{p.result.digest.slice(0, 19)}…</code>
            </dd>
            {p.result.git && (
              <>
                <dt>Git</dt>
                {p.result.git.perTarget ? (
                  <dd>
                    each target's own file, {p.result.git.branch}:{p.result.git.file}, committed as its wave changed it (its commit is on its row under Targets)
                  </dd>
                ) : (
                  <dd>
                    {p.result.git.pullRequest ? 'merged' : p.result.git.changed ? 'committed' : 'already there'} <code>{p.result.git.commit.slice(0, 10)}</code>{' '}
                    to {p.result.git.branch}
                    {p.result.git.members ? (
                      <>
                        , every member in this one commit:{' '}
                        {p.result.git.members.map((m: { artifact: string; file: string; path: string; value: string }, i: number) => (
                          <span key={m.artifact}>
                            {i ? ', ' : ''}
                            {m.artifact} → {m.file} {m.path} = <code>{m.value}</code>
                          </span>
                        ))}
                      </>
                    ) : (
                      <>:{p.result.git.file}</>
                    )}
                  </dd>
                )}
              </>
            )}
            {p.result.gitRevert && (
              <>
                <dt>Git revert</dt>
                <dd>{p.result.gitRevert.error ?? <code>{p.result.gitRevert.commit?.slice(0, 10)}</code>}</dd>
              </>
            )}
          </dl>
        ) : (
          <p class="mut">{p.rollout && p.status === 'EXECUTING' ? 'Rolling out: each target above says where it stands.' : <NoResult p={p} />}</p>
        )}
        {p.error && (
          <p class="notice bad">
            {p.error.code}: {p.error.message}
          </p>
        )}
        {p.monitorAlarm && (
          <p class="notice bad">
            Rolled back by alarm {p.monitorAlarm.name}: {p.monitorAlarm.reason}
          </p>
        )}
        {p.notifications?.length > 0 && (
          <ul class="plain">
            {p.notifications.map((n: any, i: number) => (
              <li key={i}>
                {n.channel} {n.kind} → {n.target}: {n.status}
                {n.error ? ` (${n.error})` : ''}
              </li>
            ))}
          </ul>
        )}
        <Attestation p={p} />
        <p>
          <button type="button" class="link" onClick={() => downloadDecision(p.id, say)}>
            Download the decision record (JSON)
          </button>
        </p>
      </section>
    </article>
  );
}

/**
 * Queued behind another promotion executing into the same environment (a rollout through its waves, or a
 * bake): which one, linked, and what it is doing; it goes on by itself when that one ends.
 */
/**
 * What a promotion without a result did: a rollout that changed targets and put them back says so (how many, the
 * first few by name), never "Nothing deployed". The counts are the rollout's totals: a fleet's detail lists only a
 * page of rows per wave, so counting rows would say 140 where 700 changed.
 */
function NoResult({ p }: { p: any }) {
  const totals = p.rollout?.totals ?? { changed: 0, putBack: 0 };
  if (!totals.changed) return <>{`Nothing deployed${ACTIVE.includes(p.status) ? ' yet' : ''}.`}</>;
  const rows = (p.rollout?.waves ?? []).flatMap((w: any) => w.targets);
  const touched = rows.filter((t: any) => t.appliedAt).map((t: any) => t.name);
  const back = rows.filter((t: any) => t.rolledBackAt).map((t: any) => t.name);
  const named = (names: string[], total: number) => (names.length ? ` (${firstOf(names, total)})` : '');
  return (
    <>
      {totals.changed} target{totals.changed === 1 ? '' : 's'} changed{named(touched, totals.changed)}
      {totals.putBack
        ? `; ${totals.putBack === totals.changed ? 'all' : `${totals.putBack} of them${named(back, totals.putBack)}`} put back by the rollback`
        : ''}
      {totals.putBack < totals.changed ? `; ${totals.changed - totals.putBack} still run it` : ''}. Each target's row above says when.
    </>
  );
}

function Queued({ h }: { h: { promotion: string; reason: string; until: string } }) {
  const prefix = `waits for promotion ${h.promotion}`;
  // The reason reads "waits for promotion <id>, rolling out into production (wave 2 of 3)": the id becomes a link.
  const rest = h.reason.startsWith(prefix) ? h.reason.slice(prefix.length) : `: ${h.reason}`;
  return (
    <p class="why-box">
      Approved; queued: waits for promotion <PromotionLink id={h.promotion} />
      {rest}. It goes on by itself when that one ends (checked again by <Time at={h.until} /> at the latest).
    </p>
  );
}

/** Held while its target's CI gate runs: the run, linked, and what happens when it ends. */
function CiWait({ h, r }: { h: { ci: { run: string | null; status: string; url: string | null }; until: string }; r: any }) {
  const name = r?.host === 'gitlab' ? `GitLab pipeline ${h.ci.run}` : `GitHub Actions run ${h.ci.run}${r?.workflow ? ` of ${r.workflow}` : ''}`;
  return (
    <p class="why-box">
      Approved; waiting for its CI gate:{' '}
      {h.ci.run && h.ci.url && /^https?:\/\//.test(h.ci.url) ? (
        <a href={h.ci.url} rel="noopener noreferrer" target="_blank">
          {name}
        </a>
      ) : (
        'the run is being started'
      )}{' '}
      is {h.ci.status}. It goes on when the run succeeds, and is rejected if it fails or has not ended by{' '}
      {r?.deadline ? <Time at={r.deadline} /> : 'its deadline'} (looked at again by <Time at={h.until} />
      ).
    </p>
  );
}

function Why({ p }: { p: any }) {
  if (p.status === 'SCHEDULED' && p.heldBy?.promotion) return <Queued h={p.heldBy} />;
  if (p.status === 'SCHEDULED' && p.heldBy?.ci) return <CiWait h={p.heldBy} r={p.ciRun} />;
  const text =
    p.status === 'AWAITING_APPROVAL'
      ? `Waiting for ${p.approvals.remaining}${p.approvals.given.some((g: { counts?: boolean }) => g.counts) ? ' more' : ''} approval${p.approvals.remaining === 1 ? '' : 's'} from ${p.approvals.approverGroups.join('/')}.`
      : p.status === 'VALIDATION_FAILED'
        ? `${gatesBlocking(p.gates) || p.error?.message || 'The gates failed'}. Attach the missing evidence, then validate again.`
        : p.waitingFor === 'merge' && p.pullRequest
          ? `Approved; waiting for ${prName(p.pullRequest)} to be merged on ${p.pullRequest.host === 'gitlab' ? 'GitLab' : 'GitHub'} (${MERGE_STATE[p.pullRequest.mergeState] ?? p.pullRequest.mergeState}). Merging it completes the promotion; closing it fails it.`
          : p.status === 'SCHEDULED' && p.heldBy?.window
            ? `Approved; held by freeze window ${p.heldBy.window} (${p.heldBy.reason}): it goes on by itself when the window ends.`
            : p.status === 'SCHEDULED' && p.heldBy?.change
              ? `Approved; waiting for change request ${p.heldBy.change.number}: ${p.heldBy.reason}. It goes on by itself once the change board approves it and its window is open.`
              : p.status === 'SCHEDULED' && p.heldBy?.hours
                ? `Approved; ${p.heldBy.reason}. It goes on by itself then (an admin may break glass to start it now).`
                : p.status === 'SCHEDULED' && p.heldBy?.soak
                  ? `Approved; ${p.heldBy.reason}. It goes on by itself then (an alarm in ${p.heldBy.soak.environment} before that starts the soak again).`
                  : p.waitingFor === 'execution'
                    ? 'Approved; waiting for someone to execute or schedule it.'
                    : p.status === 'PENDING'
                      ? 'Its gates have not run yet: they start on their own, unless it was created to collect evidence first (then attach the evidence below and validate).'
                      : null;
  return text ? <p class={`why-box ${p.status === 'VALIDATION_FAILED' ? 'bad' : ''}`}>{text}</p> : null;
}

const prName = (pr: { host: string; number: number }) => (pr.host === 'gitlab' ? `merge request !${pr.number}` : `pull request #${pr.number}`);

/** The host's words for what merging waits for, in a release manager's. */
const MERGE_STATE: Record<string, string> = {
  clean: 'ready to merge',
  blocked: 'blocked by its checks or reviews',
  behind: 'behind its base branch: Stageline pushes it again on top',
  dirty: 'in conflict with its base branch',
  draft: 'a draft',
  unknown: 'the host is still checking it',
};
const CHECK_MARK: Record<string, string> = { success: '✓ passed', failure: '✗ failed', pending: '… running', neutral: '· neutral' };

/** Pull-request delivery: the link, its state and merge state, and its head commit's checks (as last read from the host). */

/** The change request the promotion is bound to (change control): its number and link, state, window, and how it was closed. */
function ChangeRequest({ cr }: { cr: any }) {
  return (
    <section aria-labelledby="cr-title">
      <h2 id="cr-title">Change request</h2>
      <p>
        {cr.number ? (
          <a href={cr.url} rel="noopener noreferrer" target="_blank">
            {cr.number}
          </a>
        ) : (
          'being opened'
        )}{' '}
        in {cr.provider === 'servicenow' ? 'ServiceNow' : 'Jira Service Management'}
        {cr.state && <> · {changeStateName(cr.state)}</>}
        {cr.approval && <> · approval {cr.approval}</>}
        {cr.window && (
          <>
            {' '}
            · window <Time at={cr.window.start} /> to <Time at={cr.window.end} />
          </>
        )}
        {cr.checkedAt && (
          <>
            {' '}
            · read <Time at={cr.checkedAt} />
          </>
        )}
        {cr.closed && <> · closed {cr.closed}</>}
      </p>
      <p>
        For release <code>{cr.digest.slice(0, 19)}</code>
        {cr.voided.length ? <> (voided before: {cr.voided.map((v: { number: string }) => v.number).join(', ')})</> : null}.
      </p>
      {cr.reason && <p>{cr.reason}</p>}
    </section>
  );
}

function PullRequest({ pr }: { pr: any }) {
  return (
    <section aria-labelledby="pr-title">
      <h2 id="pr-title">{pr.host === 'gitlab' ? 'Merge request' : 'Pull request'}</h2>
      <p>
        <a href={pr.url} rel="noopener noreferrer" target="_blank">
          {prName(pr)}
        </a>{' '}
        from <code>{pr.headBranch}</code> into <code>{pr.baseBranch}</code> · <Status value={pr.state.toUpperCase()} />
        {pr.state === 'open' && <> · {MERGE_STATE[pr.mergeState] ?? pr.mergeState}</>}
        {pr.draft && ' · draft'} · read <Time at={pr.checkedAt} />
      </p>
      {pr.state === 'merged' && pr.mergeCommit && (
        <p>
          Merged as <code>{pr.mergeCommit.slice(0, 10)}</code>.
        </p>
      )}
      {pr.reason && <p class="notice bad">{pr.reason}</p>}
      {pr.checks.length ? (
        <Wrap>
          <table>
            <caption class="sr">Checks of the pull request's head commit</caption>
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {pr.checks.map((c: any) => (
                <tr key={c.name}>
                  <th scope="row">
                    {c.url ? (
                      <a href={c.url} rel="noopener noreferrer" target="_blank">
                        {c.name}
                      </a>
                    ) : (
                      c.name
                    )}
                  </th>
                  <td class={c.state === 'failure' ? 'bad' : ''}>{CHECK_MARK[c.state] ?? c.state}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Wrap>
      ) : (
        <p class="mut">No checks reported yet.</p>
      )}
    </section>
  );
}

function Changes({ c }: { c: any }) {
  if (!c) return <p class="mut">Loading…</p>;
  if (c.bundle) return <BundleChanges c={c} />;
  if (c.artifact)
    return (
      <p>
        {c.artifact.name}: <code>{c.artifact.from ?? 'nothing'}</code> → <code>{c.artifact.to}</code>{' '}
        <span class="mut">({c.artifact.toDigest.slice(0, 19)}…)</span>
      </p>
    );
  if (!c.total) return <p class="mut">No key changes.</p>;
  return <KeyChanges c={c} />;
}

async function downloadDecision(id: string, say: (tone: 'ok' | 'bad', text: string) => void) {
  try {
    const record = await api('GET', `api/v1/promotions/${q(id)}/decision`);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([JSON.stringify(record, null, 2)], { type: 'application/json' }));
    a.download = `${id}-decision.json`;
    a.click();
  } catch (e) {
    say('bad', `Could not read the decision record: ${(e as ApiError).message}`);
  }
}
