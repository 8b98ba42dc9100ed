/**
 * Build-log tee (issue 19; `BENCH_ONLY=build-tee npm run bench`): throughput of `signwatch agent exec --scan-output
 * -- cat LOG` (the wrapper tees and scans every byte of a 200 MB synthetic xcodebuild log) against `cat LOG` itself,
 * in the same run, interleaved round by round (the order rotates each round) so machine load hits all alike.
 * Commands: the wrapper as shipped (stdout through tool-run.ts's Node stream tee); the wrapper with
 * SIGNWATCH_BUILD_TEE=worker (the worker-thread tee, services/agent/build/fast-tee.ts); the start-up of both (an
 * empty log), to get the tee's own throughput by difference; "idea A", a
 * bench-only prototype that keeps the bytes out of Node (mkfifo; the build's stdout into `/usr/bin/tee -p FIFO`
 * whose stdout is the real one; node reads the FIFO through a stream and runs the same scanner); and the floor of a
 * Node stream tee: a few lines of node that spawn `cat LOG` and write each chunk through, nothing else; and two
 * C floors without Node or scanning (`cat LOG | cat`, `cat LOG | tee -p /dev/null`): the pipe hop any tee adds.
 * Wall time and CPU time (user + sys of the command and its children, GNU time) are both given: on a loaded machine
 * the wall time of a pipeline is mostly waiting to be scheduled at each 64 KiB pipe hand-off.
 * The log: xcodebuild CompileSwift steps (the shape of xcodebuild's output) with a real CodeSign step (the gasmask
 * capture in test/fixtures/build-logs, its failure line dropped so the steps succeed) every ~2 MiB (100 signing
 * steps in 200 MiB, like a large app with its frameworks and extensions).
 * Two sinks: a pipe read by this process (as a CI runner reads a job's output) and /dev/null.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'signwatch');
const MB = Number(process.env.BENCH_TEE_MB ?? 200);
const ROUNDS = Number(process.env.BENCH_TEE_ROUNDS ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** Write the synthetic log; returns its size and how many signing steps it holds. */
function writeLog(path: string): { bytes: number; steps: number } {
  const block = readFileSync(join(ROOT, 'test', 'fixtures', 'build-logs', 'xcodebuild__codesign-errSecInternalComponent-gasmask.txt'), 'utf8').replace(/^Command CodeSign failed.*\n/m, '');
  const compile = (i: number) =>
    `CompileSwift normal arm64 /Users/ci/src/App/Sources/Feature${i}/ViewModel.swift (in target 'App' from project 'App')\n    cd /Users/ci/src/App\n    /Applications/Xcode.app/Contents/Developer/Toolchains/XcodeDefault.xctoolchain/usr/bin/swift-frontend -c -primary-file /Users/ci/src/App/Sources/Feature${i}/ViewModel.swift -emit-module-path /tmp/m${i}.swiftmodule -target arm64-apple-ios15.0\n\n`;
  const unit = Buffer.from(Array.from({ length: 5400 }, (_, i) => compile(i)).join('') + block);
  const fd = openSync(path, 'w');
  let bytes = 0;
  let steps = 0;
  while (bytes < MB * 1024 * 1024) {
    writeSync(fd, unit);
    bytes += unit.length;
    steps++;
  }
  closeSync(fd);
  return { bytes, steps };
}

interface Run {
  wallMs: number;
  cpuMs: number;
  bytes: number;
  /** Signing steps the command reported scanning (SWSTEPS on stderr; idea A only), else -1. */
  steps: number;
}

