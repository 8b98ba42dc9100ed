// Bundles the agent's exec wrapper into one CommonJS file (dist/agent-exec.cjs). `signwatch agent exec` runs once
// per signing call; on Node 20 the ESM loader alone costs ~20 ms for the wrapper's modules, a single CJS file
// ~1 ms. bin/signwatch uses the bundle when it exists and falls back to the ESM modules otherwise.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
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
  outfile: join(root, 'dist', 'agent-exec.cjs'),
  logLevel: 'warning',
});
