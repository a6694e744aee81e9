/**
 * `CosmictronClient`: one object per server. Auth goes over HTTP; reducer calls, queries and
 * subscriptions share one WebSocket, opened on first use.
 *
 * The life of a request: it gets an id from one counter (so an `error` with an id always
 * names exactly one request or subscription), waits in `pending` until the socket is open,
 * is sent, and is settled by the answer with its id — answers may arrive in any order.
 *
 * When the socket drops, the client reconnects with backoff and then:
 * - re-subscribes every live subscription with `from_tx` = the last transaction it applied, so
 *   the server sends only what was missed (and the subscription drops anything it already saw);
 *   if the server cannot resume that far back, it subscribes afresh and reports the difference
 *   between the old and new rows as one update;
 * - re-sends queries (read-only, so safe to repeat);
 * - rejects reducer calls that were already sent with `connection_lost`: whether they committed
 *   is unknown, and a call must never run twice behind the application's back.
 */

import {
  Connection,
  resolveWebSocket,
  type Encoding,
  type ReconnectOptions,
  type WebSocketConstructor,
} from './connection.js';
import { CosmictronError, errorFrom, type ServerError } from './errors.js';
import { httpBase, requestJson, websocketUrl, type Fetch, type Session } from './http.js';
import { toObject, type Row, type WireRow } from './rows.js';
import { Subscription } from './subscription.js';

export interface ClientOptions {
  /** A WebSocket implementation (default: the platform's, else the `ws` package in Node). */
  WebSocket?: WebSocketConstructor;
  /** A `fetch` implementation (default: the platform's). */
  fetch?: Fetch;
  /** A token from an earlier sign-in. */
  token?: string;
  /** Reconnection backoff, or `false` to never reconnect. Default 100 ms doubling to 5 s. */
  reconnect?: ReconnectOptions | false;
  /** WebSocket message encoding: JSON text (default) or MessagePack binary frames. */
  encoding?: Encoding;
}

/** Which module to address; by default the server routes by reducer or table name. */
export interface ModuleOption {
  module?: string;
}

/** A committed reducer call. */
export interface CallOutcome<R = unknown> {
  txId: number;
  status: 'committed';
  durationMs: number;
  /** What the reducer returned (`null` for reducers that return nothing). */
  result: R;
}

/** A query's answer with its metadata. */
export interface QueryResult<T extends object = Row> {
  columns: string[];
  /** Column types where the server knows them (`u64`, `string`, …). */
  columnTypes: (string | null)[];
  rows: T[];
  /** The snapshot the query read. */
  txId: number;
}

type PendingKind = 'call' | 'query' | 'subscribe' | 'unsubscribe';

interface Pending {
  kind: PendingKind;
  message: Record<string, unknown>;
  sent: boolean;
  resolve(message: Record<string, unknown>): void;
  reject(error: CosmictronError): void;
}

type ClientListener = {
  identity: Set<(identity: string | null) => void>;
  error: Set<(error: CosmictronError) => void>;
};

export class CosmictronClient {
  private readonly base: string;
  private readonly fetcher: Fetch;
  private readonly connection: Connection;
  private readonly pending = new Map<number, Pending>();
  private readonly subscriptions = new Map<number, Subscription<Row>>();
  private readonly listeners: ClientListener = { identity: new Set(), error: new Set() };
  private nextId = 1;
  private currentToken: string | undefined;
  private currentIdentity: string | null = null;
  /** Set when the identity changed: the next connection must not resume the old identity's view. */
  private resubscribeFresh = false;

