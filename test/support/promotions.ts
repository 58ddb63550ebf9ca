import { expect } from 'vitest';
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

/**
 * Approves a promotion when its flow asks for an approver (production, the last environment, is protected):
 * waits until it reaches AWAITING_APPROVAL or one of `otherwise`, and approves it in the first case.
 */
export async function approveIfAsked(t: TestStack, u: { viewer: string; approver: string }, id: string, otherwise: string[]) {
  const waited = await waitFor(t, u.viewer, id, ['AWAITING_APPROVAL', ...otherwise]);
  if (waited.status === 'AWAITING_APPROVAL') {
    const a = await t.call('POST', `/api/v1/promotions/${id}/approve`, { token: u.approver, body: {} });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
  }
  return waited;
}

/** A well-formed artifact digest made of one character repeated (tests tell versions apart by it). */
export const digest = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;

/**
 * Requests a promotion (`path`: an artifact's or a configuration's), approves it if its flow asks, and
 * waits for it to end: the promotion as it ended (a test checks its status).
 */
export async function promoteToEnd(
  t: TestStack,
  u: { deployer: string; viewer: string; approver: string },
  body: Record<string, unknown>,
  path = '/api/v1/promotions',
) {
  const p = await t.call('POST', path, { token: u.deployer, body });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  await approveIfAsked(t, u, p.body.id, ['COMPLETED', 'FAILED']);
  return waitFor(t, u.viewer, p.body.id, ['COMPLETED', 'FAILED']);
}

/** Requests staging → production without starting its gates (autoStart false): its id is known before anything of it runs. */
export async function requestedNotStarted(t: TestStack, u: { deployer: string }): Promise<string> {
  const p = await t.call('POST', '/api/v1/promotions', {
    token: u.deployer,
    body: { sourceEnvironment: 'staging', targetEnvironment: 'production', autoStart: false },
  });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  return p.body.id;
}

/** Starts a promotion's gates (it was requested with autoStart false), approves it when asked, and waits until it is held (SCHEDULED) or ended. */
export async function validatedAndHeld(t: TestStack, u: { deployer: string; viewer: string; approver: string }, id: string) {
  const v = await t.call('POST', `/api/v1/promotions/${id}/validate`, { token: u.deployer });
  expect(v.status, JSON.stringify(v.body)).toBeLessThan(300);
  await approveIfAsked(t, u, id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'REJECTED']);
  return waitFor(t, u.viewer, id, ['SCHEDULED', 'COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED']);
}
