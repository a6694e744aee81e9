/**
 * Starts the real `cosmictron` server for the suites: `serve --demo` on a fresh (or given)
 * data directory, port 0 unless a port is given (a restart must keep the port so that clients
 * reconnect to the same URL). Waits for `/ready`.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverBinary } from './paths.js';

export interface RunningServer {
  /** `http://127.0.0.1:PORT` */
  httpUrl: string;
  /** `ws://127.0.0.1:PORT` (what the client is given) */
  wsUrl: string;
  port: number;
  dataDir: string;
  /** SIGKILL: no graceful shutdown, nothing flushed beyond what was acknowledged. */
  kill(): Promise<void>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 300_000;

export async function startServer(options: { dataDir?: string; port?: number } = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'cosmictron-ts-'));
  const listen = `127.0.0.1:${options.port ?? 0}`;
  // An empty static directory: these suites need no dashboard, so `--demo` must not build one.
  const staticDir = mkdtempSync(join(tmpdir(), 'cosmictron-ts-static-'));
  const args = ['serve', ...moduleArgs(), '--data-dir', dataDir, '--listen', listen, '--static-dir', staticDir];
  const child = spawn(serverBinary(), args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  const addr = await listeningAddress(child);
  const port = Number(addr.split(':').pop());
  const httpUrl = `http://${addr}`;
  await waitReady(httpUrl);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    httpUrl,
    wsUrl: `ws://${addr}`,
    port,
    dataDir,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * `--demo` builds and deploys the quickstart module from the source tree; with
 * `COSMICTRON_QUICKSTART_WASM` set (a prebuilt module, e.g. in CI caches) it is deployed as is.
 */
function moduleArgs(): string[] {
  const wasm = process.env.COSMICTRON_QUICKSTART_WASM;
  if (!wasm) return ['--demo'];
  return ['--deploy', `quickstart=${wasm}`, '--admin-email', 'admin@example.com', '--admin-password', 'admin-password'];
}

function listeningAddress(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within ${START_TIMEOUT_MS} ms:\n${seen}`));
    }, START_TIMEOUT_MS);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      seen += chunk;
      const found = /cosmictron listening on http:\/\/(\S+) \(/.exec(seen);
      if (found?.[1]) {
        clearTimeout(timer);
        resolve(found[1]);
      }
      if (seen.length > 1_000_000) seen = seen.slice(-100_000);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before listening:\n${seen}`));
    });
  });
}

async function waitReady(httpUrl: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${httpUrl}/ready`)).ok) return;
    } catch {
      // not accepting yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${httpUrl}/ready did not answer 200 within 60 s`);
}

let counter = 0;
/** An email address no other test uses. */
export function uniqueEmail(prefix = 'user'): string {
  counter++;
  return `${prefix}-${process.pid}-${Date.now()}-${counter}@example.com`;
}

/** A username no other test uses (the quickstart's usernames are unique). */
export function uniqueName(prefix = 'u'): string {
  counter++;
  return `${prefix}${process.pid}x${Date.now() % 1_000_000}x${counter}`;
}

/** Resolves when `check()` is true, polling; rejects after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
