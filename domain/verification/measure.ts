import type { With } from '../kernel/deps.ts';
import { DomainError } from '../kernel/errors.ts';
import { bounded, judge, MAX_VALUES, type Measurement } from './analysis.ts';
import type { RenderedQuery } from './ports.ts';
import { roleFor, setUpAccount, type MetricRole } from './metric-accounts.ts';
import { celReady, renderQuery, type AnalysisTemplate, type QueryContext } from './template.ts';

/** Where the measured target runs: its region (CloudWatch reads there) and account, when it names them. */
export interface TargetPlace {
  region?: string;
  account?: string;
}

/** A CloudWatch measurement with no account, or none with a registered role: an Error measurement saying what to set up. */
class MetricsAccountMissing extends Error {
  override readonly name = 'MetricsAccountMissing';
}

/** The provider with its placeholders filled (CloudWatch dimension values) and the texts a provider sends. */
function render(template: AnalysisTemplate, ctx: QueryContext): { provider: AnalysisTemplate['provider']; rendered: RenderedQuery } {
  const p = template.provider;
  switch (p.type) {
    case 'prometheus':
    case 'datadog':
      return { provider: p, rendered: { query: renderQuery(p.query, ctx) } };
    case 'cloudwatch': {
      const metric = p.metric && { ...p.metric, dimensions: p.metric.dimensions.map((d) => ({ name: d.name, value: renderQuery(d.value, ctx) })) };
      return { provider: { ...p, ...(metric ? { metric } : {}) }, rendered: p.query !== undefined ? { query: renderQuery(p.query, ctx) } : {} };
    }
    case 'web':
      return {
        provider: p,
        rendered: {
          url: renderQuery(p.url, ctx, encodeURIComponent),
          headers: p.headers.map((h) => ({ name: h.name, value: renderQuery(h.value, ctx) })),
        },
      };
  }
}

/**
 * Takes one measurement: fills the template's placeholders, asks the provider, judges the values.
 * A placeholder without a value, a provider that fails or times out, or a condition that cannot be
 * evaluated is an `Error` measurement with a bounded message (providers never put secrets in theirs);
 * nothing throws.
 */
export async function measureOnce(
  deps: With<'metrics'>,
  tenant: string,
  template: AnalysisTemplate,
  ctx: QueryContext,
  place: TargetPlace = {},
): Promise<Measurement> {
  const now = deps.clock();
  const at = now.toISOString();
  let values: number[];
  try {
    const { provider, rendered } = render(template, ctx);
    // A template's explicit region (a metric kept in one region, like CloudFront's in us-east-1) wins over the target's; its account too.
    const region = (provider.type === 'cloudwatch' ? provider.region : undefined) ?? place.region;
    const account = (provider.type === 'cloudwatch' ? provider.account : undefined) ?? place.account;
    let role: MetricRole | null = null;
    if (provider.type === 'cloudwatch') {
      // CloudWatch is read only with the role the tenant registered for the account: never the platform's own credentials.
      if (!account) throw new MetricsAccountMissing(`cloudwatch: the target names no account to read: ${setUpAccount(undefined)}`);
      role = roleFor(tenant, (await deps.store.getMetricAccounts(tenant))?.accounts, account);
      if (!role) throw new MetricsAccountMissing(`cloudwatch: account ${account} has no registered role: ${setUpAccount(account)}`);
    }
    values = await deps.metrics.query(tenant, provider, rendered, {
      ...(region !== undefined ? { region } : {}),
      ...(account !== undefined ? { account } : {}),
      ...(role ? { role } : {}),
      lookbackSeconds: template.lookbackSeconds,
      now,
    });
  } catch (err) {
    const message =
      err instanceof DomainError || err instanceof MetricsAccountMissing ? err.message : `${template.provider.type}: ${(err as Error)?.message ?? String(err)}`;
    return { at, phase: 'Error', value: null, error: bounded(message) };
  }
  const kept = values.filter(Number.isFinite).slice(0, MAX_VALUES);
  await celReady();
  const judged = judge(template, kept);
  return {
    at,
    phase: judged.phase,
    value: judged.value,
    ...(kept.length ? { values: kept } : {}),
    ...(judged.error !== undefined ? { error: judged.error } : {}),
  };
}
