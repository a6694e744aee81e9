/**
 * The one error type the client rejects with. `code` is the server's stable machine-readable
 * code (`user_exists`, `invalid_username`, `missing_token`, …) or one of the client's own
 * (`connection_lost`, `connection_closed`, `bad_response`), so callers branch on `code` and
 * never on message text.
 */
export class CosmictronError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;
  /** The HTTP status the server gave this error, when it gave one. */
  readonly status: number | undefined;
  /** Extra structured information from the server (e.g. a module's own error payload). */
  readonly details: unknown;

  constructor(code: string, message: string, status?: number, details?: unknown) {
    super(message);
    this.name = 'CosmictronError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** The server's error body: `{"code", "message", "status"?, "details"?}`. */
export interface ServerError {
  code: string;
  message: string;
  status?: number;
  details?: unknown;
}

/** Builds the typed error from the server's `error` object (HTTP body or WebSocket message). */
export function errorFrom(error: ServerError | undefined, status?: number): CosmictronError {
  if (!error || typeof error.code !== 'string') {
    return new CosmictronError('bad_response', 'the server answered without an error code', status);
  }
  return new CosmictronError(error.code, error.message, error.status ?? status, error.details);
}
