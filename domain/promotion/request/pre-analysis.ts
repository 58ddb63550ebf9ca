import { IMPLICIT_TARGET, targetsOf } from '../../config/targets.ts';
import type { Environment } from '../../kernel/model.ts';
import type { GateResult, MeasurementRecord, Promotion } from '../../kernel/promotion-model.ts';
import type { With } from '../../kernel/deps.ts';
import { measureOnce } from '../../verification/measure.ts';
import { type AnalysisTemplate } from '../../verification/template.ts';
import { queryContext, templateBook } from '../rollout/analysis.ts';

/**
 * Pre-promotion analysis: an environment's `preAnalysis` checks the SOURCE environment before a release moves on
 * ("staging has been healthy for the last 30 minutes"): each template measured once per target of the source
 * environment over its look-back window, judged by its conditions. A blocking gate per template (`analysis:<name>`):
 * a Failed, Error or Inconclusive answer (no data) fails it — closed — with the measurements as its evidence.
 */
export async function preAnalysisGate(deps: With<'metrics'>, p: Promotion, target: Environment | null): Promise<GateResult[]> {
  const refs = target?.preAnalysis ?? [];
  if (!refs.length || p.rollback) return [];
  const [source, stored] = await Promise.all([deps.store.getEnvironment(p.tenant, p.sourceEnvironment), deps.store.getAnalysisTemplates(p.tenant)]);
  const book = templateBook(stored?.templates);
  const out: GateResult[] = [];
  for (const ref of refs) {
    const gate = `analysis:${ref.template}`;
    const found = book.get(ref.template);
    if (!found || !source) {
      out.push({
        gate,
        verdict: 'FAIL',
        blocking: true,
        reason: !found ? `analysis template '${ref.template}' is not defined` : `the source environment '${p.sourceEnvironment}' no longer exists`,
        evidenceRefs: [],
      });
      continue;
    }
    const template: AnalysisTemplate = ref.lookbackSeconds ? { ...found, lookbackSeconds: ref.lookbackSeconds } : found;
    const places = targetsOf(source).length ? targetsOf(source) : [{ name: IMPLICIT_TARGET, parameters: [], labels: {} } as never];
    const measurements: (MeasurementRecord & { target: string })[] = [];
    for (const t of places.slice(0, 20)) {
      const ctx = queryContext(p, source, t, t.name, ref.args ?? [], template);
      const m = await measureOnce(deps, p.tenant, template, ctx, { ...(t.region ? { region: t.region } : {}), ...(t.account ? { account: t.account } : {}) });
      measurements.push({ ...m, target: t.name });
    }
    const bad = measurements.filter((m) => m.phase !== 'Successful');
    const window = `the last ${Math.round(template.lookbackSeconds / 60)} min`;
    out.push({
      gate,
      verdict: bad.length ? 'FAIL' : 'PASS',
      blocking: true,
      reason: bad.length
        ? `'${p.sourceEnvironment}' was not healthy over ${window}: ${bad.map((m) => `${m.target} ${m.phase.toLowerCase()}${m.value !== null ? ` (${m.value})` : m.error ? ` (${m.error})` : ''}`).join(', ')}`
        : `'${p.sourceEnvironment}' was healthy over ${window} on ${measurements.length} target${measurements.length === 1 ? '' : 's'}`,
      evidenceRefs: [],
      measurements,
    });
  }
  return out;
}
