/**
 * The dashboard with the real machine runner: the `cosmios` binary, registered and started
 * the way its README tells a user to, runs a stub agent script (real child processes, real
 * stdout/stderr) while headless Chromium watches. No call to the module comes from the test:
 * the page makes the user's, the binary makes the machine's. The page is loaded once and never
 * reloaded (a marker set on `window` at the start must still be there at the end), so every
 * change seen got there through a live query. `dashboard.test.ts` keeps a simulated runner
 * where the test must time each commit (the commit-to-pixel latency).
 */

import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openAs, screenshot, uniqueEmail, type UserPage } from './browser.js';
import { badge, go, signUp } from './page.js';
import { MachineDir, cosmiosBinary, type RealRunner } from './real-runner.js';
import { startServer, type RunningServer } from './server.js';

let server: RunningServer;
let browser: Browser;
let user: UserPage;
let machine: MachineDir;
let runner: RealRunner | undefined;

const ROW = 'li:has-text("stub-box")';

beforeAll(async () => {
  // Before the server and the browser start: a missing binary fails at once, saying how to build it.
  cosmiosBinary();
  machine = new MachineDir();
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});

afterAll(async () => {
  runner?.kill();
  await browser?.close();
  await server?.stop();
  machine?.remove();
});

// No console error or uncaught exception on the page, in any scenario.
afterEach((context) => {
  if (user) expect(user.errors).toEqual([]);
  // The runner's own log explains most failures (a refused key, an agent that did not start).
  if (context.task.result?.state === 'fail' && runner) console.error(`cosmios start logged:\n${runner.log()}`);
});

/** Lines of the terminal on the page, in order, as `stream: text`. */
function terminal(page: Page): Promise<string[]> {
  return page
    .locator('.terminal .line')
    .evaluateAll((lines) => lines.map((l) => `${l.className.replace('line ', '')}: ${l.textContent ?? ''}`));
}

describe('the COSMIOS dashboard with the real runner', () => {
  test('a machine registered on the page goes online when `cosmios start` runs, with its metrics', async () => {
    user = await openAs(browser, server.url);
    const { page } = user;
    await signUp(page, uniqueEmail('runner-owner'));
    await page.evaluate(() => {
      (window as unknown as { notReloaded?: boolean }).notReloaded = true;
    });
    await go(page, 'Machines');
    await page.getByLabel('Machine name').fill('stub-box');
    await page.getByRole('button', { name: 'Register' }).click();
    const apiKey = (await page.getByTestId('secret-value').textContent()) ?? '';
    expect(apiKey).toMatch(/^csu_[0-9a-f]{64}$/);
    await badge(page, ROW, 'offline');

    await machine.register(server.url, apiKey);
    runner = machine.start();
    await badge(page, ROW, 'online');
    // The heartbeat's metrics come from the runner's /proc sampler, so only their shape is known.
    await page.locator(ROW).getByText(/running_runs 0/).waitFor();
    await page.locator(ROW).getByText(/mem \d+ MB/).waitFor();
    await page.getByRole('button', { name: 'I saved it' }).click();
    await screenshot(page, 'real-runner-machines');
  });

  test('a run dispatched from the Tasks page is claimed; the stub’s lines stream in while it runs; it completes', async () => {
    const { page } = user;
    await go(page, 'Tasks');
    await page.getByLabel('Agent').selectOption('claude-code');
    await page.getByLabel('Workspace').fill(machine.workspace);
    await page.getByLabel('Prompt').fill('Fix the auth bug in login.ts');
    await page.getByRole('button', { name: 'Dispatch' }).click();
    await page.getByRole('heading', { name: /^Run #\d+/ }).waitFor();

    // The first line on screen while the run is still running and before the last step: the
    // lines arrive as the agent prints them (0.4 s apart), not all at once when it ends.
    await page.waitForFunction(() => {
      const lines = [...document.querySelectorAll('.terminal .line')].map((l) => l.textContent ?? '');
      return (
        document.querySelector('h1 .badge')?.textContent === 'running' &&
        lines.includes('claude-code step 1 of 3') &&
        !lines.includes('claude-code step 3 of 3')
      );
    });
    await badge(page, 'h1', 'completed');
    await page.locator('.summary', { hasText: 'done: Fix the auth bug in login.ts' }).waitFor();
    // Each stream in the order printed (stdout and stderr are read separately, so their
    // interleaving is not something the runner promises).
    const lines = await terminal(page);
    expect(lines.filter((l) => l.startsWith('stderr: '))).toEqual(['stderr: task> Fix the auth bug in login.ts']);
    expect(lines.filter((l) => !l.startsWith('stderr: '))).toEqual([
      'stdout: claude-code step 1 of 3',
      'stdout: claude-code step 2 of 3',
      'stdout: claude-code step 3 of 3',
      'stdout: done: Fix the auth bug in login.ts',
    ]);
    await screenshot(page, 'real-runner-run');
  });

  test('a two-card mission runs both cards on the runner; card 2 is given card 1’s summary', async () => {
    const { page } = user;
    await go(page, 'Missions');
    await page.getByLabel('Title').fill('Ship v2');
    await page.getByLabel('Workspace').fill(machine.workspace);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: /Ship v2/ }).waitFor();
    await page.getByLabel('Instruction').fill('Write the API');
    await page.getByRole('button', { name: 'Add card' }).click();
    await page.getByTestId('card-1').waitFor();
    // The form clears when the call's answer arrives, which may come after the card's row.
    await page.waitForFunction(() => document.querySelector('textarea')?.value === '');
    await page.getByLabel('Instruction').fill('Add tests');
    await page.getByLabel('Agent').selectOption('codex');
    await page.getByRole('button', { name: 'Add card' }).click();
    await page.getByTestId('card-2').getByText('codex').waitFor();

    await page.getByRole('button', { name: 'Play' }).click();
    // Card 1's summary is the last stdout lines of its agent, shown on its card.
    await page.getByTestId('card-1').locator('.summary', { hasText: 'done: Write the API' }).waitFor();
    await badge(page, '[data-testid=card-1]', 'completed');
    await badge(page, 'h1', 'completed');
    await badge(page, '[data-testid=card-2]', 'completed');
    await page.getByText('Every card completed.').waitFor();
    await page.getByTestId('card-2').locator('.summary', { hasText: 'done: Add tests' }).waitFor();

    // Card 2 ran on the other agent's command, and its task (echoed by the stub on stderr)
    // carried card 1's instruction and summary.
    await page.getByRole('heading', { name: 'Card 2 output' }).waitFor();
    await page.locator('.terminal .line.stdout', { hasText: 'done: Add tests' }).waitFor();
    const lines = await terminal(page);
    expect(lines).toEqual(
      expect.arrayContaining([
        'stderr: task> Context from previous cards:',
        'stderr: task> 1. Write the API — claude-code step 1 of 3',
        'stderr: task> done: Write the API',
        'stderr: task> Task: Add tests',
        'stdout: codex step 1 of 3',
        'stdout: codex step 3 of 3',
      ]),
    );
    expect(lines.filter((l) => l.startsWith('stdout: claude-code'))).toEqual([]);
    await screenshot(page, 'real-runner-mission');
  });

  test('SIGTERM stops the runner cleanly and the machine goes offline', async () => {
    const { page } = user;
    await go(page, 'Machines');
    await badge(page, ROW, 'online');
    expect(await runner?.stop()).toBe(0);
    // Its connection closed: the module's client_disconnected marks the machine offline.
    await badge(page, ROW, 'offline');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await screenshot(page, 'real-runner-offline');
  });
});
