/**
 * `@cosmictron/client` against the real server (`serve --demo`, the quickstart module): auth,
 * reducer calls with return values and module errors, queries with parameters, live
 * subscriptions fed by another client's calls, and row-level security between identities.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CosmictronClient, CosmictronError, type UpdateEvent } from '../src/index.js';
import { eventually, startServer, uniqueEmail, uniqueName, type RunningServer } from '../../../test/server.js';

let server: RunningServer;
const clients: CosmictronClient[] = [];

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.stop();
});

/** A client signed up as a new account. */
async function signedUp(): Promise<CosmictronClient> {
  const client = new CosmictronClient(server.wsUrl);
  clients.push(client);
  await client.signUp({ email: uniqueEmail(), password: 'secret' });
  return client;
}

describe('auth', () => {
  it('signs up, signs in with the same password, and the server knows who it is', async () => {
    const email = uniqueEmail();
    const first = new CosmictronClient(server.wsUrl);
    const created = await first.signUp({ email, password: 'secret' });
    const second = new CosmictronClient(server.wsUrl);
    clients.push(first, second);
    const session = await second.signIn({ email, password: 'secret' });
    expect(session.identity).toBe(created.identity);
    expect(second.identity).toBe(created.identity);
    expect(session.token.length).toBeGreaterThan(20);
    expect(session.expires_at).toBeGreaterThan(Date.now() / 1000);
    expect((await second.me()).identity).toBe(created.identity);
  });

  it('rejects a wrong password with a typed error carrying code and status', async () => {
    const email = uniqueEmail();
    const client = new CosmictronClient(server.wsUrl);
    clients.push(client);
    await client.signUp({ email, password: 'secret' });
    const error = await client.signIn({ email, password: 'not-the-secret' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CosmictronError);
    expect((error as CosmictronError).status).toBe(401);
    expect((error as CosmictronError).code).toMatch(/^[a-z_]+$/);
  });

  it('gives anonymous identities and accepts a saved token', async () => {
    const anonymous = new CosmictronClient(server.wsUrl);
    const session = await anonymous.signInAnonymously();
    const restored = new CosmictronClient(server.wsUrl);
    clients.push(anonymous, restored);
    await restored.setToken(session.token);
    expect(restored.identity).toBe(session.identity);
    const username = uniqueName();
    await restored.callReducer('create_user', { username });
    const [owner] = await restored.query('SELECT owner_id FROM users WHERE username = $1', [username]);
    expect(owner).toEqual({ owner_id: session.identity });
  });

  it('accepts a magic-link request whether or not the account exists', async () => {
    const client = new CosmictronClient(server.wsUrl);
    clients.push(client);
    await expect(client.sendMagicLink(uniqueEmail('nobody'))).resolves.toBeUndefined();
    const bad = await client.verifyMagicLink('not-a-real-link-token').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(CosmictronError);
    expect((bad as CosmictronError).status).toBeGreaterThanOrEqual(400);
  });
});

describe('reducer calls', () => {
  it('resolves to the reducer return value', async () => {
    const client = await signedUp();
    const username = uniqueName();
    const user = await client.callReducer<{ id: number; username: string }>('create_user', { username });
    expect(user.username).toBe(username);
    expect(typeof user.id).toBe('number');
    // The module's own serialization of the row (its `owner_id` is the identity's bytes there;
    // SQL results show identities as hex).
    const [stored] = await client.query('SELECT id, owner_id FROM users WHERE username = $1', [username]);
    expect(stored).toEqual({ id: user.id, owner_id: client.identity });
    const outcome = await client.call<number>('record_agent_message', {
      session_id: uniqueName('s'),
      role: 'user',
      content: 'Hello',
    });
    expect(outcome.status).toBe('committed');
    expect(outcome.txId).toBeGreaterThan(0);
    expect(typeof outcome.result).toBe('number');
  });

  it('rejects a module error with its code and HTTP status', async () => {
    const client = await signedUp();
    const username = uniqueName();
    await client.callReducer('create_user', { username });
    const taken = await client.callReducer('create_user', { username }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(CosmictronError);
    expect((taken as CosmictronError).code).toBe('user_exists');
    expect((taken as CosmictronError).status).toBe(409);
    const invalid = await client.callReducer('create_user', { username: '' }).catch((e: unknown) => e);
    expect((invalid as CosmictronError).code).toBe('invalid_username');
    expect((invalid as CosmictronError).status).toBe(422);
  });

  it('rejects an unknown reducer with a 404 code', async () => {
    const client = await signedUp();
    const error = (await client.callReducer('no_such_reducer', {}).catch((e: unknown) => e)) as CosmictronError;
    expect(error).toBeInstanceOf(CosmictronError);
    expect(error.status).toBe(404);
  });

  it('matches pipelined answers to their calls by id', async () => {
    const client = await signedUp();
    const session = uniqueName('s');
    const ids = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.callReducer<number>('record_agent_message', { session_id: session, role: 'user', content: `m${i}` }),
      ),
    );
    const rows = await client.query<{ id: number; content: string }>(
      'SELECT id, content FROM agent_state WHERE session_id = $1',
      [session],
    );
    const byId = new Map(rows.map((r) => [r.id, r.content]));
    ids.forEach((id, i) => expect(byId.get(id)).toBe(`m${i}`));
  });
});

