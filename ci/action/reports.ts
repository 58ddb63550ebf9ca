import { CiError, type EvidenceType } from './settings.ts';

/** The reports a job writes, read as evidence payloads. */

/**
 * A JUnit XML report (what test runners on both CIs write: Jest, Vitest, pytest, Maven Surefire, go-junit-report)
 * as test_results evidence: the totals of the root <testsuites>, or the sum of its <testsuite> elements.
 */
export function junitTotals(xml: string): { passed: number; failed: number; skipped: number } {
  const attrs = (tag: string) => {
    const out: Record<string, number> = {};
    for (const m of tag.matchAll(/\s([a-z]+)\s*=\s*"(\d+)"/g)) out[m[1]!] = Number(m[2]);
    return out;
  };
  const root = /<testsuites\b[^>]*>/.exec(xml)?.[0];
  const totals = root ? attrs(root) : {};
  let suites = [attrs(root ?? '')];
  if (!root || totals.tests === undefined) suites = [...xml.matchAll(/<testsuite\b[^>]*>/g)].map((m) => attrs(m[0]));
  if (!suites.length || suites.every((s) => s.tests === undefined)) throw new CiError('not a JUnit XML report: no <testsuite tests="…"> found');
  const sum = (k: string) => suites.reduce((n, s) => n + (s[k] ?? 0), 0);
  const failed = sum('failures') + sum('errors');
  const skipped = sum('skipped') + sum('disabled');
  return { passed: Math.max(0, sum('tests') - failed - skipped), failed, skipped };
}

/** A Trivy JSON report (`trivy image --format json`) as security_scan evidence: vulnerabilities by severity. */
export function trivyTotals(report: { Results?: { Vulnerabilities?: { Severity?: string }[] | null }[] }): Record<string, number | string> {
  const count: Record<string, number> = { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0 };
  for (const r of report.Results ?? []) for (const v of r.Vulnerabilities ?? []) if (v.Severity && v.Severity in count) count[v.Severity]!++;
  return { critical: count.CRITICAL!, high: count.HIGH!, medium: count.MEDIUM!, low: count.LOW!, scanner: 'trivy' };
}

/** The evidence payload a file holds: JUnit XML for test results, a Trivy report for a scan, or the payload itself as JSON. */
export function evidencePayload(type: EvidenceType, file: string, text: string): Record<string, unknown> {
  if (/^\s*</.test(text)) {
    if (type !== 'test_results') throw new CiError(`${file}: XML is read as a JUnit report, which is test_results evidence (not ${type})`);
    return { ...junitTotals(text), suite: file.split('/').pop()!.slice(0, 200) };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CiError(`${file} is neither JSON nor JUnit XML (${(err as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new CiError(`${file}: the evidence payload must be a JSON object`);
  if (type === 'security_scan' && 'Results' in json) return trivyTotals(json as Parameters<typeof trivyTotals>[0]);
  return json as Record<string, unknown>;
}
