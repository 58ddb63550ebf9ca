import { describe, expect, it } from 'vitest';
import {
  checkEffects,
  gitCommitViolations,
  notifyViolations,
  pullRequestViolations,
  registryViolations,
  webhookViolations,
  gateViolations,
  type EffectInputs,
  type SeenManifestPut,
} from '../../chaos/effects/checks.ts';

/** The "effects once" rules of a chaos run (chaos/effects/checks.ts), over what the receivers would record. */
const msg = (promotion: string, extra: string[] = []) => ['Promote app v1 to staging', '', `Stageline-Promotion: ${promotion}`, ...extra, ''].join('\n');
const history = [{ at: '2026-01-01T00:00:00Z', tenant: 't1', promotionId: 'p1', method: 'POST', path: '/api/v1/promotions', status: 201 }];

describe('git-once', () => {
  it('one apply and one revert of a promotion on a target are two changes; a second of either is a violation, per target', () => {
    const ok = gitCommitViolations(
      [
        {
          tenant: 't1',
          repository: 'r',
          commits: [
            { sha: 'a', message: msg('p1') },
            { sha: 'b', message: msg('p1', ['Stageline-Rolled-Back: app@v1']) },
            { sha: 'c', message: msg('p2', ['Stageline-Target: east']) },
            { sha: 'd', message: msg('p2', ['Stageline-Target: west']) },
            { sha: 'e', message: 'seed' },
          ],
        },
      ],
      history,
    );
    expect(ok).toEqual([]);
    const twice = gitCommitViolations(
      [
        {
          tenant: 't1',
          repository: 'r',
          commits: [
            { sha: 'a', message: msg('p1') },
            { sha: 'b', message: msg('p1', ['Stageline-Rolled-Back: app@v1']) },
            { sha: 'c', message: msg('p1', ['Stageline-Rolled-Back: app@v1']) },
            { sha: 'd', message: msg('p2', ['Stageline-Target: east']) },
            { sha: 'e', message: msg('p2', ['Stageline-Target: east']) },
          ],
        },
      ],
      history,
    );
    expect(twice.map((v) => [v.invariant, v.promotionId, v.detail])).toEqual([
      ['git-once', 'p1', '2 commits revert promotion p1 on target (environment) in r: b, c'],
      ['git-once', 'p2', '2 commits apply promotion p2 on target east in r: d, e'],
    ]);
    expect(twice[0]!.history).toEqual(['2026-01-01T00:00:00Z POST /api/v1/promotions -> 201']);
  });

  it("pull requests: one per promotion, base and change (its revert is another); others' pull requests are not Stageline's", () => {
    const pulls = [
      { number: 1, head: 'stageline/p1', base: 'main', state: 'closed' },
      { number: 2, head: 'stageline/p1-revert', base: 'main', state: 'open' },
      { number: 3, head: 'stageline/p1', base: 'main', state: 'open', author: 'mallory' },
    ];
    expect(pullRequestViolations([{ tenant: 't1', repository: 'r', pulls }], [])).toEqual([]);
    const dup = pullRequestViolations(
      [{ tenant: 't1', repository: 'r', pulls: [...pulls, { number: 4, head: 'stageline/p1', base: 'main', state: 'open' }] }],
      [],
    );
    expect(dup.map((v) => [v.invariant, v.promotionId, v.detail])).toEqual([['git-once', 'p1', '2 pull requests apply promotion p1 into main of r: #1, #4']]);
  });
});

