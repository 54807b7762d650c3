// Headless Chromium for the dashboard tests (Debian's chromium, or SLUICE_CHROMIUM), and the
// screenshots they leave in .artifacts/ for a person to look at.

import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { ROOT } from './services.ts';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-background-networking'],
  });
}

/** Saves the whole page as .artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(`${ROOT}.artifacts`, { recursive: true });
  await page.screenshot({ path: `${ROOT}.artifacts/${name}.png`, fullPage: true });
}
