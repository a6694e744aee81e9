/** Where the repository and the server binary are (the suites build it with cargo). */

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function serverBinary(): string {
  return process.env.COSMICTRON_BIN ?? join(repoRoot, 'target', 'debug', 'cosmictron');
}
