// Bundles the agent's exec wrapper into one CommonJS file (dist/agent-exec.cjs). `signwatch agent exec` runs once
// per signing call; on Node 20 the ESM loader alone costs ~20 ms for the wrapper's modules, a single CJS file
// ~1 ms. bin/signwatch uses the bundle when it exists and falls back to the ESM modules otherwise.
// The bundle is ASCII without comments (a non-ASCII character anywhere makes V8 hold the whole source as UTF-16) and
// requires only node: built-ins (bin/signwatch hands it its own require).
// It also writes V8's code cache for the bundle (dist/agent-exec.cjs.cache), made by this Node binary after real
// exec runs (a codesign that succeeds, one that fails with errSecInternalComponent, each into a throwaway spool), so
// that the cache holds the functions a signing call compiles lazily (runExec, the spool, the classifier), not only
// the module bodies. bin/signwatch hands it to vm.Script; V8 ignores a cache of another version or another bundle,
// and the wrapper then compiles the source as before.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  charset: 'ascii',
  legalComments: 'none',
  minifyWhitespace: true, // names are kept (stack traces, error classes); comments and indentation go
  outfile,
  logLevel: 'warning',
});

const bytes = readFileSync(outfile);
const nonAscii = bytes.findIndex((b) => b > 0x7f);
if (nonAscii >= 0) throw new Error(`bundle-exec: ${outfile} has a non-ASCII byte at ${nonAscii} (write it as a \\u escape in the source)`);
const text = bytes.toString('latin1');
const requires = new Set([...text.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]));
const foreign = [...requires].filter((r) => !r.startsWith('node:'));
if (foreign.length > 0) throw new Error(`bundle-exec: ${outfile} requires ${foreign.join(', ')}: only node: built-ins can be required from bin/signwatch`);

// In a child process: the cache must come from a fresh isolate that compiled exactly what bin/signwatch compiles
// (EXEC_WRAP is bin/signwatch's wrapper text; test/unit/agent/bundle.test.ts checks that the cache is accepted).
// The runs go to a throwaway config and spool; the tools are shell scripts named codesign.
const makeCache = `
const { Script } = require('node:vm');
const { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const file = process.argv[1];
const EXEC_WRAP = ['(function (exports, require, module, __filename, __dirname) { ', '\\n});'];
const script = new Script(EXEC_WRAP[0] + readFileSync(file, 'utf8') + EXEC_WRAP[1], { filename: file });
const m = { exports: {} };
script.runInThisContext().call(m.exports, m.exports, require, m, file, dirname(file));
(async () => {
  const d = mkdtempSync(join(tmpdir(), 'sw-exec-cache-'));
  try {
    const cfg = join(d, 'agent.json');
    writeFileSync(cfg, JSON.stringify({ region: 'SG', host: 'build', dataDir: join(d, 'data') }));
    const tool = (name, body) => {
      const dir = join(d, name);
      require('node:fs').mkdirSync(dir);
      writeFileSync(join(dir, 'codesign'), '#!/bin/sh\\n' + body + '\\n');
      chmodSync(join(dir, 'codesign'), 0o755);
      return join(dir, 'codesign');
    };
    const ok = tool('ok', 'exit 0');
    const fail = tool('fail', "echo 'App.app: errSecInternalComponent' >&2; exit 1");
    const args = ['-f', '-s', 'Apple Distribution: Example Corp (ABCDE12345)', '--keychain', join(d, 'signing.keychain-db'), 'App.app'];
    const codes = [];
    for (const t of [ok, fail]) codes.push(await m.exports(['--config', cfg, '--', t, ...args], { PATH: process.env.PATH }));
    const spooled = require('node:fs').readdirSync(join(d, 'data', 'spool', 'q')).length;
    if (codes[0] !== 0 || codes[1] !== 1 || spooled !== 2) throw new Error('exec runs: exit codes ' + codes.join(', ') + ', ' + spooled + ' spooled event(s)');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
  writeFileSync(file + '.cache', script.createCachedData());
})().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\\n');
  process.exitCode = 1;
});
`;
const r = spawnSync(process.execPath, ['-e', makeCache, outfile], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  throw new Error(`bundle-exec: writing the code cache of ${outfile} failed (status ${r.status})`);
}
