import type { TestStack } from './stack.ts';

/** Polls a promotion until it reaches one of the statuses (the flow runs asynchronously, as on AWS). */
export async function waitFor(t: TestStack, token: string, id: string, statuses: string[], timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await t.call('GET', `/api/v1/promotions/${id}`, { token });
    if (statuses.includes(r.body?.status)) return r.body;
    if (Date.now() > until) throw new Error(`promotion ${id} is ${r.body?.status}, expected ${statuses.join('|')}: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Waits until the flow is parked at a task token (approval or go). */
export async function waitForToken(t: TestStack, token: string, id: string, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await t.call('GET', `/api/v1/promotions/${id}`, { token });
    if (r.body?.waitingFor) return r.body;
    if (Date.now() > until) throw new Error(`promotion ${id} never waited: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
