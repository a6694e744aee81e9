// Bundle size of @cosmictron/client as a browser app would ship it: the built ES module,
// bundled, minified (esbuild) and gzipped (level 9). Prints bytes; exits 1 over the budget.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUDGET_BYTES = 10 * 1024;

export async function clientBundleSize() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const out = await build({
    entryPoints: [join(root, 'packages/client/dist/index.js')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
  });
  const code = out.outputFiles[0].contents;
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { minified, gzipped } = await clientBundleSize();
  console.log(`@cosmictron/client: ${minified} bytes minified, ${gzipped} bytes minified+gzipped (budget ${BUDGET_BYTES})`);
  if (gzipped > BUDGET_BYTES) process.exit(1);
}
