/**
 * The real server for the browser tests: `cosmictron serve --demo` (the binary from
 * `COSMICTRON_BIN`, else the debug build of this checkout) on port 0 with a fresh data
 * directory, serving the built dashboard (`dist/`) at `/`. Waits for `/ready`.
 */

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const dashboardDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(dashboardDir, '..', '..', '..');

export function serverBinary(): string {
  if (process.env.COSMICTRON_BIN) return process.env.COSMICTRON_BIN;
  const target = process.env.CARGO_TARGET_DIR ? resolve(repoRoot, process.env.CARGO_TARGET_DIR) : join(repoRoot, 'target');
  return join(target, 'debug', 'cosmictron');
}

export interface RunningServer {
  /** `http://127.0.0.1:PORT`: the dashboard and the API. */
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 280_000;

export async function startServer(): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cosmios-dashboard-'));
  const args = ['serve', '--demo', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--static-dir', join(dashboardDir, 'dist')];
  const child = spawn(serverBinary(), args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const addr = await new Promise<string>((found, fail) => {
    let seen = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`the server did not start within ${START_TIMEOUT_MS} ms:\n${seen}`));
    }, START_TIMEOUT_MS);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      seen = (seen + chunk).slice(-100_000);
      const m = /cosmictron listening on http:\/\/(\S+) \(/.exec(seen);
      if (m?.[1]) {
        clearTimeout(timer);
        found(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the server exited with ${code} before listening:\n${seen}`));
    });
  });
  const url = `http://${addr}`;
  await waitReady(url);
  return {
    url,
    dataDir,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/ready`)).ok) return;
    } catch {
      // not accepting yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url}/ready did not answer 200 within 60 s`);
}
