/**
 * Reconnection: the server is SIGKILLed and restarted on the same data directory and port;
 * while the subscriber is away another client commits inserts and a delete. After the
 * subscriber reconnects (on its own, with backoff) its subscription must hold exactly the rows
 * a fresh query returns, and every change must have reached its listener exactly once.
 * (A restarted server keeps no change history from before the restart, so it answers the
 * resume with `history_unavailable` and the client re-subscribes and reports the difference;
 * the last test exercises the server-side resume itself, across reconnects to a live server.)
 */

import { afterAll, expect, it } from 'vitest';
import { CosmictronClient, type UpdateEvent } from '../src/index.js';
import { eventually, startServer, uniqueEmail, uniqueName, type RunningServer } from '../../../test/server.js';

type Message = { id: number; content: string };
const running: RunningServer[] = [];
const clients: CosmictronClient[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of running) await s.stop().catch(() => undefined);
});

it('recovers every subscription after the server is killed and restarted: nothing missed, nothing doubled', async () => {
  const first = await startServer();
  running.push(first);
  const email = uniqueEmail();
  // A slow first retry, so the writes below land while the subscriber is still away.
  const watcher = new CosmictronClient(first.wsUrl, { reconnect: { minDelayMs: 10_000, maxDelayMs: 10_000 } });
  clients.push(watcher);
  await watcher.signUp({ email, password: 'secret' });
  const session = uniqueName('s');
  const sub = await watcher.subscribe<Message>('SELECT * FROM agent_state WHERE session_id = $1', [session]);
  const events: UpdateEvent<Message>[] = [];
  sub.on('update', (e) => events.push(e));
  const write = (client: CosmictronClient, content: string) =>
    client.callReducer<number>('record_agent_message', { session_id: session, role: 'user', content });

  const m1 = await write(watcher, 'one');
  await eventually(() => sub.rows.length === 1, 10_000, 'the first insert');

  await first.kill();
  const second = await startServer({ dataDir: first.dataDir, port: first.port });
  running.push(second);
  const writer = new CosmictronClient(second.wsUrl);
  clients.push(writer);
  await writer.signIn({ email, password: 'secret' });
  const m2 = await write(writer, 'two');
  const m3 = await write(writer, 'three');
  expect(await writer.callReducer('delete_message', { id: m1 })).toBe(true);
  // The subscriber was away while m2, m3 and the delete committed, so this exercises a resume.
  expect(watcher.connected).toBe(false);

  await eventually(() => sub.rows.length === 2 && !sub.rows.some((r) => r.id === m1), 30_000, 'the resumed state');
  const m4 = await write(writer, 'four');
  await eventually(() => sub.rows.length === 3, 10_000, 'a live insert after the reconnect');

  const fresh = await writer.query<Message>('SELECT * FROM agent_state WHERE session_id = $1', [session]);
  const ids = (rows: readonly Message[]) => rows.map((r) => r.id).sort((a, b) => a - b);
  expect(ids(sub.rows)).toEqual(ids(fresh));
  expect(ids(sub.rows)).toEqual([m2, m3, m4].sort((a, b) => a - b));
  const inserted = events.flatMap((e) => e.inserts.map((r) => r.id));
  const deleted = events.flatMap((e) => e.deletes.map((r) => r.id));
  expect(inserted.sort((a, b) => a - b)).toEqual([m1, m2, m3, m4].sort((a, b) => a - b));
  expect(deleted).toEqual([m1]);
  const txs = events.map((e) => e.txId);
  expect(txs).toEqual([...txs].sort((a, b) => a - b));
  expect(new Set(txs).size).toBe(txs.length);
});

it('sends a call made while the server is down once a connection is back, exactly once', async () => {
  const first = await startServer();
  running.push(first);
  const client = new CosmictronClient(first.wsUrl, { reconnect: { minDelayMs: 200, maxDelayMs: 1000 } });
  clients.push(client);
  await client.signUp({ email: uniqueEmail(), password: 'secret' });
  await client.callReducer('record_agent_message', { session_id: 'x', role: 'user', content: 'warm' });
  await first.kill();
  const whileDown = client.callReducer<number>('record_agent_message', { session_id: 'x', role: 'user', content: 'queued' });
  const second = await startServer({ dataDir: first.dataDir, port: first.port });
  running.push(second);
  // Sent only once a connection is up again, so it commits exactly once.
  const id = await whileDown;
  const rows = await client.query('SELECT * FROM agent_state WHERE id = $1', [id]);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ content: 'queued' });
});

it('resumes from the last applied tx across reconnects while another client keeps writing', async () => {
  const server = await startServer();
  running.push(server);
  const watcher = new CosmictronClient(server.wsUrl);
  const writer = new CosmictronClient(server.wsUrl);
  clients.push(watcher, writer);
  const session = await watcher.signUp({ email: uniqueEmail(), password: 'secret' });
  await writer.signUp({ email: uniqueEmail(), password: 'secret' });
  const topic = uniqueName('s');
  const sub = await watcher.subscribe<Message>('SELECT * FROM agent_state WHERE session_id = $1', [topic]);
  const inserted: number[] = [];
  sub.on('update', (e) => inserted.push(...e.inserts.map((r) => r.id)));
  const written: number[] = [];
  const writing = (async () => {
    for (let i = 0; i < 60; i++) {
      written.push(await writer.callReducer<number>('record_agent_message', { session_id: topic, role: 'user', content: `w${i}` }));
    }
  })();
  // The same identity again: the connection is replaced and every subscription resumed.
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 40));
    await watcher.setToken(session.token, session.identity);
  }
  await writing;
  await eventually(() => sub.rows.length === 60, 15_000, 'all 60 rows');
  const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);
  expect(sorted(inserted)).toEqual(sorted(written));
  expect(sorted(sub.rows.map((r) => r.id))).toEqual(sorted(written));
});
