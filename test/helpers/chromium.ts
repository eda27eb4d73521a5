// Debian's headless Chromium for the tests that look at a page as a user does: launched with the
// flags this machine needs (no sandbox, no GPU, no background traffic), never downloaded. When it
// is missing or does not start, the reason instead, for the test to skip with.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<{ browser: Browser } | { skip: string }> {
  if (!existsSync(CHROMIUM)) return { skip: `${CHROMIUM} is missing (apt-get install -y chromium)` };
  try {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    return { browser };
  } catch (error) {
    return { skip: `chromium (${CHROMIUM}) did not launch: ${(error as Error).message.split('\n')[0]}` };
  }
}
