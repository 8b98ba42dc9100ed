/**
 * sntp output (macOS Mojave+): `+0.000906 +/- 0.022017 ntp.nict.jp 133.243.238.243` on success; failures print
 * `sntp: Exchange failed: <reason>` (Timeout, DNS lookup failure, Kiss of death…), `sntp: Clock select failed`,
 * and with -d an `sntp_exchange { result: N (…) … offset: <hex> (<decimal>) … }` block whose offset is only
 * meaningful when result is 0 (a Kiss-of-death reply carries an absurd offset). See the research notes macos-tools.md (kept outside this repository) §5.
 */
export type SntpResult =
  | { ok: true; offsetMs: number; errorMs: number; server: string; address: string }
  | { ok: false; reason: string; code: 'timeout' | 'dns' | 'kiss_of_death' | 'clock_select_failed' | 'failed' | 'unparsed' };

export function parseSntp(output: string): SntpResult {
  const line = /^([+-]\d+\.\d+) \+\/- (\d+\.\d+) (\S+) (\S+)$/m.exec(output);
  if (line) {
    return {
      ok: true,
      offsetMs: round3(Number(line[1]) * 1000),
      errorMs: round3(Number(line[2]) * 1000),
      server: line[3] ?? '',
      address: line[4] ?? '',
    };
  }
  const result = /^\s*result: (\d+) \(([^)]*)\)/m.exec(output);
  if (result && result[1] === '0') {
    const off = /^\s*offset: \S+ \((-?\d+(?:\.\d+)?)\)/m.exec(output);
    const addr = /^\s*addr: (.*)$/m.exec(output);
    if (off) {
      const server = addr?.[1]?.trim() || 'unknown';
      return { ok: true, offsetMs: round3(Number(off[1]) * 1000), errorMs: 0, server, address: server };
    }
  }
  const failed = /^sntp: Exchange failed: (.*)$/m.exec(output);
  if (failed) {
    const reason = (failed[1] ?? '').trim();
    const code = /timeout/i.test(reason) ? 'timeout' : /DNS/i.test(reason) ? 'dns' : /kiss of death/i.test(reason) ? 'kiss_of_death' : 'failed';
    return { ok: false, reason, code };
  }
  if (/^sntp: Clock select failed$/m.test(output)) return { ok: false, reason: 'Clock select failed', code: 'clock_select_failed' };
  return { ok: false, reason: output.trim().split(/\r?\n/)[0] ?? 'no output', code: 'unparsed' };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
