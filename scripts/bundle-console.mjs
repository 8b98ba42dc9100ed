// Builds the console page (services/console/web/) into dist/console/: console.js (one ES module, bundled and
// minified by esbuild, no CDN at run time), index.html and console.css copied as they are. The console server
// (services/console/server.ts) serves these three files and nothing else.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { copyFileSync, mkdirSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'services', 'console', 'web');
const out = join(root, 'dist', 'console');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(web, 'main.ts')],
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'esm',
  minify: true,
  sourcemap: false,
  outfile: join(out, 'console.js'),
  logLevel: 'warning',
});
for (const f of ['index.html', 'console.css']) copyFileSync(join(web, f), join(out, f));