/** Run a command under GNU time with stdout to a pipe this process drains (counting bytes) or to /dev/null. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, sink: 'pipe' | 'devnull'): Promise<Run> {
  return new Promise((res, rej) => {
    const out = sink === 'pipe' ? 'pipe' : openSync('/dev/null', 'w');
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', 'SWCPU %U %S', cmd, ...args], { env, stdio: ['ignore', out, 'pipe'] });
    let steps = -1;
    let bytes = 0;
    let err = '';
    child.stdout?.on('data', (b: Buffer) => (bytes += b.length));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('error', rej);
    child.on('close', (code) => {
      if (typeof out === 'number') closeSync(out);
      if (code !== 0) return rej(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`));
      const m = /SWCPU (\d+\.\d+) (\d+\.\d+)/.exec(err);
      const st = /SWSTEPS (\d+)/.exec(err);
      if (st) steps = Number(st[1]);
      res({ wallMs: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN, bytes, steps });
    });
  });
}

const NODE_TEE = "const c=require('node:child_process').spawn('cat',[process.argv[1]],{stdio:['ignore','pipe','inherit']});c.stdout.on('data',(b)=>process.stdout.write(b));";

/** Idea A (bench-only prototype): system tee writes the real stdout and a FIFO; node reads the FIFO and scans. */
const SYSTEM_TEE = `
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
const [scannerJs, log] = process.argv.slice(1);
const { BuildLogScanner } = await import(scannerJs);
const dir = mkdtempSync('/tmp/sw-bench-tee-a-');
const fifo = join(dir, 'out');
spawnSync('/usr/bin/mkfifo', ['-m', '600', fifo]);
const sc = new BuildLogScanner({ via: 'xcodebuild' });
const rs = createReadStream(fifo, { highWaterMark: 1 << 20 });
rs.on('data', (b) => sc.push(b, Date.now(), 'out'));
const tee = spawn('/usr/bin/tee', ['-p', fifo], { stdio: ['pipe', 'inherit', 'inherit'] });
const child = spawn('cat', [log], { stdio: ['ignore', tee.stdin, 'inherit'] });
tee.stdin.destroy();
let left = 3;
const done = () => { if (--left === 0) { process.stderr.write('SWSTEPS ' + sc.end(0, Date.now()).length + '\\n'); rmSync(dir, { recursive: true }); } };
rs.on('end', done); tee.on('close', done); child.on('close', done);
`;

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-bench-tee-'));
  try {
    const log = join(dir, 'build.log');
    const { bytes, steps } = writeLog(log);
    const size = statSync(log).size;
    writeFileSync(join(dir, 'agent.json'), JSON.stringify({ region: 'SG', host: 'bench', dataDir: join(dir, 'data'), keychain: '/Users/ci/signing.keychain-db' }));
    const env: NodeJS.ProcessEnv = { ...process.env, SIGNWATCH_AGENT_CONFIG: join(dir, 'agent.json') };
    const scannerJs = join(ROOT, 'dist', 'services', 'agent', 'build', 'scanner.js');
    const exec = [BIN, 'agent', 'exec', '--scan-output', '--', 'cat', log];
    const cmds: Record<string, [string, string[], NodeJS.ProcessEnv]> = {
      cat: ['cat', [log], env],
      'agent exec --scan-output -- cat (Node stream tee, default)': [process.execPath, exec, env],
      'same, SIGNWATCH_BUILD_TEE=worker (worker-thread tee)': [process.execPath, exec, { ...env, SIGNWATCH_BUILD_TEE: 'worker' }],
      'idea A: /usr/bin/tee -p FIFO, node scans the FIFO': [process.execPath, ['--input-type=module', '-e', SYSTEM_TEE, scannerJs, log], env],
      'node stream tee floor (spawn cat, write chunks through, no scan)': [process.execPath, ['-e', NODE_TEE, log], env],
      // the wrapper's fixed cost (Node, the bundle, the worker or not, config, an empty scan): no output at all
      'start-up only: agent exec --scan-output -- cat /dev/null (stream tee)': [process.execPath, [BIN, 'agent', 'exec', '--scan-output', '--', 'cat', '/dev/null'], env],
      'start-up only: same, SIGNWATCH_BUILD_TEE=worker': [process.execPath, [BIN, 'agent', 'exec', '--scan-output', '--', 'cat', '/dev/null'], { ...env, SIGNWATCH_BUILD_TEE: 'worker' }],
      // what any tee pays on top of cat, without Node and without scanning: one more process and pipe hop
      'C floor: cat LOG | cat': ['/bin/sh', ['-c', 'cat "$1" | cat', 'sh', log], env],
      'C floor: cat LOG | tee -p /dev/null': ['/bin/sh', ['-c', 'cat "$1" | tee -p /dev/null', 'sh', log], env],
    };
    const load0 = loadavg()[0] ?? 0;
    const res: Record<string, Record<string, number[]>> = { pipe: {}, devnull: {} };
    const cpu: Record<string, Record<string, number[]>> = { pipe: {}, devnull: {} };
    const names = Object.keys(cmds);
    for (let r = 0; r < ROUNDS; r++) {
      for (const sink of ['pipe', 'devnull'] as const) {
        // rotate the order each round: no command always runs right after the same one
        for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
          const [cmd, args, cmdEnv] = cmds[name]!;
          const t = await timed(cmd, args, cmdEnv, sink);
          if (sink === 'pipe' && t.bytes !== (name.startsWith('start-up') ? 0 : size)) throw new Error(`${name}: ${t.bytes} bytes out of ${size}`);
          if (t.steps >= 0 && t.steps !== steps) throw new Error(`${name}: scanned ${t.steps} signing steps out of ${steps}`);
          (res[sink]![name] ??= []).push(t.wallMs);
          (cpu[sink]![name] ??= []).push(t.cpuMs);
        }
      }
    }
    // every round's scan recorded every signing step (all ok): the scanner saw the whole log
    const spooledSteps = readdirSync(join(dir, 'data', 'spool', 'q')).reduce((n, f) => n + readFileSync(join(dir, 'data', 'spool', 'q', f), 'utf8').split('\n').filter((l) => l.includes('"via":"xcodebuild"')).length, 0);
    const lines: string[] = [
      `## Build-log tee: \`agent exec --scan-output\` vs \`cat\` (issue 19)`,
      '',
      `Command: \`BENCH_ONLY=build-tee npm run bench\` · ${new Date().toISOString()} · ${(bytes / 1048576).toFixed(0)} MiB synthetic xcodebuild log, ${steps} CodeSign steps · median of ${ROUNDS} interleaved rounds · load ${load0.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)} · codesign events spooled over all rounds: ${spooledSteps} (${ROUNDS * 2 * 2} wrapper runs × ${steps})`,
      '',
      '| sink | command | median wall | MB/s (wall) | × cat (wall) | median CPU | × cat (CPU) | × stream floor (CPU) |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ];
    const floorName = 'node stream tee floor (spawn cat, write chunks through, no scan)';
    for (const sink of ['pipe', 'devnull'] as const) {
      const cat = median(res[sink]!.cat!);
      const catCpu = median(cpu[sink]!.cat!);
      const floorCpu = median(cpu[sink]![floorName]!);
      for (const name of Object.keys(cmds)) {
        const m = median(res[sink]![name]!);
        const c = median(cpu[sink]![name]!);
        lines.push(
          `| ${sink === 'pipe' ? 'pipe (read by the bench)' : '/dev/null'} | \`${name}\` | ${m.toFixed(0)} ms | ${name.startsWith('start-up') ? '–' : (bytes / 1e6 / (m / 1000)).toFixed(0)} | ${(m / cat).toFixed(2)} | ${c.toFixed(0)} ms | ${(c / catCpu).toFixed(2)} | ${(c / floorCpu).toFixed(2)} |`,
        );
      }
    }
    // the tee's own throughput: the wrapper's time minus its start-up (medians of the same run), against cat's
    lines.push('', '| sink | tee | wall − start-up | MB/s | × cat (wall) | CPU − start-up | × cat (CPU) |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |');
    const pairs: [string, string, string][] = [
      ['Node stream tee (default)', 'agent exec --scan-output -- cat (Node stream tee, default)', 'start-up only: agent exec --scan-output -- cat /dev/null (stream tee)'],
      ['worker-thread tee (SIGNWATCH_BUILD_TEE=worker)', 'same, SIGNWATCH_BUILD_TEE=worker (worker-thread tee)', 'start-up only: same, SIGNWATCH_BUILD_TEE=worker'],
    ];
    for (const sink of ['pipe', 'devnull'] as const) {
      const cat = median(res[sink]!.cat!);
      const catCpu = median(cpu[sink]!.cat!);
      for (const [label, full, start] of pairs) {
        const w = median(res[sink]![full]!) - median(res[sink]![start]!);
        const c = median(cpu[sink]![full]!) - median(cpu[sink]![start]!);
        lines.push(`| ${sink === 'pipe' ? 'pipe' : '/dev/null'} | ${label} | ${w.toFixed(0)} ms | ${(bytes / 1e6 / (w / 1000)).toFixed(0)} | ${(w / cat).toFixed(2)} | ${c.toFixed(0)} ms | ${(c / catCpu).toFixed(2)} |`);
      }
    }
    return `${lines.join('\n')}\n`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.stdout.write(await run());
