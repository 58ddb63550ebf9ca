import type { Gates } from '../../kernel/schemas.ts';
import type { Evidence, GateResult } from '../../kernel/promotion-model.ts';
import type { WebhookOutcome } from '../ports.ts';

/**
 * Gate evaluation: a fixed, deterministic order; policy_compliance,
 * tests and security_scan block; cost_analysis and performance_baseline only
 * warn; webhook gates follow, by name. Missing evidence for an enabled
 * blocking gate, or a provider that errors or times out, FAILS (closed).
 */
export const GATE_ORDER = ['policy_compliance', 'tests', 'security_scan', 'cost_analysis', 'performance_baseline'] as const;

export type { WebhookGate, WebhookOutcome } from '../ports.ts';

export interface PolicyChecks {
  /** what the engine itself checked (release digest, forward-only line); violations fail the gate */
  violations: string[];
}

const latest = (evidence: Evidence[], type: Evidence['type']) =>
  [...evidence]
    .filter((e) => e.type === type)
    .sort((a, b) => (a.submittedAt < b.submittedAt ? 1 : a.submittedAt > b.submittedAt ? -1 : a.id < b.id ? 1 : -1))[0];

const num = (v: unknown) => (typeof v === 'number' ? v : 0);

/** One member of a bundle (`name@version`) and the evidence its artifact version carries. */
export interface MemberEvidence {
  member: string;
  evidence: Evidence[];
}

/**
 * `evidence`: the promotion's own and its release's. `members`: a bundle's, each with its version's evidence; a
 * bundle's gates then judge each member too (bundleVerdict).
 */
export function evaluateGates(
  gates: Gates,
  evidence: Evidence[],
  policy: PolicyChecks,
  webhooks: WebhookOutcome[],
  blockingHooks: Set<string>,
  members: MemberEvidence[] = [],
): GateResult[] {
  const out: GateResult[] = [];
  for (const gate of GATE_ORDER) {
    const blocking = gate === 'policy_compliance' || gate === 'tests' || gate === 'security_scan';
    if (!gates[gate]) {
      out.push({ gate, verdict: 'SKIPPED', blocking, reason: 'it is not enabled for the target environment', evidenceRefs: [] });
      continue;
    }
    out.push({ ...(members.length ? bundleVerdict(gate, evidence, members, policy) : judge(gate, evidence, policy)), gate, blocking });
  }
  for (const w of [...webhooks].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const blocking = blockingHooks.has(w.name);
    const failed = w.verdict !== 'PASS';
    out.push({
      gate: `webhook:${w.name}`,
      verdict: failed ? (blocking ? 'FAIL' : 'WARN') : 'PASS',
      blocking,
      reason: w.reason,
      evidenceRefs: [],
    });
  }
  return out;
}

const EVIDENCE_OF = {
  policy_compliance: 'policy',
  tests: 'test_results',
  security_scan: 'security_scan',
  cost_analysis: 'cost_estimate',
  performance_baseline: 'benchmark',
} as const satisfies Record<(typeof GATE_ORDER)[number], Evidence['type']>;

/**
 * A bundle's gate: its own evidence (on its promotion) and each member's (on the member's artifact version) are
 * judged apart. Any of them that does not pass decides (a member's failed scan fails the bundle, named); else the
 * bundle's own evidence covers every member, or each member passes on its own; else the gate is judged as with no
 * evidence (the blocking ones fail closed), naming the members without any.
 */
function bundleVerdict(
  gate: (typeof GATE_ORDER)[number],
  own: Evidence[],
  members: MemberEvidence[],
  policy: PolicyChecks,
): Omit<GateResult, 'gate' | 'blocking'> {
  const type = EVIDENCE_OF[gate];
  const has = (evidence: Evidence[]) => evidence.some((e) => e.type === type);
  const mine = judge(gate, own, policy);
  const judged = members.filter((m) => has(m.evidence)).map((m) => ({ member: m.member, ...judge(gate, m.evidence, { violations: [] }) }));
  const evidenceRefs = [...mine.evidenceRefs, ...judged.flatMap((j) => j.evidenceRefs)];
  // The bundle's own verdict speaks when it has evidence of this gate's kind (policy_compliance: the engine's checks too).
  const ownSpeaks = has(own) || gate === 'policy_compliance';
  const bad = [...(ownSpeaks && mine.verdict !== 'PASS' ? [{ member: 'the bundle', ...mine }] : []), ...judged.filter((j) => j.verdict !== 'PASS')];
  const listed = (js: { member: string; reason: string }[]) => js.map((j) => `${j.member}: ${j.reason}`).join('; ');
  if (bad.length) return { verdict: bad.some((b) => b.verdict === 'FAIL') ? 'FAIL' : 'WARN', reason: listed(bad), evidenceRefs };
  const passed = judged.length ? `; ${judged.length === members.length ? 'each member' : 'members'} too (${listed(judged)})` : '';
  if (ownSpeaks) return { verdict: 'PASS', reason: `the bundle: ${mine.reason}${passed}`, evidenceRefs };
  if (judged.length === members.length) return { verdict: 'PASS', reason: `each member passed (${listed(judged)})`, evidenceRefs };
  const without = members.filter((m) => !has(m.evidence)).map((m) => m.member);
  return { ...mine, reason: `${mine.reason}: neither on the bundle's promotion nor on ${without.join(', ')}`, evidenceRefs };
}

