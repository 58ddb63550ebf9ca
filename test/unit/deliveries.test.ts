import { describe, expect, it } from 'vitest';
import { dispatchWebhooks, RETRY, retryDelayMs, scheduleNameOf } from '../../domain/webhooks/deliveries.ts';
import { newSubscription } from '../../domain/webhooks/subscriptions.ts';
import { memoryDeps } from '../support/memory-deps.ts';
import { GitEditConflict, setValue } from '../../domain/gitops/edit.ts';
import { checkTenantUrl } from '../../domain/kernel/url-policy.ts';

describe('webhook retry schedule', () => {
  it('backs off exponentially with ±25 % jitter, capped, and the attempts fit the 24 h window', () => {
    expect(retryDelayMs(1, 5000, () => 0.5)).toBe(5000);
    expect(retryDelayMs(2, 5000, () => 0.5)).toBe(15000);
    expect(retryDelayMs(1, 5000, () => 0)).toBe(3750);
    expect(retryDelayMs(1, 5000, () => 1)).toBe(6250);
    expect(retryDelayMs(20, 5000, () => 0.5)).toBe(RETRY.capMs);
    // Even with the longest jitter, the attempts before giving up span less than the window plus one cap.
    let total = 0;
    for (let n = 1; n < RETRY.maxAttempts; n++) total += retryDelayMs(n, RETRY.baseMs, () => 1);
    expect(total).toBeGreaterThan(12 * 3600_000);
    expect(total).toBeLessThan(RETRY.windowMs + RETRY.capMs * 1.25);
  });
});

describe('webhook delivery across a crash', () => {
  it('makes the retry schedule again when the event comes back after a crash between recording an attempt and scheduling its retry', async () => {
    const m = memoryDeps();
    const { sub } = newSubscription('acme', { url: 'https://hooks.example.com/x', events: ['promotion.completed'] }, 'u-admin', m.deps.clock());
    await m.store.putWebhook(sub, null, { pk: 'x', sk: 'y' } as never);
    const sent: string[] = [];
    let alive = false;
    const deps = {
      ...m.deps,
      webhooks: {
        secrets: { get: async () => [], put: async () => {}, remove: async () => {} } as never,
        sender: { send: async (d: { id: string }) => (sent.push(d.id), { statusCode: 503, ms: 1, excerpt: 'busy' }) },
        scheduler: {
          ...m.deps.scheduler,
          // The process dies here, once: the attempt is recorded, its retry never scheduled.
          scheduleOnce: async (name: string, at: Date, payload: never) => {
            if (!alive) throw new Error('the function died');
            return m.deps.scheduler.scheduleOnce(name, at, payload);
          },
        },
      },
    };
    const event = {
      id: 'evt-1',
      type: 'Promotion Completed',
      tenant: 'acme',
      detail: { tenant: 'acme', promotionId: 'prm_1', status: 'COMPLETED', at: '2030-01-01T09:00:00.000Z' },
    };
    await expect(dispatchWebhooks(deps as never, event as never)).rejects.toThrow(/the function died/);
    expect(sent).toHaveLength(1);
    expect(m.schedules.size).toBe(0);
    // The bus delivers the event again (its target failed): no second attempt now, the retry scheduled at its time.
    alive = true;
    await dispatchWebhooks(deps as never, event as never);
    expect(sent).toHaveLength(1);
    const [delivery] = (await m.store.listWebhookDeliveries('acme', sub.id, 10)).items;
    expect(delivery).toMatchObject({ status: 'pending', attempts: [{ statusCode: 503 }] });
    const retry = m.schedules.get(scheduleNameOf('acme', delivery!.id));
    expect(retry?.payload).toEqual({ tenant: 'acme', webhookDelivery: { subscription: sub.id, id: delivery!.id, trigger: 'retry' } });
    expect(retry!.at.getTime()).toBeGreaterThanOrEqual(Date.parse(delivery!.nextAttemptAt!));
  });
});

describe('git target edit', () => {
  it('sets a YAML path keeping comments, is a no-op when the value is there, and refuses what cannot take it', () => {
    const yaml = '# values\nimage:\n  tag: v1 # pinned\n';
    const r = setValue('values.yaml', yaml, 'image.tag', 'v2');
    expect(r).toEqual({ text: '# values\nimage:\n  tag: v2 # pinned\n', changed: true, previous: 'v1' });
    expect(setValue('values.yaml', r.text, 'image.tag', 'v2').changed).toBe(false);
    expect(setValue('values.yaml', 'a: 1\n', 'image.tag', 'v2').text).toBe('a: 1\nimage:\n  tag: v2\n');
    expect(() => setValue('values.yaml', 'image: nginx:1\n', 'image.tag', 'v2')).toThrow(GitEditConflict);
    expect(() => setValue('values.yaml', 'image: [1\n', 'image.tag', 'v2')).toThrow(/not valid YAML/);
    expect(() => setValue('values.yaml', 'image:\n  tag:\n    a: 1\n', 'image.tag', 'v2')).toThrow(/mapping or list/);
  });

  it('sets a JSON path keeping the indentation (and, for a value that was there, every other byte)', () => {
    expect(setValue('app.json', '{\n    "image": { "tag": "v1" }\n}\n', 'image.tag', 'v2').text).toBe('{\n    "image": { "tag": "v2" }\n}\n');
    expect(setValue('app.json', '{\n    "image": { "repository": "x" }\n}\n', 'image.tag', 'v2').text).toBe(
      '{\n    "image": {\n        "repository": "x",\n        "tag": "v2"\n    }\n}\n',
    );
    expect(() => setValue('app.json', '{"image": "x"}', 'image.tag', 'v2')).toThrow(/not an object/);
    expect(() => setValue('app.json', '{', 'image.tag', 'v2')).toThrow(/not valid JSON/);
  });
});

describe('checkTenantUrl', () => {
  it('allows public https, refuses private, metadata, internal names, credentials and plain http; loopback only when allowed', () => {
    expect(checkTenantUrl('https://hooks.example.com/x', { allowLoopback: false })).toBeNull();
    for (const bad of [
      'https://10.0.0.1/',
      'https://169.254.169.254/',
      'https://[fd00::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://db.internal/',
      'http://hooks.example.com/',
      'https://a:b@example.com/',
      'file:///etc/passwd',
      'not a url',
      'http://127.0.0.1:4000/',
    ])
      expect(checkTenantUrl(bad, { allowLoopback: false }), bad).not.toBeNull();
    expect(checkTenantUrl('http://127.0.0.1:4000/', { allowLoopback: true })).toBeNull();
    expect(checkTenantUrl('http://10.0.0.1/', { allowLoopback: true })).not.toBeNull();
  });
});