describe('registry-once', () => {
  const put = (reference: string, digest: string, registry = 'east'): SeenManifestPut => ({
    tenant: 't1',
    registry,
    repository: 'app',
    reference,
    digest,
    at: '2026-01-01T00:00:00Z',
  });
  it('a move back (a rollback: A, B, A), copies by digest, attachment tags and the same tag in another registry are no repeat', () => {
    const puts = [
      put('latest-staging', 'sha256:a'),
      put('sha256:b', 'sha256:b'),
      put('sha256:b', 'sha256:b'),
      put('latest-staging', 'sha256:b'),
      put('latest-staging', 'sha256:a'),
      put('latest-staging', 'sha256:a', 'west'),
      put(`sha256-${'c'.repeat(64)}.sig`, 'sha256:s'),
      put(`sha256-${'c'.repeat(64)}.sig`, 'sha256:s'),
    ];
    expect(registryViolations(puts, [], () => undefined)).toEqual([]);
  });
  it('the tag written again onto the digest it holds is a second move, named with the promotion that moved it', () => {
    const v = registryViolations([put('latest-staging', 'sha256:a'), put('latest-staging', 'sha256:a')], history, () => 'p1');
    expect(v.map((x) => [x.invariant, x.tenant, x.promotionId])).toEqual([['registry-once', 't1', 'p1']]);
    expect(v[0]!.detail).toContain('tag latest-staging of app in registry east was written twice onto sha256:a');
  });
});

describe('webhook-once', () => {
  const seen = (webhookId: string, eventId: string, verified = true) => ({
    tenant: 't1',
    webhookId,
    type: 'promotion.completed',
    eventId,
    promotionId: 'p1',
    verified,
    at: '',
    body: '{}',
  });
  const expected = [{ tenant: 't1', type: 'promotion.completed', eventId: 'e1', promotionId: 'p1' }];
  it('a redelivery under the same webhook-id is one delivery', () => {
    expect(webhookViolations([seen('msg_1', 'e1'), seen('msg_1', 'e1')], expected, [])).toEqual([]);
  });
  it('a second webhook-id for one event, a delivery that does not verify, and a published event never delivered are violations', () => {
    const v = webhookViolations(
      [seen('msg_1', 'e1'), seen('msg_2', 'e1'), seen('msg_3', 'e9', false)],
      [...expected, { tenant: 't1', type: 'promotion.failed', eventId: 'e2' }],
      [],
    );
    expect(v.map((x) => x.detail)).toEqual([
      "delivery msg_3 (promotion.completed) does not verify with the subscription's secret",
      'event e1 (promotion.completed of p1) was delivered under 2 webhook-ids: msg_1, msg_2',
      'event e2 (promotion.failed) was published and never reached the receiver',
    ]);
    expect(v.every((x) => x.invariant === 'webhook-once')).toBe(true);
  });
});

describe('notify-once', () => {
  const n = (channel: 'email' | 'slack', recipient: string, title: string, promotionId = 'p1') => ({
    tenant: 't1',
    channel,
    recipient,
    title,
    promotionId,
    at: '',
  });
  it('one per (event, channel, recipient): the same title to another recipient, on another channel or of another promotion is another notification', () => {
    expect(
      notifyViolations(
        [
          n('email', 'a@x', 'done'),
          n('email', 'b@x', 'done'),
          n('slack', 'h #c', 'done'),
          n('email', 'a@x', 'done', 'p2'),
          n('email', 'a@x', 'needs approval'),
        ],
        [],
      ),
    ).toEqual([]);
    const v = notifyViolations([n('email', 'a@x', 'done'), n('email', 'a@x', 'done')], []);
    expect(v.map((x) => [x.invariant, x.promotionId, x.detail])).toEqual([['notify-once', 'p1', '2 email notifications "done" to a@x (at , )']]);
  });
});

describe('gate-verdict (the gate receiver)', () => {
  const call = (promotionId: string, verdict: 'PASS' | 'FAIL') => ({ tenant: 't1', promotionId, verdict, at: '2026-01-01T00:00:01Z' });
  it('a promotion the receiver failed every time may not pass its gate nor execute; one whose gate passed was answered PASS at least once', () => {
    const found = gateViolations(
      [call('p1', 'FAIL'), call('p1', 'FAIL'), call('p2', 'FAIL'), call('p3', 'FAIL')],
      [
        { tenant: 't1', id: 'p1', gate: { verdict: 'PASS' }, executed: false },
        { tenant: 't1', id: 'p2', gate: { verdict: 'FAIL' }, executed: true },
        { tenant: 't1', id: 'p3', gate: { verdict: 'FAIL' }, executed: false },
      ],
      history,
    );
    expect(found.map((v) => `${v.invariant} ${v.promotionId}: ${v.detail}`)).toEqual([
      expect.stringMatching(/^gate-verdict p1: the gate receiver answered FAIL to all 2 calls, but its gate webhook:change-board says PASS/),
      expect.stringMatching(/^gate-verdict p2: the gate receiver answered FAIL to all 1 call, but it executed/),
    ]);
  });
  it('passes what the receiver said: a pass after a failed try (retried), and a fail that blocked', () => {
    expect(
      gateViolations(
        [call('p1', 'FAIL'), call('p1', 'PASS'), call('p3', 'FAIL')],
        [
          { tenant: 't1', id: 'p1', gate: { verdict: 'PASS' }, executed: true },
          { tenant: 't1', id: 'p3', gate: { verdict: 'FAIL' }, executed: false },
        ],
        history,
      ),
    ).toEqual([]);
  });
});