function judge(gate: (typeof GATE_ORDER)[number], evidence: Evidence[], policy: PolicyChecks): Omit<GateResult, 'gate' | 'blocking'> {
  switch (gate) {
    case 'policy_compliance': {
      const report = latest(evidence, 'policy');
      const violations = [...policy.violations, ...((report?.payload.violations as string[] | undefined) ?? [])];
      if (report && report.payload.passed === false && violations.length === 0) violations.push('the attached policy report did not pass');
      return violations.length
        ? { verdict: 'FAIL', reason: violations.join('; '), evidenceRefs: report ? [report.id] : [] }
        : {
            verdict: 'PASS',
            reason: 'the release is exactly what was requested and moves forward along the line' + (report ? ', and the attached policy report passed' : ''),
            evidenceRefs: report ? [report.id] : [],
          };
    }
    case 'tests': {
      const r = latest(evidence, 'test_results');
      if (!r) return { verdict: 'FAIL', reason: 'no test results were attached (this gate fails closed)', evidenceRefs: [] };
      const passed = num(r.payload.passed);
      const failed = num(r.payload.failed);
      if (passed + failed === 0) return { verdict: 'FAIL', reason: 'the attached test run reports no tests', evidenceRefs: [r.id] };
      return failed > 0
        ? { verdict: 'FAIL', reason: `${failed} of ${passed + failed} tests failed`, evidenceRefs: [r.id] }
        : { verdict: 'PASS', reason: passed === 1 ? 'the 1 test passed' : `all ${passed} tests passed`, evidenceRefs: [r.id] };
    }
    case 'security_scan': {
      const r = latest(evidence, 'security_scan');
      if (!r) return { verdict: 'FAIL', reason: 'no scan evidence was attached (this gate fails closed)', evidenceRefs: [] };
      const critical = num(r.payload.critical);
      const high = num(r.payload.high);
      // Fails closed: the scan must say it verified the artifact's signature (cosign verify + trivy scan).
      if (r.payload.signatureVerified !== true)
        return {
          verdict: 'FAIL',
          reason:
            r.payload.signatureVerified === false
              ? "the scan says the artifact's signature did not verify"
              : "the scan does not say the artifact's signature was verified (it needs signatureVerified: true; this gate fails closed)",
          evidenceRefs: [r.id],
        };
      return critical + high > 0
        ? {
            verdict: 'FAIL',
            reason: `the scan found ${critical} critical and ${high} high ${critical + high === 1 ? 'finding' : 'findings'}`,
            evidenceRefs: [r.id],
          }
        : { verdict: 'PASS', reason: 'the scan found nothing critical or high, and the signature was verified', evidenceRefs: [r.id] };
    }
    case 'cost_analysis': {
      const r = latest(evidence, 'cost_estimate');
      if (!r) return { verdict: 'WARN', reason: 'no cost estimate was attached', evidenceRefs: [] };
      const delta = num(r.payload.monthlyDelta);
      const budget = r.payload.budget as number | undefined;
      const currency = typeof r.payload.currency === 'string' && r.payload.currency ? ` ${r.payload.currency}` : '';
      return budget !== undefined && delta > budget
        ? { verdict: 'WARN', reason: `the monthly cost rises by ${delta}${currency}, over the budget of ${budget}${currency}`, evidenceRefs: [r.id] }
        : { verdict: 'PASS', reason: `the monthly cost changes by ${delta}${currency}`, evidenceRefs: [r.id] };
    }
    case 'performance_baseline': {
      const r = latest(evidence, 'benchmark');
      if (!r) return { verdict: 'WARN', reason: 'no benchmark was attached', evidenceRefs: [] };
      const value = num(r.payload.value);
      const baseline = num(r.payload.baseline);
      const tol = num(r.payload.tolerancePct);
      const worse = r.payload.higherIsBetter ? ((baseline - value) / Math.abs(baseline || 1)) * 100 : ((value - baseline) / Math.abs(baseline || 1)) * 100;
      return worse > tol
        ? {
            verdict: 'WARN',
            reason: `${String(r.payload.metric)} is ${worse.toFixed(1)}% worse than its baseline (the tolerance is ${tol}%)`,
            evidenceRefs: [r.id],
          }
        : { verdict: 'PASS', reason: `${String(r.payload.metric)} is within ${tol}% of its baseline`, evidenceRefs: [r.id] };
    }
  }
}

/** Facts for rule conditions, from the newest evidence of each type. */
export function factsFrom(evidence: Evidence[]): Record<string, unknown> {
  const facts: Record<string, unknown> = {};
  const t = latest(evidence, 'test_results');
  if (t) {
    const passed = num(t.payload.passed);
    const total = passed + num(t.payload.failed);
    facts['tests.passed'] = passed;
    facts['tests.failed'] = num(t.payload.failed);
    if (total > 0) facts['tests.pass_rate'] = Math.round((passed / total) * 10000) / 100;
  }
  const s = latest(evidence, 'security_scan');
  if (s) for (const k of ['critical', 'high', 'medium', 'low']) facts[`security.${k}`] = num(s.payload[k]);
  const m = latest(evidence, 'metrics');
  if (m) for (const [k, v] of Object.entries(m.payload)) facts[`metrics.${k}`] = v;
  const c = latest(evidence, 'cost_estimate');
  if (c) facts['cost.monthly_delta'] = num(c.payload.monthlyDelta);
  return facts;
}
