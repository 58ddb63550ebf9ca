import { CiError, type EvidenceType } from './settings.ts';

/** The reports a job writes, read as evidence payloads. */

/** The largest JUnit report read (a bigger one is refused: split it per suite, or attach its totals as JSON). */
export const JUNIT_MAX_BYTES = 20 * 1024 * 1024;

/**
 * A JUnit XML report (what test runners on both CIs write: Jest's jest-junit, Vitest, pytest, Maven Surefire,
 * go-junit-report) as test_results evidence, read as JUnit defines it: each <testcase> is one test, failed when
 * it holds a <failure> or an <error>, skipped when it holds a <skipped>, passed otherwise. Root and suite
 * attributes are only a fallback for a report without cases, since runners disagree on them (Jest and Vitest
 * leave `skipped` off the root; a flaky rerun is no failure). Comments, CDATA (failure messages) and
 * processing instructions are taken out first, so markup quoted in a message is never counted. The action
 * runs from the checkout with nothing installed (node: built-ins only), hence this scanner rather than an XML
 * library; what it reads is the element structure JUnit reports share.
 */
export function junitTotals(xml: string): { passed: number; failed: number; skipped: number } {
  if (Buffer.byteLength(xml) > JUNIT_MAX_BYTES)
    throw new CiError(`the JUnit report is larger than ${JUNIT_MAX_BYTES / 1024 / 1024} MiB: split it per suite, or attach its totals as JSON`);
  const body = xml
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '')
    .replace(/<\?[\s\S]*?\?>/g, '');
  if (!/<testsuites?\b/.test(body)) throw new CiError('not a JUnit XML report: no <testsuite> or <testsuites> element');
  const cases = [...body.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase\s*>)/g)];
  if (cases.length) {
    let failed = 0;
    let skipped = 0;
    for (const c of cases) {
      const inner = c[2] ?? '';
      if (/<(failure|error)\b/.test(inner)) failed++;
      else if (/<skipped\b/.test(inner)) skipped++;
    }
    return { passed: cases.length - failed - skipped, failed, skipped };
  }
  // No cases: the counts the report states, the root's and its suites', each the larger (runners leave some off either).
  const attrs = (tag: string) => {
    const out: Record<string, number> = {};
    for (const m of tag.matchAll(/\s([a-z]+)\s*=\s*"(\d+)"/g)) out[m[1]!] = Number(m[2]);
    return out;
  };
  const root = attrs(/<testsuites\b[^>]*>/.exec(body)?.[0] ?? '');
  const suites = [...body.matchAll(/<testsuite\b[^>]*>/g)].map((m) => attrs(m[0]));
  if (root.tests === undefined && !suites.some((x) => x.tests !== undefined)) throw new CiError('not a JUnit XML report: no <testcase> and no tests="…" count');
  const sum = (k: string) =>
    Math.max(
      root[k] ?? 0,
      suites.reduce((n, x) => n + (x[k] ?? 0), 0),
    );
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
