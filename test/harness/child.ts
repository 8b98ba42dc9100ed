/** Child processes in tests and benchmarks. */
import type { ChildProcess } from 'node:child_process';

/** SIGTERM, then SIGKILL if it has not exited within 10 s; resolves once it exited (at once if it already had). */
export async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(t);
}
