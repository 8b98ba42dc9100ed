// Bundles the agent's exec wrapper into one CommonJS file (dist/agent-exec.cjs). `signwatch agent exec` runs once
// per signing call; on Node 20 the ESM loader alone costs ~20 ms for the wrapper's modules, a single CJS file
// ~1 ms. bin/signwatch uses the bundle when it exists and falls back to the ESM modules otherwise.
// It also writes V8's code cache for the bundle (dist/agent-exec.cjs.cache, made by this Node binary after the
// bundle's module bodies ran), which bin/signwatch hands to vm.Script; V8 ignores a cache of another version or
// another bundle, and the wrapper then compiles the source as before.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'agent-exec.cjs');
await build({
  stdin: {
    contents: "const { runExec } = require('./dist/services/agent/commands/exec.js'); module.exports = runExec;",
    resolveDir: root,
    sourcefile: 'agent-exec-entry.cjs',
  },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile,
  logLevel: 'warning',
});

// in a child process: the cache must come from a fresh isolate that compiled exactly what bin/signwatch compiles
const makeCache = `
const { Script } = require('node:vm');
const { createRequire, wrap } = require('node:module');
const { readFileSync, writeFileSync } = require('node:fs');
const file = process.argv[1];
const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file });
const m = { exports: {} };
script.runInThisContext().call(m.exports, m.exports, createRequire(file), m, file, require('node:path').dirname(file));
writeFileSync(file + '.cache', script.createCachedData());
`;
const r = spawnSync(process.execPath, ['-e', makeCache, outfile], { stdio: 'inherit' });
if (r.status !== 0) throw new Error(`bundle-exec: writing the code cache of ${outfile} failed (status ${r.status})`);
