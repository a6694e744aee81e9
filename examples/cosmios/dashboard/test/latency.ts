/**
 * Commit-to-pixel latency: from the moment the runner sends a log line (the transaction
 * commits, the subscription update travels to the browser, React renders it) to the line
 * entering the page's DOM, and to the first animation frame after that (when the browser
 * paints it). Both ends read the same wall clock (`performance.timeOrigin + performance.now()`,
 * sub-millisecond in Node and in Chromium).
 */

import type { Page } from 'playwright-core';

interface Seen {
  inserted: number;
  painted?: number;
}
type Clocked = Window & { __seen?: Record<string, Seen> };

/** Records, per terminal line text, when it entered the DOM and the next frame after that. */
export async function installPaintClock(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, Seen> = {};
    (window as Clocked).__seen = seen;
    const now = () => performance.timeOrigin + performance.now();
    new MutationObserver((records) => {
      for (const r of records) {
        for (const node of r.addedNodes) {
          if (!(node instanceof HTMLElement) || !node.classList.contains('line')) continue;
          const entry: Seen = { inserted: now() };
          seen[node.textContent ?? ''] ??= entry;
          requestAnimationFrame(() => {
            entry.painted = now();
          });
        }
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
}

export interface Percentiles {
  p50: number;
  p99: number;
}

export interface Latencies {
  count: number;
  /** Sent → in the DOM. */
  dom: Percentiles;
  /** Sent → the first animation frame with it (what a person sees). */
  pixel: Percentiles;
}

/** Sends `count` lines one at a time, each after the previous one was painted. */
export async function measureLatency(page: Page, count: number, send: (line: string) => Promise<unknown>): Promise<Latencies> {
  const dom: number[] = [];
  const pixel: number[] = [];
  for (let i = 0; i < count; i++) {
    const line = `step ${i + 1}: compiling module ${i + 1} of ${count}`;
    const sent = performance.timeOrigin + performance.now();
    await send(line);
    const handle = await page.waitForFunction(
      (text) => {
        const s = (window as Clocked).__seen?.[text];
        return s?.painted !== undefined && s;
      },
      line,
      { timeout: 10_000 },
    );
    const s = (await handle.jsonValue()) as Required<Seen>;
    dom.push(s.inserted - sent);
    pixel.push(s.painted - sent);
  }
  return { count, dom: percentiles(dom), pixel: percentiles(pixel) };
}

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return { p50: at(0.5), p99: at(0.99) };
}
