import type { HealthProbe } from '#domain/promotion/ports';
import { guardedFetch, OutboundRefused } from './outbound.ts';

/**
 * A target's health URL (confirmation mode `health`), called through the guarded outbound client:
 * public addresses only (checked at connect), no redirects followed, bounded time. The answer's
 * status is all that counts; its body is never read beyond the first bytes.
 */
export class GuardedHealthProbe implements HealthProbe {
  async check(url: string, timeoutMs: number): Promise<{ status: number | null; error?: string }> {
    try {
      const res = await guardedFetch(url, { method: 'GET', headers: { accept: '*/*', 'user-agent': 'stageline-health' }, timeoutMs });
      await res.body?.cancel().catch(() => {});
      return { status: res.status };
    } catch (err) {
      return { status: null, error: err instanceof OutboundRefused ? `refused: ${err.message}` : (err as Error).message };
    }
  }
}
