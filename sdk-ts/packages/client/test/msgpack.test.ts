/**
 * The MessagePack subprotocol: the codec round-trips every type the protocol uses, and a
 * client with `encoding: 'msgpack'` negotiates `cosmictron.v1.msgpack` with the real server
 * and gets the same answers as over JSON (return values, error codes, queries, updates).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CosmictronClient, CosmictronError } from '../src/index.js';
import { decode, encode } from '../src/msgpack.js';
import { eventually, startServer, uniqueEmail, uniqueName, type RunningServer } from '../../../test/server.js';

describe('codec', () => {
  it('round-trips nil, bools, integers of every width, floats, strings, arrays and maps', () => {
    const value = {
      nil: null,
      yes: true,
      no: false,
      small: [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER],
      negative: [-1, -32, -33, -128, -129, -32_768, -(2 ** 31), -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER],
      float: [0.5, -1.25, 1e300],
      text: ['', 'a', 'é✓', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(300), 'w'.repeat(70_000)],
      long: Array.from({ length: 20 }, (_, i) => i),
      map: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
    };
    expect(decode(encode(value))).toEqual(value);
  });

  it('decodes 64-bit integers beyond 2^53 as decimal strings and rejects truncated input', () => {
    const big = Uint8Array.from([0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(decode(big)).toBe('18446744073709551615');
    expect(() => decode(Uint8Array.from([0x92, 0x01]))).toThrow(RangeError);
  });
});

describe('against the server', () => {
  let server: RunningServer;
  const clients: CosmictronClient[] = [];
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  it('calls, queries and subscribes over cosmictron.v1.msgpack', async () => {
    const client = new CosmictronClient(server.wsUrl, { encoding: 'msgpack' });
    const writer = new CosmictronClient(server.wsUrl);
    clients.push(client, writer);
    await client.signUp({ email: uniqueEmail(), password: 'secret' });
    await writer.signUp({ email: uniqueEmail(), password: 'secret' });
    const username = uniqueName();
    const user = await client.callReducer<{ username: string }>('create_user', { username });
    expect(client.protocol).toBe('cosmictron.v1.msgpack');
    expect(user.username).toBe(username);
    const taken = (await client.callReducer('create_user', { username }).catch((e: unknown) => e)) as CosmictronError;
    expect(taken.code).toBe('user_exists');
    expect(taken.status).toBe(409);
    const [row] = await client.query('SELECT username, owner_id FROM users WHERE username = $1', [username]);
    expect(row).toEqual({ username, owner_id: client.identity });

    const session = uniqueName('s');
    const sub = await client.subscribe<{ content: string }>('SELECT * FROM agent_state WHERE session_id = $1', [session]);
    const outcome = await writer.call('record_agent_message', { session_id: session, role: 'user', content: 'packed' });
    await eventually(() => sub.rows.length === 1, 10_000, 'the update');
    expect(sub.rows[0]!.content).toBe('packed');
    expect(sub.txId).toBe(outcome.txId);
  });
});
