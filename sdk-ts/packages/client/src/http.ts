/**
 * The HTTP half of the client: auth endpoints and anything that is a single request. Uses the
 * platform's `fetch` (browsers, Node 20), or one the application injects.
 */

import { CosmictronError, errorFrom, type ServerError } from './errors.js';

/** What sign-up, sign-in, anonymous sign-in and magic-link verification return. */
export interface Session {
  /** Bearer token for every later request and the WebSocket. */
  token: string;
  /** The caller's identity (hex). */
  identity: string;
  /** Unix seconds after which the token is refused. */
  expires_at: number;
}

export type Fetch = typeof fetch;

/** `ws://h:p/x` → `http://h:p/x`, `wss:` → `https:`; http(s) URLs unchanged; no trailing slash. */
export function httpBase(url: string): string {
  const base = url.replace(/^ws(s?):\/\//i, 'http$1://');
  return base.replace(/\/+$/, '');
}

/** `http://h:p` → `ws://h:p/v1/ws`, keeping a path prefix if the server is mounted under one. */
export function websocketUrl(url: string): string {
  return `${httpBase(url).replace(/^http(s?):\/\//i, 'ws$1://')}/v1/ws`;
}

/**
 * One JSON request; resolves to the decoded body or rejects with a [`CosmictronError`]
 * carrying the server's `code` and the HTTP status.
 */
export async function requestJson<T>(
  fetcher: Fetch,
  base: string,
  method: string,
  path: string,
  body: unknown,
  token: string | undefined,
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetcher(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new CosmictronError('connection_failed', `cannot reach ${base}: ${String(e)}`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    throw new CosmictronError(
      'bad_response',
      `${method} ${path} answered ${response.status} with a body that is not JSON`,
      response.status,
    );
  }
  if (!response.ok) {
    throw errorFrom((parsed as { error?: ServerError }).error, response.status);
  }
  return parsed as T;
}
