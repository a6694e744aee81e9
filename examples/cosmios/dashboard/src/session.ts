/**
 * The one client of the page and its session: the token survives a reload (localStorage), and
 * a magic link (`/?magic_token=…`, as the server's mail writes it) signs in on arrival.
 */

import { CosmictronClient, type Session } from '@cosmictron/client';

const STORAGE_KEY = 'cosmios.session';

/** The server that served the page (API routes and the dashboard share one origin). */
export const client = new CosmictronClient(window.location.origin);

/** Restores a saved session, or verifies a magic link in the URL. Never rejects. */
export async function restoreSession(): Promise<string | null> {
  const magic = new URLSearchParams(window.location.search).get('magic_token');
  if (magic) {
    // Drop the single-use token from the address bar whatever the outcome.
    window.history.replaceState(null, '', window.location.pathname + window.location.hash);
    try {
      remember(await client.verifyMagicLink(magic));
      return null;
    } catch (e) {
      return `That sign-in link did not work (${(e as Error).message}). Request a new one.`;
    }
  }
  const saved = localStorage.getItem(STORAGE_KEY);
  if (!saved) return null;
  try {
    const { token, identity, expires_at } = JSON.parse(saved) as Session;
    if (expires_at * 1000 > Date.now()) await client.setToken(token, identity);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    localStorage.removeItem(STORAGE_KEY);
  }
  return null;
}

/** Keeps a fresh session for the next visit. */
export function remember(session: Session): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function signOut(): void {
  localStorage.removeItem(STORAGE_KEY);
  client.signOut();
}
