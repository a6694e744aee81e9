/** `useIdentity()`: the signed-in identity (hex) or null; re-renders on sign-in and sign-out. */

import { useSyncExternalStore } from 'react';
import { useCosmictron } from './context.js';

export function useIdentity(): string | null {
  const client = useCosmictron();
  return useSyncExternalStore(
    (onChange) => client.on('identity', onChange),
    () => client.identity,
    () => client.identity,
  );
}
