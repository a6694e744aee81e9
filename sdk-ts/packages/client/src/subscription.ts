/**
 * A live query: its rows (a local cache the client keeps up to date) and an `update` event per
 * transaction that changed them. The client owns the wire; this class only applies what the
 * client hands it, so the rules "one event per transaction" and "nothing seen twice" live here.
 */

import type { CosmictronError } from './errors.js';
import { RowCache, toObject, type Row, type WireRow } from './rows.js';

/** What an `update` listener receives: one transaction's changes to this query's result. */
export interface UpdateEvent<T extends object = Row> {
  /** The transaction that made the change. */
  txId: number;
  inserts: T[];
  deletes: T[];
  /** Every row after the change (the same array as `subscription.rows`). */
  rows: readonly T[];
}

type Listeners<T extends object> = {
  update: Set<(event: UpdateEvent<T>) => void>;
  error: Set<(error: CosmictronError) => void>;
};

export class Subscription<T extends object = Row> {
  /** The module the server routed the query to. */
  module: string | undefined;
  /** Column names of the result, in order. */
  columns: readonly string[] = [];
  /** The last transaction this subscription reflects; resumption continues after it. */
  txId = 0;
  /** False after `unsubscribe()` or after the server ended the subscription. */
  active = true;
  private readonly cache = new RowCache<T>([]);
  private readonly listeners: Listeners<T> = { update: new Set(), error: new Set() };

  /** @internal Built by `CosmictronClient.subscribe`. */
  constructor(
    readonly id: number,
    readonly query: string,
    readonly params: readonly unknown[],
    private readonly stop: (subscription: Subscription<T>) => Promise<void>,
  ) {}

  /** The current rows, as objects keyed by column name (same array until the next change). */
  get rows(): readonly T[] {
    return this.cache.rows();
  }

  on(event: 'update', listener: (event: UpdateEvent<T>) => void): () => void;
  on(event: 'error', listener: (error: CosmictronError) => void): () => void;
  on(event: 'update' | 'error', listener: (arg: never) => void): () => void {
    const set = this.listeners[event] as Set<(arg: never) => void>;
    set.add(listener);
    return () => set.delete(listener);
  }

  off(event: 'update' | 'error', listener: (arg: never) => void): void {
    (this.listeners[event] as Set<(arg: never) => void>).delete(listener);
  }

  /** Stops the updates. Never rejects: after this call no `update` event fires. */
  unsubscribe(): Promise<void> {
    if (!this.active) return Promise.resolve();
    this.active = false;
    return this.stop(this);
  }

  /** @internal The server's `subscribed`. A resumed one keeps the cache: the missed updates follow. */
  applySubscribed(columns: readonly string[], txId: number, resumed: boolean, rows: WireRow[]): void {
    this.columns = columns;
    if (resumed) return;
    const first = this.txId === 0;
    const before = this.cache.wireRows();
    this.cache.reset(columns, rows);
    this.txId = txId;
    if (first) return;
    // A fresh result after a reconnect that could not resume: tell listeners the difference.
    const after = this.cache.wireRows();
    const inserts: T[] = [];
    const deletes: T[] = [];
    diffInto(after, before, inserts, columns);
    diffInto(before, after, deletes, columns);
    if (inserts.length || deletes.length) this.emit(txId, inserts, deletes);
  }

  /** @internal One transaction's changes; ignored when already seen (replays after resume). */
  applyUpdate(txId: number, inserts: WireRow[], deletes: WireRow[]): void {
    if (!this.active || txId <= this.txId) return;
    this.txId = txId;
    const deleted = deletes.map((r) => this.cache.delete(r));
    const inserted = inserts.map((r) => this.cache.insert(r));
    this.emit(txId, inserted, deleted);
  }

  /** @internal */
  fail(error: CosmictronError): void {
    for (const listener of this.listeners.error) listener(error);
  }

  private emit(txId: number, inserts: T[], deletes: T[]): void {
    const event: UpdateEvent<T> = { txId, inserts, deletes, rows: this.cache.rows() };
    for (const listener of this.listeners.update) listener(event);
  }
}

/** Rows of `a` beyond their count in `b`, as objects. */
function diffInto<T extends object>(
  a: Map<string, number>,
  b: Map<string, number>,
  out: T[],
  columns: readonly string[],
): void {
  for (const [key, count] of a) {
    const extra = count - (b.get(key) ?? 0);
    for (let i = 0; i < extra; i++) out.push(toObject<T>(columns, JSON.parse(key) as WireRow));
  }
}
