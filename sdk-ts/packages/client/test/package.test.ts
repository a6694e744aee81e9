/**
 * What gets published: `npm pack` of each package holds the built ES modules, their type
 * declarations and the README (and no sources or tests), and the client stays within its
 * size budget in a browser bundle.
 */

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../../../test/paths.js';
// @ts-expect-error: a plain JavaScript helper without declarations.
import { BUDGET_BYTES, clientBundleSize } from '../../../scripts/size.mjs';

function packedFiles(workspace: string): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--workspace', workspace], {
    cwd: join(repoRoot, 'sdk-ts'),
    encoding: 'utf8',
  });
  const [report] = JSON.parse(out) as { files: { path: string }[] }[];
  return report!.files.map((f) => f.path).sort();
}

it.each(['@cosmictron/client', '@cosmictron/react'])('npm pack %s ships dist, declarations and README only', (name) => {
  const files = packedFiles(name);
  expect(files).toContain('dist/index.js');
  expect(files).toContain('dist/index.d.ts');
  expect(files).toContain('README.md');
  expect(files).toContain('package.json');
  expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
});

it('the client is at most 10 KB minified and gzipped in a browser bundle', async () => {
  const { gzipped } = (await clientBundleSize()) as { gzipped: number };
  expect(gzipped).toBeGreaterThan(1000);
  expect(gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
});
