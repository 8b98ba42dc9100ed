/**
 * Build-log tee (issue 19; `BENCH_ONLY=build-tee npm run bench`): throughput of `signwatch agent exec --scan-output
 * -- cat LOG` (the wrapper tees and scans every byte of a 200 MB synthetic xcodebuild log) against `cat LOG` itself,
 * in the same run, interleaved round by round so machine load hits both alike. A third command, `agent exec -- cat
 * LOG` (not a build: stdout inherited, nothing teed), gives the wrapper's fixed start-up + recording cost, so the
 * tee's own throughput can be read apart from it.
 * The log: xcodebuild CompileSwift steps (the shape of xcodebuild's output) with a real CodeSign step (the gasmask
 * capture in test/fixtures/build-logs, its failure line dropped so the steps succeed) after every 200 of them.
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
  const unit = Buffer.from(Array.from({ length: 200 }, (_, i) => compile(i)).join('') + block);
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
  bytes: number;
}

/** Run a command with stdout to a pipe this process drains (counting bytes) or to /dev/null. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, sink: 'pipe' | 'devnull'): Promise<Run> {
  return new Promise((res, rej) => {
    const out = sink === 'pipe' ? 'pipe' : openSync('/dev/null', 'w');
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ['ignore', out, 'inherit'] });
    let bytes = 0;
    child.stdout?.on('data', (b: Buffer) => (bytes += b.length));
    child.on('error', rej);
    child.on('close', (code) => {
      if (typeof out === 'number') closeSync(out);
      if (code !== 0) return rej(new Error(`${cmd} ${args.join(' ')} exited ${code}`));
      res({ wallMs: Number(process.hrtime.bigint() - t0) / 1e6, bytes });
    });
  });
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-bench-tee-'));
  try {
    const log = join(dir, 'build.log');
    const { bytes, steps } = writeLog(log);
    const size = statSync(log).size;
    writeFileSync(join(dir, 'agent.json'), JSON.stringify({ region: 'SG', host: 'bench', dataDir: join(dir, 'data'), keychain: '/Users/ci/signing.keychain-db' }));
    const env: NodeJS.ProcessEnv = { ...process.env, SIGNWATCH_AGENT_CONFIG: join(dir, 'agent.json') };
    const cmds: Record<string, [string, string[]]> = {
      cat: ['cat', [log]],
      'agent exec --scan-output -- cat': [process.execPath, [BIN, 'agent', 'exec', '--scan-output', '--', 'cat', log]],
      'agent exec -- cat (no tee)': [process.execPath, [BIN, 'agent', 'exec', '--', 'cat', log]],
    };
    const load0 = loadavg()[0] ?? 0;
    const res: Record<string, Record<string, number[]>> = { pipe: {}, devnull: {} };
    for (let r = 0; r < ROUNDS; r++) {
      for (const sink of ['pipe', 'devnull'] as const) {
        for (const [name, [cmd, args]] of Object.entries(cmds)) {
          const t = await timed(cmd, args, env, sink);
          if (sink === 'pipe' && t.bytes !== size) throw new Error(`${name}: ${t.bytes} bytes out of ${size}`);
          (res[sink]![name] ??= []).push(t.wallMs);
        }
      }
    }
    // every round's scan recorded every signing step (all ok): the scanner saw the whole log
    const spooledSteps = readdirSync(join(dir, 'data', 'spool', 'q')).reduce((n, f) => n + readFileSync(join(dir, 'data', 'spool', 'q', f), 'utf8').split('\n').filter((l) => l.includes('"via":"xcodebuild"')).length, 0);
    const lines: string[] = [
      `## Build-log tee: \`agent exec --scan-output\` vs \`cat\` (issue 19)`,
      '',
      `Command: \`BENCH_ONLY=build-tee npm run bench\` · ${(bytes / 1048576).toFixed(0)} MiB synthetic xcodebuild log, ${steps} CodeSign steps · median of ${ROUNDS} interleaved rounds · load ${load0.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)} · codesign events spooled over all rounds: ${spooledSteps} (${ROUNDS * 2} scanned runs × ${steps})`,
      '',
      '| sink | command | median wall | MB/s | × cat |',
      '| --- | --- | ---: | ---: | ---: |',
    ];
    for (const sink of ['pipe', 'devnull'] as const) {
      const cat = median(res[sink]!.cat!);
      for (const name of Object.keys(cmds)) {
        const m = median(res[sink]![name]!);
        lines.push(`| ${sink === 'pipe' ? 'pipe (read by the bench)' : '/dev/null'} | \`${name}\` | ${m.toFixed(0)} ms | ${(bytes / 1e6 / (m / 1000)).toFixed(0)} | ${(m / cat).toFixed(2)} |`);
      }
      const tee = median(res[sink]!['agent exec --scan-output -- cat']!);
      const fixed = median(res[sink]!['agent exec -- cat (no tee)']!) - cat;
      lines.push(`| ${sink === 'pipe' ? 'pipe' : '/dev/null'} | tee alone (scan run − the wrapper's fixed cost) | ${(tee - fixed).toFixed(0)} ms | ${(bytes / 1e6 / ((tee - fixed) / 1000)).toFixed(0)} | ${((tee - fixed) / cat).toFixed(2)} |`);
    }
    return `${lines.join('\n')}\n`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.stdout.write(await run());
