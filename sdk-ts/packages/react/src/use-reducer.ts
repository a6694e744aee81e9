/**
 * `useReducer(name)`: a stable function that calls the reducer and resolves to its return value
 * (or rejects with a `CosmictronError`). Stable across renders, so it can go in dependency lists.
 */

import { useCallback } from 'react';
import type { ModuleOption } from '@cosmictron/client';
import { useCosmictron } from './context.js';

export function useReducer<A extends Record<string, unknown> = Record<string, unknown>, R = unknown>(
  name: string,
  options: ModuleOption = {},
): (args?: A) => Promise<R> {
  const client = useCosmictron();
  const module = options.module;
  return useCallback(
    (args?: A) => client.callReducer<R>(name, args ?? {}, module ? { module } : {}),
    [client, name, module],
  );
}
