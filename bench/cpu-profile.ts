/**
 * Preload for profiling a child process where `--cpu-prof` cannot be passed (Node 20 refuses it in NODE_OPTIONS):
 * `NODE_OPTIONS=--import=<dist/bench/cpu-profile.js> SW_CPU_PROF_DIR=DIR` starts the V8 sampling profiler at load
 * and writes DIR/<pid>.cpuprofile when the process exits (open it in Chrome DevTools or `node
 * dist/bench/cpu-profile-top.js FILE`). Used by bench/tracing.ts (BENCH_TRACING_CPU_PROF=DIR).
 */
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.SW_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  // an in-thread session answers synchronously: the profile is written inside the 'exit' handler
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile), { mode: 0o600 });
    });
  });
}
