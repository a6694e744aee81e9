/**
 * Client-side numbers against the real server (run with `npm run bench`; not part of `npm
 * test`): reducer calls per second pipelined over one WebSocket, and commit-to-callback
 * latency — from sending a call on one client to the `update` callback of another client
 * subscribed to the changed rows (reducer + commit with fsync + fan-out + delivery).
 * Results are printed and written to `bench/results.json`.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CosmictronClient } from '../packages/client/src/index.js';
import { startServer, uniqueEmail, uniqueName, type RunningServer } from '../test/server.js';
import { repoRoot } from '../test/paths.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 5000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 500);
const results: Record<string, number> = {};
let server: RunningServer | undefined;
const clients: CosmictronClient[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.stop();
  writeFileSync(join(repoRoot, 'sdk-ts', 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(results);
});

async function client(): Promise<CosmictronClient> {
  server ??= await startServer();
  const c = new CosmictronClient(server.wsUrl);
  clients.push(c);
  await c.signUp({ email: uniqueEmail('bench'), password: 'secret' });
  return c;
}

it('pipelined calls per second over one WebSocket', async () => {
  const c = await client();
  const session = uniqueName('pipe');
  await c.callReducer('record_agent_message', { session_id: session, role: 'user', content: 'warm' });
  const started = performance.now();
  const ids = await Promise.all(
    Array.from({ length: CALLS }, (_, i) =>
      c.callReducer<number>('record_agent_message', { session_id: session, role: 'user', content: `m${i}` }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  expect(new Set(ids).size).toBe(CALLS);
  results.pipelined_calls = CALLS;
  results.pipelined_calls_per_s = Math.round(CALLS / seconds);
}, 300_000);

it('commit-to-callback latency p50/p99', async () => {
  const writer = await client();
  const watcher = await client();
  const session = uniqueName('lat');
  const sub = await watcher.subscribe('SELECT * FROM agent_state WHERE session_id = $1', [session]);
  const latencies: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const seen = new Promise<number>((resolve) => {
      const off = sub.on('update', () => {
        off();
        resolve(performance.now());
      });
    });
    const sent = performance.now();
    await writer.callReducer('record_agent_message', { session_id: session, role: 'user', content: `l${i}` });
    latencies.push((await seen) - sent);
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  results.latency_samples = SAMPLES;
  results.commit_to_callback_p50_ms = Number(at(0.5).toFixed(2));
  results.commit_to_callback_p99_ms = Number(at(0.99).toFixed(2));
  expect(sub.rows).toHaveLength(SAMPLES);
}, 300_000);