  constructor(url: string, options: ClientOptions = {}) {
    this.base = httpBase(url);
    this.fetcher = options.fetch ?? ((...args) => fetch(...args));
    this.currentToken = options.token;
    const reconnect =
      options.reconnect === false
        ? false
        : { minDelayMs: options.reconnect?.minDelayMs ?? 100, maxDelayMs: options.reconnect?.maxDelayMs ?? 5000 };
    const wsUrl = websocketUrl(url);
    this.connection = new Connection(
      () => (this.currentToken ? `${wsUrl}?token=${encodeURIComponent(this.currentToken)}` : wsUrl),
      () => resolveWebSocket(options.WebSocket),
      {
        onOpen: () => this.opened(),
        onMessage: (m) => this.received(m),
        onDown: (e, retry) => this.down(e, retry),
      },
      reconnect,
      options.encoding ?? 'json',
    );
  }

  // ---- auth -----------------------------------------------------------------------------

  /** The session token in use, if signed in. */
  get token(): string | undefined {
    return this.currentToken;
  }

  /** True while the WebSocket is open. */
  get connected(): boolean {
    return this.connection.isOpen;
  }

  /** The WebSocket subprotocol in use while connected (`cosmictron.v1.json` or `.msgpack`). */
  get protocol(): string | undefined {
    return this.connection.protocol;
  }

  /** How many subscriptions are live (for tests and diagnostics). */
  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** The signed-in identity (hex), or null. */
  get identity(): string | null {
    return this.currentIdentity;
  }

  signUp(credentials: { email: string; password: string }): Promise<Session> {
    return this.session('/v1/auth/sign-up', credentials);
  }

  signIn(credentials: { email: string; password: string }): Promise<Session> {
    return this.session('/v1/auth/sign-in', credentials);
  }

  /** A new anonymous identity. */
  signInAnonymously(): Promise<Session> {
    return this.session('/v1/auth/anonymous', undefined);
  }

  /** Asks the server to email a sign-in link (always accepted, whether or not the account exists). */
  async sendMagicLink(email: string): Promise<void> {
    await requestJson(this.fetcher, this.base, 'POST', '/v1/auth/magic-link', { email }, undefined);
  }

  /** Signs in with the token from a magic link. */
  verifyMagicLink(token: string): Promise<Session> {
    return this.session('/v1/auth/magic-link/verify', { token });
  }

  /** Who the server thinks the token belongs to. */
  me(): Promise<{ identity: string; admin: boolean }> {
    return requestJson(this.fetcher, this.base, 'GET', '/v1/auth/me', undefined, this.currentToken);
  }

  /**
   * Uses a token obtained elsewhere (e.g. saved from an earlier session); `identity` as the
   * sign-in returned it, or null to look it up. Reconnects the WebSocket as the new identity.
   */
  async setToken(token: string | undefined, identity?: string | null): Promise<void> {
    this.currentToken = token;
    let who: string | null = identity ?? null;
    if (token && identity === undefined) who = (await this.me()).identity;
    this.identityChanged(token ? who : null);
  }

  /** Forgets the token; the WebSocket reconnects without one. */
  signOut(): void {
    this.currentToken = undefined;
    this.identityChanged(null);
  }

  // ---- reducers, queries, subscriptions --------------------------------------------------

  /** Calls a reducer; resolves to its return value, rejects with a `CosmictronError`. */
  async callReducer<R = unknown>(name: string, args: Record<string, unknown> = {}, options: ModuleOption = {}): Promise<R> {
    return (await this.call<R>(name, args, options)).result;
  }

  /** Calls a reducer; resolves to the whole outcome (`txId`, `durationMs`, `result`). */
  async call<R = unknown>(name: string, args: Record<string, unknown> = {}, options: ModuleOption = {}): Promise<CallOutcome<R>> {
    const answer = await this.request('call', { type: 'call', reducer: name, args, ...moduleField(options) });
    return {
      txId: answer.tx_id as number,
      status: 'committed',
      durationMs: answer.duration_ms as number,
      result: (answer.result ?? null) as R,
    };
  }

  /** Runs a read-only query (`$1…$n` bound to `params`); resolves to rows keyed by column. */
  async query<T extends object = Row>(sql: string, params: unknown[] = [], options: ModuleOption = {}): Promise<T[]> {
    return (await this.queryResult<T>(sql, params, options)).rows;
  }

