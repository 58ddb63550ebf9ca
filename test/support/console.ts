import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from '../../local/measure/chromium.ts';
import type { LocalStackOptions } from '../../local/stack.ts';
import { forwarding, startTestStack, type TestStack } from './stack.ts';

/** axe-core, run in the page (evaluate is not subject to the page's CSP): serious or critical violations. */
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export async function accessibility(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const r = await (globalThis as any).axe.run((globalThis as any).document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: any) => `${v.id}: ${v.help} (${v.nodes.map((n: any) => n.target.join(' ')).join(', ')})`);
  });
  return found as string[];
}

/** Opens the console of the stack at `base` with a token (the state a sign-in leaves; the sign-in itself is tested in browser.test.ts). */
export async function openConsoleAs(browser: Browser, base: string, token: string, hash = '#/', viewport = { width: 1280, height: 800 }, timezoneId?: string) {
  const page = await browser.newPage({ viewport, ...(timezoneId ? { timezoneId } : {}) });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/dashboard#token=${token}`);
  await page.getByRole('link', { name: 'Pipeline' }).waitFor();
  if (hash !== '#/') await page.goto(`${base}/dashboard${hash}`);
  return { page, errors };
}

/**
 * The test stack and the browser a console test file shares: both started (at once) before its tests,
 * the browser closed and the stack stopped after them; `out`, where it writes its screenshots, made first.
 */
export function useConsoleStack(opts: { out?: string; stack?: Partial<LocalStackOptions> } = {}): { t: TestStack; browser: Browser } {
  let t: TestStack | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (opts.out) mkdirSync(opts.out, { recursive: true });
    [t, browser] = await Promise.all([startTestStack(opts.stack), launchChromium()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });
  return { t: forwarding(() => t, 'the test stack'), browser: forwarding(() => browser, 'the browser') };
}
