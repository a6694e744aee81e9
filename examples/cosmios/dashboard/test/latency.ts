/**
 * Commit-to-pixel latency: from the moment the runner sends a log line (the transaction
 * commits, the subscription update travels to the browser, React renders it) to the first
 * animation frame after the line entered the page's DOM. Both ends read the same wall clock
 * (`performance.timeOrigin + performance.now()`, sub-millisecond in Node and in Chromium).
 */

import type { Page } from 'playwright-core';

type Clocked = Window & { __painted?: Record<string, number> };

/** Records, per terminal line text, when it was first painted. */
export async function installPaintClock(page: Page): Promise<void> {
  await page.evaluate(() => {
    const painted: Record<string, number> = {};
    (window as Clocked).__painted = painted;
    new MutationObserver((records) => {
      for (const r of records) {
        for (const node of r.addedNodes) {
          if (!(node instanceof HTMLElement) || !node.classList.contains('line')) continue;
          const text = node.textContent ?? '';
          requestAnimationFrame(() => {
            painted[text] ??= performance.timeOrigin + performance.now();
          });
        }
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
}

export interface Latencies {
  count: number;
  p50: number;
  p99: number;
}

/** Sends `count` lines one at a time, each after the previous one was painted. */
export async function measureLatency(page: Page, count: number, send: (line: string) => Promise<unknown>): Promise<Latencies> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const line = `step ${i + 1}: compiling module ${i + 1} of ${count}`;
    const sent = performance.timeOrigin + performance.now();
    await send(line);
    const handle = await page.waitForFunction((text) => (window as Clocked).__painted?.[text], line, { timeout: 10_000 });
    samples.push((await handle.jsonValue()) as number - sent);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)] ?? NaN;
  return { count, p50: at(0.5), p99: at(0.99) };
}