  /** Like `query`, with the column names, column types and the snapshot's `txId`. */
  async queryResult<T extends object = Row>(sql: string, params: unknown[] = [], options: ModuleOption = {}): Promise<QueryResult<T>> {
    const answer = await this.request('query', { type: 'query', query: sql, params, ...moduleField(options) });
    const columns = answer.columns as string[];
    return {
      columns,
      columnTypes: (answer.column_types as (string | null)[]) ?? [],
      rows: (answer.rows as WireRow[]).map((r) => toObject<T>(columns, r)),
      txId: answer.tx_id as number,
    };
  }

  /** Subscribes to a query; resolves once the initial rows are in `subscription.rows`. */
  async subscribe<T extends object = Row>(sql: string, params: unknown[] = [], options: ModuleOption = {}): Promise<Subscription<T>> {
    const id = this.nextId++;
    const subscription = new Subscription<Row>(id, sql, params, (s) => this.stop(s));
    subscription.module = options.module;
    this.subscriptions.set(id, subscription);
    try {
      await this.enqueue(id, 'subscribe', this.subscribeMessage(subscription, false));
    } catch (e) {
      this.subscriptions.delete(id);
      subscription.active = false;
      throw e;
    }
    return subscription as unknown as Subscription<T>;
  }

  /** Errors that belong to no request (e.g. the server dropping a lagging connection). */
  on(event: 'error', listener: (error: CosmictronError) => void): () => void;
  /** The signed-in identity changed (sign-in, sign-out, `setToken`). */
  on(event: 'identity', listener: (identity: string | null) => void): () => void;
  on(event: 'error' | 'identity', listener: (arg: never) => void): () => void {
    const set = this.listeners[event] as Set<(arg: never) => void>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Closes the WebSocket; pending requests reject with `connection_closed`. */
  close(): void {
    this.connection.close();
  }

  // ---- internals --------------------------------------------------------------------------

  private async session(path: string, body: unknown): Promise<Session> {
    const session = await requestJson<Session>(this.fetcher, this.base, 'POST', path, body, undefined);
    this.currentToken = session.token;
    this.identityChanged(session.identity);
    return session;
  }

  private identityChanged(identity: string | null): void {
    const changed = identity !== this.currentIdentity;
    this.currentIdentity = identity;
    if (changed) this.resubscribeFresh = true;
    // A connection carries the identity it was opened with: open a new one.
    if (this.connection.isOpen || this.pending.size > 0 || this.subscriptions.size > 0) {
      this.connection.restart();
    }
    if (changed) for (const l of this.listeners.identity) l(identity);
  }

  private subscribeMessage(s: Subscription<Row>, resume: boolean): Record<string, unknown> {
    const message: Record<string, unknown> = { type: 'subscribe', query: s.query, params: [...s.params] };
    if (s.module) message.module = s.module;
    if (resume && s.txId > 0) message.from_tx = s.txId;
    return message;
  }

  private request(kind: PendingKind, message: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.enqueue(this.nextId++, kind, message);
  }

  private enqueue(id: number, kind: PendingKind, message: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const entry: Pending = { kind, message: { ...message, id }, sent: false, resolve, reject };
      this.pending.set(id, entry);
      entry.sent = this.connection.send(entry.message);
      if (!entry.sent) this.connection.start();
    });
  }

  private stop(subscription: Subscription<Row>): Promise<void> {
    this.subscriptions.delete(subscription.id);
    if (!this.connection.isOpen) return Promise.resolve();
    // The protocol names the subscription by its own id; the answer carries the same id.
    if (this.pending.has(subscription.id)) return Promise.resolve();
    return this.enqueue(subscription.id, 'unsubscribe', { type: 'unsubscribe' }).then(
      () => undefined,
      () => undefined,
    );
  }

  private opened(): void {
    const fresh = this.resubscribeFresh;
    this.resubscribeFresh = false;
    for (const [id, entry] of this.pending) {
      if (entry.sent) continue;
      if (entry.kind === 'subscribe') {
        const s = this.subscriptions.get(id);
        if (!s) {
          this.pending.delete(id);
          entry.resolve({});
          continue;
        }
        entry.message = { ...this.subscribeMessage(s, !fresh), id };
      }
      entry.sent = this.connection.send(entry.message);
    }
    for (const [id, s] of this.subscriptions) {
      if (this.pending.has(id)) continue;
      // A live subscription: resume it (its answer is handled like any `subscribed`).
      const message = { ...this.subscribeMessage(s, !fresh), id };
      this.pending.set(id, { kind: 'subscribe', message, sent: this.connection.send(message), resolve: noop, reject: (e) => this.ended(s, e) });
    }
  }

  private down(error: CosmictronError, willRetry: boolean): void {
    for (const [id, entry] of this.pending) {
      if (entry.kind === 'unsubscribe') {
        // The server forgets a connection's subscriptions when the connection ends.
        this.pending.delete(id);
        entry.resolve({});
        continue;
      }
      if (!entry.sent) {
        if (willRetry) continue;
      } else if (willRetry && entry.kind !== 'call') {
        entry.sent = false; // re-sent on the next connection
        continue;
      }
      this.pending.delete(id);
      if (entry.kind === 'call' && entry.sent) {
        entry.reject(new CosmictronError('connection_lost', `${error.message}; the call may or may not have committed`));
      } else entry.reject(error);
    }
    if (!willRetry) {
      for (const s of this.subscriptions.values()) this.ended(s, error);
    }
  }

  private ended(s: Subscription<Row>, error: CosmictronError): void {
    this.subscriptions.delete(s.id);
    if (!s.active) return;
    s.active = false;
    s.fail(error);
  }

  private received(m: Record<string, unknown>): void {
    switch (m.type) {
      case 'update':
        return this.applyUpdate(m);
      case 'subscribed': {
        const id = m.id as number;
        const s = this.subscriptions.get(id);
        if (s) {
          s.module = m.module as string;
          s.applySubscribed(m.columns as string[], m.tx_id as number, m.resumed === true, m.rows as WireRow[]);
        }
        return this.settle(id, m);
      }
      case 'result':
      case 'rows':
      case 'unsubscribed':
        return this.settle(m.id as number, m);
      case 'error':
        return this.failed(m);
      default:
        return;
    }
  }

  private applyUpdate(m: Record<string, unknown>): void {
    const txId = m.tx_id as number;
    const updates = m.updates as { id: number; inserts: WireRow[]; deletes: WireRow[] }[];
    for (const u of updates) {
      this.subscriptions.get(u.id)?.applyUpdate(txId, u.inserts, u.deletes);
    }
  }

  private settle(id: number, m: Record<string, unknown>): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    entry.resolve(m);
  }

  private failed(m: Record<string, unknown>): void {
    const error = errorFrom(m.error as ServerError);
    const id = m.id as number | undefined;
    if (id === undefined) {
      for (const l of this.listeners.error) l(error);
      return;
    }
    const entry = this.pending.get(id);
    const s = this.subscriptions.get(id);
    if (entry?.kind === 'subscribe' && s && entry.message.from_tx !== undefined && error.code === 'history_unavailable') {
      // Too far back to resume: start over; the fresh rows are diffed against the cache.
      entry.message = { ...this.subscribeMessage(s, false), id };
      entry.sent = this.connection.send(entry.message);
      return;
    }
    if (entry) {
      this.pending.delete(id);
      entry.reject(error);
      return;
    }
    // The server ended a live subscription (e.g. the module was removed).
    if (s) this.ended(s, error);
  }
}

function moduleField(options: ModuleOption): Record<string, string> {
  return options.module ? { module: options.module } : {};
}

function noop(): void {}
