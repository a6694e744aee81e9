/**
 * Headless Chromium (Debian's `/usr/bin/chromium`, or `CHROMIUM_BIN`) through playwright-core:
 * one browser per suite, one context (a separate cookie/localStorage jar: a separate person)
 * per user. Every page records console errors and uncaught exceptions so tests can assert
 * there were none.
 */

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { dashboardDir } from './server.js';

const SCREENSHOTS = join(dashboardDir, 'screenshots');

export function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`no Chromium at ${executablePath}: \`apt-get install -y chromium\` (Debian), or set CHROMIUM_BIN`);
  }
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
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

export interface UserPage {
  page: Page;
  /** Console errors and page errors seen so far. */
  errors: string[];
}

/** A fresh person: a new context (empty storage) and a page on the dashboard. */
export async function openAs(browser: Browser, url: string, width = 1280): Promise<UserPage> {
  const context = await browser.newContext({
    viewport: { width, height: 900 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  // From the top: a scrolled page would show its sticky header in the middle of the picture.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
  return path;
}

let counter = 0;
/** An email address no other test uses. */
export function uniqueEmail(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${Date.now()}-${counter}@example.com`;
}