describe('queries', () => {
  it('binds parameters and returns rows keyed by column name', async () => {
    const client = await signedUp();
    const session = uniqueName('s');
    const id = await client.callReducer<number>('record_agent_message', {
      session_id: session,
      role: 'user',
      content: 'Hello',
    });
    const rows = await client.query('SELECT * FROM agent_state WHERE session_id = $1', [session]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id, session_id: session, role: 'user', content: 'Hello' });
    const byId = await client.queryResult('SELECT * FROM agent_state WHERE id = $1', [id]);
    expect(byId.columns).toEqual(['id', 'session_id', 'role', 'content', 'created_at']);
    expect(byId.rows).toHaveLength(1);
    expect(byId.txId).toBeGreaterThan(0);
  });

  it('rejects bad SQL with a typed error', async () => {
    const client = await signedUp();
    const error = (await client.query('SELEKT nonsense').catch((e: unknown) => e)) as CosmictronError;
    expect(error).toBeInstanceOf(CosmictronError);
    expect(error.status).toBe(400);
  });
});

describe('subscriptions', () => {
  it("see another client's inserts and deletes, one update per transaction", async () => {
    const watcher = await signedUp();
    const writer = await signedUp();
    const session = uniqueName('s');
    const before = await writer.callReducer<number>('record_agent_message', {
      session_id: session,
      role: 'user',
      content: 'before',
    });
    const sub = await watcher.subscribe<{ id: number; content: string }>(
      'SELECT * FROM agent_state WHERE session_id = $1',
      [session],
    );
    expect(sub.rows.map((r) => r.id)).toEqual([before]);
    const events: UpdateEvent<{ id: number; content: string }>[] = [];
    sub.on('update', (e) => events.push(e));

    const added = await writer.call<number>('record_agent_message', { session_id: session, role: 'user', content: 'after' });
    await eventually(() => events.length === 1, 10_000, 'the insert');
    expect(events[0]!.txId).toBe(added.txId);
    expect(events[0]!.inserts.map((r) => r.content)).toEqual(['after']);
    expect(events[0]!.deletes).toEqual([]);
    expect(sub.rows.map((r) => r.id).sort()).toEqual([before, added.result].sort());

    const removed = await writer.call<boolean>('delete_message', { id: before });
    expect(removed.result).toBe(true);
    await eventually(() => events.length === 2, 10_000, 'the delete');
    expect(events[1]!.txId).toBe(removed.txId);
    expect(events[1]!.deletes.map((r) => r.id)).toEqual([before]);
    expect(sub.rows.map((r) => r.id)).toEqual([added.result]);

    // A write elsewhere changes nothing here.
    await writer.callReducer('record_agent_message', { session_id: uniqueName('other'), role: 'user', content: 'x' });
    await sub.unsubscribe();
    expect(sub.active).toBe(false);
    await writer.callReducer('record_agent_message', { session_id: session, role: 'user', content: 'unseen' });
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toHaveLength(2);
  });

  it('rejects a query that cannot be subscribed to', async () => {
    const client = await signedUp();
    const error = (await client.subscribe('SELECT * FROM no_such_table').catch((e: unknown) => e)) as CosmictronError;
    expect(error).toBeInstanceOf(CosmictronError);
    expect(error.status).toBeGreaterThanOrEqual(400);
  });
});

describe('row-level security', () => {
  it('two identities see only their own users, in queries and subscriptions', async () => {
    const ann = await signedUp();
    const bob = await signedUp();
    const annSub = await ann.subscribe<{ username: string; owner_id: string }>('SELECT * FROM users');
    const bobSub = await bob.subscribe<{ username: string; owner_id: string }>('SELECT * FROM users');
    expect(annSub.rows).toEqual([]);
    expect(bobSub.rows).toEqual([]);
    const annName = uniqueName('ann');
    const bobName = uniqueName('bob');
    await ann.callReducer('create_user', { username: annName });
    await bob.callReducer('create_user', { username: bobName });
    await eventually(() => annSub.rows.length === 1 && bobSub.rows.length === 1, 10_000, 'both inserts');
    // Give a wrongly-routed row time to show up before asserting it did not.
    await new Promise((r) => setTimeout(r, 200));
    expect(annSub.rows.map((u) => u.username)).toEqual([annName]);
    expect(bobSub.rows.map((u) => u.username)).toEqual([bobName]);
    expect(annSub.rows[0]!.owner_id).toBe(ann.identity);
    const annQuery = await ann.query<{ username: string }>('SELECT * FROM users');
    expect(annQuery.map((u) => u.username)).toEqual([annName]);
    const bobQuery = await bob.query<{ username: string }>('SELECT * FROM users WHERE username = $1', [annName]);
    expect(bobQuery).toEqual([]);
  });

  it("signing in as another identity re-subscribes with that identity's view", async () => {
    const bobEmail = uniqueEmail('bob');
    const bob = new CosmictronClient(server.wsUrl);
    clients.push(bob);
    await bob.signUp({ email: bobEmail, password: 'secret' });
    const bobName = uniqueName('bob');
    await bob.callReducer('create_user', { username: bobName });

    const client = await signedUp();
    const annName = uniqueName('ann');
    await client.callReducer('create_user', { username: annName });
    const sub = await client.subscribe<{ username: string }>('SELECT * FROM users');
    expect(sub.rows.map((u) => u.username)).toEqual([annName]);
    const events: UpdateEvent<{ username: string }>[] = [];
    sub.on('update', (e) => events.push(e));

    await client.signIn({ email: bobEmail, password: 'secret' });
    await eventually(() => events.length === 1, 10_000, 'the switch to the new identity');
    expect(events[0]!.deletes.map((u) => u.username)).toEqual([annName]);
    expect(events[0]!.inserts.map((u) => u.username)).toEqual([bobName]);
    expect(sub.rows.map((u) => u.username)).toEqual([bobName]);
  });
});
