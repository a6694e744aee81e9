/**
 * `@cosmictron/client`: talk to a Cosmictron server from browsers and Node.js.
 *
 * ```ts
 * const client = new CosmictronClient('ws://127.0.0.1:3000');
 * await client.signIn({ email: 'user@example.com', password: 'secret' });
 * const user = await client.callReducer('create_user', { username: 'alice' });
 * const sub = await client.subscribe('SELECT * FROM users');
 * sub.on('update', ({ inserts, deletes }) => render(sub.rows));
 * ```
 */

export { CosmictronClient } from './client.js';
export type { CallOutcome, ClientOptions, ModuleOption, QueryResult } from './client.js';
export type { Encoding, ReconnectOptions, WebSocketConstructor, WebSocketLike } from './connection.js';
export { CosmictronError } from './errors.js';
export type { Session } from './http.js';
export type { Row } from './rows.js';
export { Subscription } from './subscription.js';
export type { UpdateEvent } from './subscription.js';
