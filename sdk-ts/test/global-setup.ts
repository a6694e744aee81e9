/**
 * Before any suite: build the server with cargo (a no-op when it is up to date) unless
 * `COSMICTRON_BIN` names a prebuilt binary, then start it once so `--demo` compiles the
 * quickstart module for wasm32 here, not inside a test's time limit.
 */

import { spawnSync } from 'node:child_process';
import { repoRoot } from './paths.js';
import { startServer } from './server.js';

export default async function setup(): Promise<void> {
  if (!process.env.COSMICTRON_BIN) {
    const cargo = process.env.CARGO ?? 'cargo';
    const built = spawnSync(cargo, ['build', '-p', 'cosmictron'], { cwd: repoRoot, stdio: 'inherit' });
    if (built.status !== 0) throw new Error(`\`${cargo} build -p cosmictron\` failed (status ${built.status})`);
  }
  const warm = await startServer();
  await warm.stop();
}
