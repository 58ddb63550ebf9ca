import type { SecretResolver } from '#domain/kernel/ports';
import type { MeasureAt, MetricsPort, RenderedQuery } from '#domain/verification/ports';
import type { MetricsProvider } from '#domain/verification/template';
import { secretsFromEnv } from '../secrets.ts';
import { redactSecrets } from './bounds.ts';
import { CloudWatchMetrics } from './cloudwatch.ts';
import { queryPrometheus } from './prometheus.ts';
import { queryWeb } from './web.ts';

/**
 * The metrics port: each provider type to its adapter (one module each). The secrets a query read are
 * cut out of any message it fails with (a provider might echo a header), before the message is shortened,
 * so an Error measurement never shows one, nor a prefix of one. Datadog's client is loaded only when a Datadog template is measured.
 */
export class ProviderMetrics implements MetricsPort {
  constructor(
    private readonly secrets: SecretResolver = secretsFromEnv(),
    private readonly cloudWatch: CloudWatchMetrics = new CloudWatchMetrics(),
  ) {}

  async query(tenant: string, provider: MetricsProvider, rendered: RenderedQuery, at: MeasureAt): Promise<number[]> {
    const read: string[] = [];
    const secrets: SecretResolver = {
      resolve: async (t, name, purpose) => {
        const value = await this.secrets.resolve(t, name, purpose);
        if (value) read.push(value);
        return value;
      },
    };
    try {
      switch (provider.type) {
        case 'prometheus':
          return await queryPrometheus(tenant, provider, rendered, at, secrets);
        case 'cloudwatch':
          return await this.cloudWatch.query(tenant, provider, rendered, at);
        case 'datadog': {
          const { queryDatadog } = await import('./datadog.ts');
          return await queryDatadog(tenant, provider, rendered, at, secrets);
        }
        case 'web':
          return await queryWeb(tenant, provider, rendered, secrets);
      }
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      // Redacted whole, then shortened (redactSecrets): no adapter shortens a provider's text before.
      throw new Error(redactSecrets(e.name === 'TimeoutError' ? `no answer within the time-out` : e.message, read));
    }
  }
}

/** The metrics port with the deployment's secrets and CloudWatch clients. */
export const metricsFromEnv = (): MetricsPort => new ProviderMetrics();
