// The shipped JavaScript and CSS of the built dashboard (dist/assets), raw and gzipped
// (level 9), as a browser downloads them. Run after `npm run build`.
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const assets = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'assets');
for (const ext of ['.js', '.css']) {
  let raw = 0;
  let gzipped = 0;
  for (const file of readdirSync(assets).filter((f) => f.endsWith(ext))) {
    const bytes = readFileSync(join(assets, file));
    raw += bytes.length;
    gzipped += gzipSync(bytes, { level: 9 }).length;
  }
  console.log(`${ext.slice(1)}: ${raw} bytes minified, ${gzipped} bytes gzipped`);
}
