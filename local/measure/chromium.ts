import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium (CHROMIUM_BIN, else /usr/bin/chromium), driven by playwright-core with no browser
 * download: how the browser tests and the console's page-weight bench open the console, as a person would.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
