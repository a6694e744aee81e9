/**
 * The dashboard in a real browser against a real server: each scenario drives headless
 * Chromium like a person would, while a simulated runner (the test process, over the client
 * SDK) plays the machine. Every assertion on the page waits for the DOM to show a state that
 * only a committed transaction pushed through a subscription can produce — the page never
 * reloads or polls. The scenarios run in order and share one user (alice) and one machine.
 *
 * The runner here is simulated so that the test makes each of the machine's commits itself
 * and can time it (commit-to-pixel latency) or stage states a real agent would not produce on
 * cue (an approval request, a run left running while its mission is paused).
 * `real-runner.test.ts` drives the same pages with the real `cosmios` binary.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, openAs, screenshot, uniqueEmail, type UserPage } from './browser.js';
import { badge, go, signUp } from './page.js';
import { SimulatedRunner } from './runner.js';
import { startServer, type RunningServer } from './server.js';
import { installPaintClock, measureLatency } from './latency.js';

let server: RunningServer;
let browser: Browser;
let alice: UserPage;
let runner: SimulatedRunner;
let apiKey = '';
let firstRun = 0;
const pages: UserPage[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});

afterAll(async () => {
  runner?.stop();
  await browser?.close();
  await server?.stop();
});

// No page may log a console error or throw, in any scenario.
afterEach(() => {
  for (const p of pages) expect(p.errors).toEqual([]);
});

async function open(width?: number): Promise<UserPage> {
  const user = await openAs(browser, server.url, width);
  pages.push(user);
  return user;
}

describe('the COSMIOS dashboard', () => {
  test('a wrong password is refused on the page; sign up lands on the overview and survives a reload', async () => {
    alice = await open();
    const email = uniqueEmail('alice');
    await alice.page.getByLabel('Email').fill(email);
    await alice.page.getByLabel('Password').fill('not the password');
    await alice.page.getByRole('button', { name: 'Sign in' }).click();
    await alice.page.getByRole('alert').waitFor();
    // The browser itself logs the refused request; that one error is expected here.
    expect(alice.errors).toEqual([expect.stringContaining('401 (Unauthorized)')]);
    alice.errors.length = 0;
    await signUp(alice.page, email);
    await alice.page.getByTestId('stat-online').getByText('0').waitFor();
    await alice.page.reload();
    await alice.page.getByRole('heading', { name: 'Overview' }).waitFor();
    await screenshot(alice.page, 'overview-empty');
  });

  test('a magic link signs in: requested in the page, verified with the token from the mail', async () => {
    const user = await open();
    const email = uniqueEmail('magic');
    await user.page.getByRole('tab', { name: 'Magic link' }).click();
    await user.page.getByLabel('Email').fill(email);
    await user.page.getByRole('button', { name: 'Email me a link' }).click();
    await user.page.getByLabel('Token from the link').waitFor();
    const outbox = join(server.dataDir, 'outbox');
    const mail = readdirSync(outbox)
      .map((f) => readFileSync(join(outbox, f), 'utf8'))
      .find((text) => text.includes(email));
    const token = /magic_token=([A-Za-z0-9_-]+)/.exec(mail ?? '')?.[1];
    expect(token).toBeTruthy();
    await user.page.getByLabel('Token from the link').fill(token ?? '');
    await user.page.getByRole('button', { name: 'Verify' }).click();
    await user.page.getByRole('heading', { name: 'Overview' }).waitFor();
    await screenshot(user.page, 'magic-link');
    await user.page.context().close();
  });

  test('registering a machine shows its key once; the runner brings it online with metrics', async () => {
    const { page } = alice;
    await go(page, 'Machines');
    await page.getByText('No machines yet').waitFor();
    await page.getByLabel('Machine name').fill('build-box');
    await page.getByRole('button', { name: 'Register' }).click();
    apiKey = (await page.getByTestId('secret-value').textContent()) ?? '';
    expect(apiKey).toMatch(/^csu_[0-9a-f]{64}$/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(apiKey);
    const row = 'li:has-text("build-box")';
    await badge(page, row, 'offline');

    runner = await SimulatedRunner.start(server.url, apiKey);
    await badge(page, row, 'online');
    await runner.heartbeat({ cpu: 0.31, mem_mb: 2048 });
    await page.locator(row).getByText('cpu 31% · mem 2048 MB').waitFor();
    await runner.heartbeat({ cpu: 0.74, mem_mb: 3100 });
    await page.locator(row).getByText('cpu 74% · mem 3100 MB').waitFor();
    await page.getByRole('button', { name: 'I saved it' }).click();
    expect(await page.getByTestId('secret-value').count()).toBe(0);

    // Disable refuses runs, enable allows them again: both flip the row live.
    await page.locator(row).getByRole('button', { name: 'Disable' }).click();
    await badge(page, row, 'disabled');
    await page.locator(row).getByRole('button', { name: 'Enable' }).click();
    await page.locator(row).getByRole('button', { name: 'Disable' }).waitFor();
    await screenshot(page, 'machines');
  });

  test('a dispatched run streams its log lines into the terminal as they commit', async () => {
    const { page } = alice;
    await go(page, 'Tasks');
    await page.getByLabel('Agent').selectOption('codex');
    await page.getByLabel('Workspace').fill('/home/alice/app');
    await page.getByLabel('Prompt').fill('Fix the auth bug in login.ts');
    await page.getByRole('button', { name: 'Dispatch' }).click();
    await page.getByRole('heading', { name: /^Run #\d+/ }).waitFor();
    firstRun = Number(/#\/runs\/(\d+)/.exec(page.url())?.[1]);
    expect(firstRun).toBeGreaterThan(0);
    await badge(page, 'h1', 'pending');

    await runner.claim(firstRun);
    await badge(page, 'h1', 'running');
    await runner.snapshot(firstRun, '3f2a9c1d');
    await page.getByText('3f2a9c1d').waitFor();

    await installPaintClock(page);
    const latencies = await measureLatency(page, 50, (line) => runner.log(firstRun, [line]));
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    console.log(
      `commit-to-pixel over ${latencies.count} log lines: p50 ${ms(latencies.pixel.p50)}, p99 ${ms(latencies.pixel.p99)}` +
        ` (in the DOM: p50 ${ms(latencies.dom.p50)}, p99 ${ms(latencies.dom.p99)})`,
    );
    expect(await page.locator('.terminal .line').count()).toBe(50);

    await runner.log(firstRun, ['warning: token expired'], 'stderr');
    await page.locator('.terminal .line.stderr', { hasText: 'warning: token expired' }).waitFor();
    await runner.complete(firstRun, 'fixed the token check');
    await badge(page, 'h1', 'completed');
    await page.getByText('fixed the token check').waitFor();

    await page.getByRole('button', { name: 'Rollback to snapshot' }).click();
    await badge(page, 'dl', 'requested');
    await screenshot(page, 'run-detail');
  });

  test('the task list filters by status and machine; a pending run can be cancelled', async () => {
    const { page } = alice;
    await go(page, 'Tasks');
    await page.getByLabel('Workspace').fill('/home/alice/app');
    await page.getByLabel('Prompt').fill('Upgrade the dependencies');
    await page.getByRole('button', { name: 'Dispatch' }).click();
    await badge(page, 'h1', 'pending');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await badge(page, 'h1', 'cancelled');

    await go(page, 'Tasks');
    const filters = page.locator('.filters');
    // Each filter is a new live query; the previous rows stay (dimmed) until its answer comes.
    const listed = (n: number) => page.waitForFunction((count) => document.querySelectorAll('.list.runs > li').length === count, n);
    await filters.getByLabel('Status').selectOption('completed');
    await listed(1);
    await page.getByTestId(`run-${firstRun}`).waitFor();
    await filters.getByLabel('Status').selectOption('running');
    await page.getByText('No runs match these filters.').waitFor();
    await filters.getByLabel('Status').selectOption('');
    await filters.getByLabel('Machine').selectOption({ label: 'build-box' });
    await listed(2);
    await page.getByTestId(`run-${firstRun}`).waitFor();
  });

  test('a two-card mission runs card after card to completion, with its checklist', async () => {
    const { page } = alice;
    await go(page, 'Missions');
    await page.getByLabel('Title').fill('Ship v2');
    await page.getByLabel('Workspace').fill('/home/alice/app');
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
    await badge(page, 'h1', 'running');
    await badge(page, '[data-testid=card-1]', 'running');

    const one = await runner.nextPendingRun();
    expect(one.task).toBe('Write the API');
    await runner.claim(one.id);
    await runner.log(one.id, ['card one: writing routes']);
    await page.locator('.terminal').getByText('card one: writing routes').waitFor();
    await runner.addActionItem(one.card_id ?? 0, 'Set DATABASE_URL in production');
    await page.locator('.checklist').getByText('Set DATABASE_URL in production').waitFor();
    await runner.complete(one.id, 'API written');
    await badge(page, '[data-testid=card-1]', 'completed');
    await badge(page, '[data-testid=card-2]', 'running');

    const two = await runner.nextPendingRun();
    expect(two.task).toContain('1. Write the API — API written');
    expect(two.task).toContain('Task: Add tests');
    await runner.claim(two.id);
    await runner.log(two.id, ['card two: 12 tests pass']);
    await page.getByRole('heading', { name: 'Card 2 output' }).waitFor();
    await page.locator('.terminal').getByText('card two: 12 tests pass').waitFor();
    await runner.complete(two.id, 'tests added');
    await badge(page, 'h1', 'completed');
    await badge(page, '[data-testid=card-2]', 'completed');
    await page.getByText('Every card completed.').waitFor();

    // A click, not check(): the box stays unticked until the commit comes back through the query.
    await page.locator('.checklist').getByRole('checkbox').click();
    await page.locator('.checklist .done', { hasText: 'Set DATABASE_URL in production' }).waitFor();
    await screenshot(page, 'mission');
  });

  test('pausing a mission cancels its card’s run; resuming dispatches the card again', async () => {
    const { page } = alice;
    await go(page, 'Missions');
    await page.getByLabel('Title').fill('Migrate the database');
    await page.getByLabel('Workspace').fill('/home/alice/app');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: /Migrate the database/ }).waitFor();
    await page.getByLabel('Instruction').fill('Write the migration');
    await page.getByRole('button', { name: 'Add card' }).click();
    await page.getByTestId('card-1').waitFor();
    await page.getByRole('button', { name: 'Play' }).click();
    const first = await runner.nextPendingRun();
    await runner.claim(first.id);
    await badge(page, '[data-testid=card-1]', 'running');

    await page.getByRole('button', { name: 'Pause' }).click();
    await badge(page, 'h1', 'paused');
    await badge(page, '[data-testid=card-1]', 'pending');
    await page.getByRole('button', { name: 'Resume' }).click();
    await badge(page, 'h1', 'running');
    await badge(page, '[data-testid=card-1]', 'running');
    const again = await runner.nextPendingRun();
    expect(again.id).not.toBe(first.id);
    await page.getByTestId('card-1').getByRole('link', { name: `run #${again.id}` }).waitFor();
    await runner.claim(again.id);
    await runner.complete(again.id, 'migration written');
    await badge(page, 'h1', 'completed');
  });

  test('an API key made on the Developers page reads the REST API until it is revoked', async () => {
    const { page } = alice;
    await go(page, 'Developers');
    await page.getByText('No API keys').waitFor();
    await page.getByLabel('Key label').fill('laptop scripts');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('secret-value').textContent()) ?? '';
    expect(key).toMatch(/^csu_[0-9a-f]{64}$/);
    const machines = () => fetch(`${server.url}/api/v1/machines`, { headers: { authorization: `Bearer ${key}` } });
    const answer = await machines();
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { machines: { name: string }[] };
    expect(body.machines.map((m) => m.name)).toEqual(['build-box']);

    await page.getByRole('button', { name: 'I saved it' }).click();
    await page.locator('li', { hasText: 'laptop scripts' }).getByRole('button', { name: 'Revoke' }).click();
    await page.getByText('No API keys').waitFor();
    expect((await machines()).status).toBe(401);
  });

  test('a webhook shows its secret once and its deliveries queue live', async () => {
    const { page } = alice;
    await go(page, 'Developers');
    await page.getByText('No deliveries yet').waitFor();
    await page.getByLabel('URL').fill('https://example.com/hook');
    await page.getByLabel('approval.requested').check();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    expect(await page.getByTestId('secret-value').textContent()).toMatch(/^whsec_[0-9a-f]{64}$/);
    await page.locator('.list').getByText('https://example.com/hook').waitFor();

    await runner.requestApproval(firstRun, 'Allow rm -rf build/?');
    await page.locator('li', { hasText: 'approval.requested' }).locator('.badge', { hasText: 'pending' }).waitFor();
    await screenshot(page, 'developers');
  });

  test('an approval request is approved from the timeline', async () => {
    const { page } = alice;
    await go(page, 'Overview');
    await page.getByTestId('stat-approvals').getByText('1').waitFor();
    await go(page, 'Events');
    const request = page.locator('li', { hasText: 'Allow rm -rf build/?' });
    await request.getByRole('button', { name: 'Approve' }).click();
    await request.locator('.badge', { hasText: 'approved' }).waitFor();
    expect(await request.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    await page.locator('li', { hasText: 'run.completed' }).first().waitFor();
    await screenshot(page, 'events');
    await go(page, 'Overview');
    await page.getByTestId('stat-approvals').getByText('0').waitFor();
    await page.getByTestId('stat-online').getByText('1').waitFor();
  });

  test('a second user sees none of the first user’s machines, runs, missions or events', async () => {
    const bob = await open();
    const { page } = bob;
    await signUp(page, uniqueEmail('bob'));
    for (const stat of ['stat-online', 'stat-offline', 'stat-runs', 'stat-approvals', 'stat-items']) {
      await page.getByTestId(stat).getByText('0', { exact: true }).waitFor();
    }
    await go(page, 'Machines');
    await page.getByText('No machines yet').waitFor();
    await go(page, 'Tasks');
    await page.getByText('No runs yet').waitFor();
    await go(page, 'Missions');
    await page.getByText('No missions yet').waitFor();
    await go(page, 'Events');
    await page.getByText('No events yet').waitFor();
    await go(page, 'Developers');
    await page.getByText('No webhooks').waitFor();
    await page.getByText('No API keys').waitFor();
    await page.goto(`${server.url}/#/runs/${firstRun}`);
    await page.getByText(`No run ${firstRun} of yours.`).waitFor();
    expect(await page.getByText('build-box').count()).toBe(0);
    await screenshot(page, 'second-user');
  });

  test('at phone width (390 px) the pages fit without sideways scrolling', async () => {
    const phone = await alice.page.context().newPage();
    const watched: UserPage = { page: phone, errors: [] };
    phone.on('console', (m) => m.type() === 'error' && watched.errors.push(m.text()));
    phone.on('pageerror', (e) => watched.errors.push(String(e)));
    pages.push(watched);
    await phone.setViewportSize({ width: 390, height: 844 });
    // Each page with a text that shows its live data has arrived.
    for (const [hash, name, loaded] of [
      ['#/', 'phone-overview', 'Machines online'],
      [`#/runs/${firstRun}`, 'phone-run', 'build-box'],
      ['#/missions', 'phone-missions', 'Ship v2'],
    ] as const) {
      await phone.goto(`${server.url}/${hash}`);
      await phone.locator('main').getByText(loaded).first().waitFor();
      await phone.waitForFunction(() => document.querySelector('[role=status], [aria-busy=true]') === null);
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot(phone, name);
    }
  });
});
