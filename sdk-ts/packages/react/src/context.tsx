/**
 * `CosmictronProvider` puts one `CosmictronClient` in React context; every hook below it uses
 * that client (one WebSocket for the whole tree).
 */

import { createContext, useContext, type ReactNode } from 'react';
import type { CosmictronClient } from '@cosmictron/client';

const ClientContext = createContext<CosmictronClient | null>(null);

export function CosmictronProvider(props: { client: CosmictronClient; children?: ReactNode }) {
  return <ClientContext.Provider value={props.client}>{props.children}</ClientContext.Provider>;
}

/** The provider's client; throws (a programming error) outside a `CosmictronProvider`. */
export function useCosmictron(): CosmictronClient {
  const client = useContext(ClientContext);
  if (!client) {
    throw new Error('Cosmictron hooks need a <CosmictronProvider client={…}> above them');
  }
  return client;
}
