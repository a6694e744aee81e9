/**
 * Live queries and reducer calls addressed to the `cosmios` module (naming it avoids any
 * ambiguity with other modules deployed on the same server, e.g. by `serve --demo`).
 */

import { useCallback, useState } from 'react';
import { CosmictronError, type Row } from '@cosmictron/client';
import { useQuery as useLiveQuery, useReducer, type QueryState } from '@cosmictron/react';

const MODULE = { module: 'cosmios' } as const;

/** A live query on the module: re-renders on every transaction that changes its rows. */
export function useQuery<T extends object = Row>(sql: string, params: readonly unknown[] = []): QueryState<T> {
  return useLiveQuery<T>(sql, params, MODULE);
}

export interface Action<A, R> {
  /** Calls the reducer; resolves to its result, or undefined when it failed (see `error`). */
  run(args: A): Promise<R | undefined>;
  pending: boolean;
  error: string | null;
}

/** A reducer call behind a button or a form: its pending state and its last error, readable. */
export function useAction<A extends Record<string, unknown>, R = unknown>(reducer: string): Action<A, R> {
  const call = useReducer<A, R>(reducer, MODULE);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (args: A) => {
      setPending(true);
      setError(null);
      try {
        return await call(args);
      } catch (e) {
        setError(describe(e));
        return undefined;
      } finally {
        setPending(false);
      }
    },
    [call],
  );
  return { run, pending, error };
}

/** A sentence for a person, from a module error (`machine_disabled: …`) or anything else. */
export function describe(e: unknown): string {
  if (e instanceof CosmictronError) return e.message || e.code;
  return e instanceof Error ? e.message : String(e);
}
