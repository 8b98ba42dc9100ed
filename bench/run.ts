/**
 * `npm run bench`: runs every bench/<name>.ts that exports `run(): Promise<string>` (or only those named in
 * BENCH_ONLY=a,b) one after the other and prints their markdown sections. Copy the figures into bench/RESULTS.md
 * with the command line that produced them.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const names = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'run.js' && !f.includes('.test.'))
  .map((f) => f.slice(0, -3))
  .filter((n) => !only || only.includes(n));

process.stdout.write(`# signwatch benchmarks\n\n${new Date().toISOString()} · node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'} · load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n\n`);
for (const name of names) {
  const mod = (await import(pathToFileURL(join(here, `${name}.js`)).href)) as { run?: () => Promise<string> };
  if (typeof mod.run !== 'function') continue;
  process.stderr.write(`bench: ${name}…\n`);
  const started = Date.now();
  try {
    process.stdout.write(`${await mod.run()}\n`);
  } catch (e) {
    process.stdout.write(`## ${name}: FAILED\n\n\`\`\`\n${(e as Error).stack ?? String(e)}\n\`\`\`\n\n`);
    process.exitCode = 1;
  }
  process.stderr.write(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
