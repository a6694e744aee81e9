/**
 * Before the suite: build the server and the `cosmios` runner with cargo (a no-op when up to
 * date) unless `COSMICTRON_BIN` names a server (the runner is then the `cosmios` beside it, or
 * `COSMIOS_BIN`), check that the dashboard was built, and start the server once so that
 * `--demo` compiles the example modules here rather than inside a test's time limit.
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dashboardDir, repoRoot, startServer } from './server.js';

export default async function setup(): Promise<void> {
  if (!existsSync(join(dashboardDir, 'dist', 'index.html'))) {
    throw new Error('dist/index.html is missing: run `npm run build` first (`npm test` does)');
  }
  if (!process.env.COSMICTRON_BIN) {
    const cargo = process.env.CARGO ?? 'cargo';
    // One package per command, the way each README builds it.
    for (const pkg of process.env.COSMIOS_BIN ? ['cosmictron'] : ['cosmictron', 'cosmios-runner']) {
      const built = spawnSync(cargo, ['build', '-p', pkg], { cwd: repoRoot, stdio: 'inherit' });
      if (built.status !== 0) throw new Error(`\`${cargo} build -p ${pkg}\` failed (status ${built.status})`);
    }
  }
  const warm = await startServer();
  await warm.stop();
}
