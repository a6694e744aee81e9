/**
 * Rows as the application sees them: objects keyed by column name. Values keep the server's
 * JSON form, which never loses precision: integers beyond 2^53 arrive as decimal strings,
 * bytes as `"\\x…"` hex strings, identities as 64-hex strings.
 */

/** One row, keyed by column name. */
export type Row = Record<string, unknown>;

/** One row as it travels on the wire: values in column order. */
export type WireRow = unknown[];

export function toObject<T extends object = Row>(columns: readonly string[], values: WireRow): T {
  const row: Row = {};
  for (let i = 0; i < columns.length; i++) {
    row[columns[i] as string] = values[i];
  }
  return row as T;
}

/**
 * The local copy of a subscription's rows. A query may return the same row twice (no primary
 * key in the projection), so this is a multiset keyed by the row's JSON text; a delete removes
 * one copy, as the server's change sets mean.
 */
export class RowCache<T extends object = Row> {
  private readonly entries = new Map<string, { row: T; count: number }>();
  private snapshot: T[] | undefined;

  constructor(private columns: readonly string[]) {}

  /** Replaces everything (a fresh, not resumed, subscription). */
  reset(columns: readonly string[], rows: readonly WireRow[]): void {
    this.columns = columns;
    this.entries.clear();
    this.snapshot = undefined;
    for (const r of rows) this.insert(r);
  }

  insert(values: WireRow): T {
    const key = JSON.stringify(values);
    const found = this.entries.get(key);
    this.snapshot = undefined;
    if (found) {
      found.count++;
      return found.row;
    }
    const row = toObject<T>(this.columns, values);
    this.entries.set(key, { row, count: 1 });
    return row;
  }

  /** Removes one copy; returns the row removed, or the row built from `values` if unknown. */
  delete(values: WireRow): T {
    const key = JSON.stringify(values);
    const found = this.entries.get(key);
    this.snapshot = undefined;
    if (!found) return toObject<T>(this.columns, values);
    if (--found.count === 0) this.entries.delete(key);
    return found.row;
  }

  /** The wire form of every row (for diffing a non-resumed resubscription). */
  wireRows(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, e] of this.entries) out.set(key, e.count);
    return out;
  }

  /** The rows, as one array that stays the same object until the next change. */
  rows(): readonly T[] {
    if (!this.snapshot) {
      const all: T[] = [];
      for (const e of this.entries.values()) {
        for (let i = 0; i < e.count; i++) all.push(e.row);
      }
      this.snapshot = all;
    }
    return this.snapshot;
  }
}