describe('checkEffects: every effect check over plain inputs (what effects.json holds)', () => {
  /** One of each effect of promotion p1 (staging, an artifact through a pull request), each once. */
  const inputs = (): EffectInputs => ({
    repositories: [
      { tenant: 't1', repository: 'r-commit', mode: 'commit', commits: [{ sha: 'a', message: msg('p1') }], pulls: [] },
      { tenant: 't1', repository: 'r-pr', mode: 'pull-request', commits: [], pulls: [{ number: 1, head: 'stageline/p1', base: 'main', state: 'merged' }] },
    ],
    manifestPuts: [{ tenant: 't1', registry: 'east', repository: 'app', reference: 'latest-staging', digest: 'sha256:a', at: '2026-01-01T00:00:01Z' }],
    webhooks: [
      {
        tenant: 't1',
        webhookId: 'msg_1',
        type: 'promotion.completed',
        eventId: 'e1',
        promotionId: 'p1',
        verified: true,
        at: '2026-01-01T00:00:02Z',
        body: '{}',
      },
    ],
    expectedWebhooks: [{ tenant: 't1', type: 'promotion.completed', eventId: 'e1', promotionId: 'p1' }],
    gates: [{ tenant: 't1', promotionId: 'p1', verdict: 'PASS', at: '2026-01-01T00:00:00Z' }],
    gatedPromotions: [{ tenant: 't1', id: 'p1', gate: { verdict: 'PASS' }, executed: true }],
    notifications: [{ tenant: 't1', channel: 'email', recipient: 'ops@t1.test', title: 'p1 is live', promotionId: 'p1', at: '2026-01-01T00:00:03Z' }],
    lost: [],
    promotions: [{ tenant: 't1', id: 'p1', environment: 'staging' }],
  });

  it('finds nothing in effects made once, and the same after a trip through JSON (a history on disk)', () => {
    expect(checkEffects(inputs(), history)).toEqual([]);
    expect(checkEffects(JSON.parse(JSON.stringify(inputs())) as EffectInputs, history)).toEqual([]);
  });

  it('names each effect made twice, with the promotion a tag move is attributed to (the one promotion into the environment its tag names)', () => {
    const i = inputs();
    i.repositories[0]!.commits.push({ sha: 'b', message: msg('p1') });
    i.repositories[1]!.pulls.push({ number: 2, head: 'stageline/p1', base: 'main', state: 'open' });
    i.manifestPuts.push({ ...i.manifestPuts[0]!, at: '2026-01-01T00:00:05Z' });
    i.webhooks.push({ ...i.webhooks[0]!, webhookId: 'msg_2' });
    i.notifications.push({ ...i.notifications[0]!, at: '2026-01-01T00:00:06Z' });
    i.gates[0]!.verdict = 'FAIL';
    const found = checkEffects(i, history);
    expect(found.map((v) => `${v.invariant} ${v.promotionId}`).sort()).toEqual(
      ['gate-verdict p1', 'git-once p1', 'git-once p1', 'notify-once p1', 'registry-once p1', 'webhook-once p1'].sort(),
    );
    // A lost answer between the two tag writes makes the second a redelivery, as the live check says.
    i.lost.push({ at: '2026-01-01T00:00:04Z', what: 'PUT http://127.0.0.1:1/v2/app/manifests/latest-staging' });
    expect(checkEffects(i, history).filter((v) => v.invariant === 'registry-once')).toEqual([]);
  });
});
