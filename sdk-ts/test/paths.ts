/** Where the repository and the server binary are (the suites build it with cargo). */

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function serverBinary(): string {
  // Where `cargo build` put it: CARGO_TARGET_DIR when set (relative to the repository), else target/.
  const targetDir = process.env.CARGO_TARGET_DIR
    ? resolve(repoRoot, process.env.CARGO_TARGET_DIR)
    : join(repoRoot, 'target');
  return process.env.COSMICTRON_BIN ?? join(targetDir, 'debug', 'cosmictron');
}
