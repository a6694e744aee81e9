/**
 * `useQuery(sql, params)`: a live query. Subscribes once per distinct `(sql, params, module)`
 * — params are compared by value, so an inline array does not re-subscribe on every render —
 * re-renders on each committed transaction that changes the result, and unsubscribes on
 * unmount or when the query changes.
 */

import { useEffect, useState } from 'react';
import type { CosmictronError, ModuleOption, Row } from '@cosmictron/client';
import { useCosmictron } from './context.js';
import { useIdentity } from './use-identity.js';

export interface QueryState<T extends object = Row> {
  /** The current rows (empty while loading). */
  rows: readonly T[];
  /** True until the first rows arrive. */
  loading: boolean;
  /** Why the subscription failed or ended, if it did. */
  error: CosmictronError | null;
  /** The transaction the rows reflect (0 while loading). */
  txId: number;
}

export function useQuery<T extends object = Row>(
  sql: string,
  params: readonly unknown[] = [],
  options: ModuleOption = {},
): QueryState<T> {
  const client = useCosmictron();
  const identity = useIdentity();
  const key = JSON.stringify([sql, params, options.module ?? null]);
  const [state, setState] = useState<QueryState<T>>({ rows: [], loading: true, error: null, txId: 0 });

  // The identity is part of what a query sees (row-level security): a new identity re-subscribes.
  useEffect(() => {
    const [query, queryParams, module] = JSON.parse(key) as [string, unknown[], string | null];
    let live = true;
    let stop: (() => void) | undefined;
    setState((s) => ({ ...s, loading: true, error: null }));
    client
      .subscribe<T>(query, queryParams, module ? { module } : {})
      .then((sub) => {
        if (!live) {
          void sub.unsubscribe();
          return;
        }
        setState({ rows: sub.rows, loading: false, error: null, txId: sub.txId });
        const offUpdate = sub.on('update', (e) => setState({ rows: e.rows, loading: false, error: null, txId: e.txId }));
        const offError = sub.on('error', (error) => setState((s) => ({ ...s, loading: false, error })));
        stop = () => {
          offUpdate();
          offError();
          void sub.unsubscribe();
        };
      })
      .catch((error: CosmictronError) => {
        if (live) setState({ rows: [], loading: false, error, txId: 0 });
      });
    return () => {
      live = false;
      stop?.();
    };
  }, [client, key, identity]);

  return state;
}
