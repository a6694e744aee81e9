/**
 * One WebSocket to the server, kept open: connects on first use, and after an unexpected close
 * reconnects with exponential backoff (with jitter, so a restarted server is not hit by every
 * client at once). It knows nothing of the protocol; the client re-sends what a new connection
 * needs from its `onOpen` callback.
 */

import { CosmictronError } from './errors.js';
import { decode as decodeMessagePack, encode as encodeMessagePack } from './msgpack.js';

/** The part of the WHATWG `WebSocket` the client uses (browsers, `ws` in Node, jsdom). */
export interface WebSocketLike {
  readonly readyState: number;
  /** The subprotocol the server chose. */
  readonly protocol?: string;
  binaryType?: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** How reconnection waits: `minDelayMs · 2^attempt`, capped at `maxDelayMs`, times 0.5–1. */
export interface ReconnectOptions {
  minDelayMs?: number;
  maxDelayMs?: number;
}

const OPEN = 1;

/** The two encodings of the protocol's messages. */
export type Encoding = 'json' | 'msgpack';
const SUBPROTOCOL: Record<Encoding, string> = {
  json: 'cosmictron.v1.json',
  msgpack: 'cosmictron.v1.msgpack',
};

export interface ConnectionEvents {
  /** A socket opened (first time or after a reconnect). */
  onOpen(): void;
  onMessage(message: Record<string, unknown>): void;
  /**
   * The socket went away. `willRetry` is false when the client closed it or when the very
   * first connection failed (a wrong URL or token should fail loudly, not retry forever).
   */
  onDown(error: CosmictronError, willRetry: boolean): void;
}

/** Finds a WebSocket implementation: the injected one, the platform's, or `ws` in Node. */
export async function resolveWebSocket(
  injected: WebSocketConstructor | undefined,
): Promise<WebSocketConstructor> {
  if (injected) return injected;
  const platform = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (platform) return platform;
  // Node 20 has no global WebSocket. The specifier is a variable so browser bundlers do not
  // try to pull `ws` into a browser build.
  const name = 'ws';
  try {
    const mod = (await import(/* @vite-ignore */ name)) as {
      WebSocket?: WebSocketConstructor;
      default?: WebSocketConstructor;
    };
    const found = mod.WebSocket ?? mod.default;
    if (found) return found;
  } catch {
    // Fall through to the explanation below.
  }
  throw new CosmictronError(
    'no_websocket',
    'no WebSocket implementation: install `ws` (Node.js) or pass `WebSocket` in the client options',
  );
}

export class Connection {
  private socket: WebSocketLike | undefined;
  private opening: Promise<void> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private everOpened = false;
  private closedByUser = false;

  constructor(
    private readonly url: () => string,
    private readonly implementation: () => Promise<WebSocketConstructor>,
    private readonly events: ConnectionEvents,
    private readonly reconnect: Required<ReconnectOptions> | false,
    private readonly encoding: Encoding = 'json',
  ) {}

  /** The subprotocol the open socket speaks, if one is open. */
  get protocol(): string | undefined {
    return this.isOpen ? this.socket?.protocol : undefined;
  }

  get isOpen(): boolean {
    return this.socket?.readyState === OPEN;
  }

  /** Opens the socket if nothing is open or opening. */
  start(): void {
    this.closedByUser = false;
    if (this.socket || this.opening || this.retryTimer) return;
    this.opening = this.open().finally(() => {
      this.opening = undefined;
    });
  }

  send(message: unknown): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(this.encoding === 'msgpack' ? encodeMessagePack(message) : JSON.stringify(message));
    return true;
  }

  /** Closes for good (until the next `start`). */
  close(): void {
    this.closedByUser = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      detach(socket);
      socket.close(1000, 'client closed');
      this.events.onDown(new CosmictronError('connection_closed', 'the client was closed'), false);
    }
  }

  /** Drops the socket and connects again at once (e.g. the token changed). */
  restart(): void {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      detach(socket);
      socket.close(1000, 'reconnecting');
      this.events.onDown(new CosmictronError('connection_lost', 'reconnecting'), true);
    }
    this.start();
  }

  private async open(): Promise<void> {
    let Ctor: WebSocketConstructor;
    try {
      Ctor = await this.implementation();
    } catch (e) {
      this.events.onDown(e as CosmictronError, false);
      return;
    }
    if (this.closedByUser) return;
    const socket = new Ctor(this.url(), SUBPROTOCOL[this.encoding]);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.everOpened = true;
      this.events.onOpen();
    };
    socket.onmessage = (event) => {
      let message: unknown;
      try {
        message = parse(event.data);
      } catch {
        return; // not a protocol message: nothing to match it to
      }
      if (message && typeof message === 'object') {
        this.events.onMessage(message as Record<string, unknown>);
      }
    };
    socket.onerror = () => {
      // Always followed by `onclose`, which decides what happens next.
    };
    socket.onclose = (event) => this.lost(socket, event.code, event.reason);
  }

  private lost(socket: WebSocketLike, code: number, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    detach(socket);
    const retry = this.reconnect !== false && this.everOpened && !this.closedByUser;
    const why = reason ? `${reason} (close code ${code})` : `close code ${code}`;
    const error = this.everOpened
      ? new CosmictronError('connection_lost', `the connection was lost: ${why}`)
      : new CosmictronError('connection_failed', `cannot connect: ${why}`);
    this.events.onDown(error, retry);
    if (!retry || !this.reconnect) return;
    const { minDelayMs, maxDelayMs } = this.reconnect;
    const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** this.attempt);
    const delay = ceiling * (0.5 + Math.random() / 2);
    this.attempt = Math.min(this.attempt + 1, 30);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closedByUser) this.start();
    }, delay);
  }
}

/** Text frames are JSON, binary frames MessagePack (whichever the server chose). */
function parse(data: unknown): unknown {
  if (typeof data === 'string') return JSON.parse(data);
  if (data instanceof ArrayBuffer) return decodeMessagePack(new Uint8Array(data));
  if (ArrayBuffer.isView(data)) return decodeMessagePack(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return undefined;
}

function detach(socket: WebSocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  // Not null: closing a socket that is still connecting reports an error, and Node's `ws`
  // throws it as an uncaught exception when nobody listens.
  socket.onerror = () => {};
}
