/**
 * `signwatch agent exec -- xcodebuild|fastlane|electron-builder …` (or `--scan-output -- <any command>`): the tool
 * runs like any wrapped tool (tool-run.ts: same argv, stdin, exit status, signals; stdout and stderr written
 * through before they are looked at), and both streams are fed to the streaming build-log scanner. After the exit,
 * one event per signing step / notarization is spooled. Imported by exec.ts only for these commands.
 */
import { BuildLogScanner, type Via } from '../build/scanner.js';
import { runTool, type ToolRun } from '../tool-run.js';

/** Wall-clock milliseconds from the monotonic clock (durations never go backwards). */
function clock(): number {
  return performance.timeOrigin + performance.now();
}

export async function runBuild(tool: string, args: readonly string[], via: Via | undefined, config: string | undefined, sinkSpec: string | undefined, env: NodeJS.ProcessEnv): Promise<ToolRun> {
  const scanner = new BuildLogScanner(via === undefined ? {} : { via });
  let scanFailed: Error | undefined;
  const onOutput = (chunk: Buffer, stream: 'out' | 'err') => {
    if (scanFailed) return;
    try {
      scanner.push(chunk, clock(), stream);
    } catch (e) {
      scanFailed = e as Error; // never let the scanner change the build: stop scanning, keep teeing
    }
  };
  // stdout (the log) through tool-run.ts's Node stream tee; with SIGNWATCH_BUILD_TEE=worker through the worker-thread
  // tee (build/fast-tee.ts; the stream tee when that cannot start). Not the default: on the 2-core bench host it was
  // no faster and starts ~40 ms (CPU) later (bench/RESULTS.md "Build-log tee"); re-measure on a signing Mac.
  const fast = env.SIGNWATCH_BUILD_TEE === 'worker' ? (await import('../build/fast-tee.js')).openFastTee((b) => onOutput(b, 'out')) : undefined;
  const running = runTool(tool, args, true, undefined, onOutput, fast);
  let record: ((run: ToolRun) => void) | undefined;
  try {
    const [{ loadConfig }, { parseSinkSpec, logAgentError }, { recordBuild }] = await Promise.all([import('../config.js'), import('../spool/emit.js'), import('../build/record-build.js')]);
    const cfg = loadConfig(config, env);
    const sink = parseSinkSpec(sinkSpec) ?? { kind: 'spool' as const };
    record = (run) => {
      try {
        if (run.teeError) logAgentError(cfg, `exec: build log tee: ${run.teeError}`);
        if (scanFailed) throw scanFailed;
        const steps = scanner.end(run.spawnError ? 127 : run.exitCode, clock());
        recordBuild(cfg, steps, scanner.dropped, sink, env);
      } catch (e) {
        logAgentError(cfg, `exec: build log scanner stopped: ${(e as Error).message}`);
      }
    };
  } catch (e) {
    process.stderr.write(`signwatch agent exec: ${(e as Error).message} (the tool runs; no event is recorded)\n`);
  }
  const run = await running;
  record?.(run);
  return run;
}
