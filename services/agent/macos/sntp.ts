/**
 * sntp output (macOS Mojave+): `+0.000906 +/- 0.022017 ntp.nict.jp 133.243.238.243` on success; failures print
 * `sntp: Exchange failed: <reason>` (Timeout, DNS lookup failure, Kiss of death, Server not synchronized, recv
 * failure…) followed by the exchange's `sntp_exchange { result: N (…) … }` block, and `sntp: Clock select failed`
 * when no exchange gave a usable sample. With -d every exchange prints its block (one `offset: <hex> (<decimal>)`
 * each). A block's offset is only meaningful when its result is 0: a Kiss-of-death or a "Server not synchronized"
 * reply carries an offset too (absurd, or plausible and wrong). See the research notes macos-tools.md (kept outside this
 * repository) §5 and the captures in services/demo/fake-macos/fixtures (sntp*, with their sources in fixtures/INDEX.md).
 */
export type SntpFailureCode = 'timeout' | 'dns' | 'kiss_of_death' | 'not_synchronized' | 'clock_select_failed' | 'failed' | 'unparsed';

export type SntpResult =
  | { ok: true; offsetMs: number; errorMs: number; server: string; address: string }
  | { ok: false; reason: string; code: SntpFailureCode };

export interface SntpBlock {
  result: number;
  /** The text in parentheses after the result number (absent in some sntp versions: `result: 8`). */
  resultText?: string;
  /** Seconds, from the parenthesised decimal of the `offset:` line. */
  offset?: number;
  addr?: string;
}

/** Every `sntp_exchange { … }` block in the output, in order. */
export function parseSntpBlocks(output: string): SntpBlock[] {
  const out: SntpBlock[] = [];
  for (const m of output.matchAll(/^sntp_exchange \{\s*$([\s\S]*?)^\}\s*$/gm)) {
    const body = m[1] ?? '';
    const r = /^\s*result: (\d+)(?: \(([^)]*)\))?\s*$/m.exec(body);
    if (!r) continue;
    const b: SntpBlock = { result: Number(r[1]) };
    if (r[2] !== undefined) b.resultText = r[2];
    const off = /^\s*offset: \S+ \((-?\d+(?:\.\d+)?)\)\s*$/m.exec(body);
    if (off) b.offset = Number(off[1]);
    const addr = /^\s*addr: (.*?)\s*$/m.exec(body);
    if (addr?.[1]) b.addr = addr[1];
    out.push(b);
  }
  return out;
}

function failureCode(text: string): SntpFailureCode {
  if (/timeout/i.test(text)) return 'timeout';
  if (/DNS/i.test(text)) return 'dns';
  if (/kiss of death/i.test(text)) return 'kiss_of_death';
  if (/not synchronized/i.test(text)) return 'not_synchronized';
  return 'failed';
}

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
  // sntp -d: the first exchange that succeeded (result 0) gives the offset; failed exchanges never do
  const good = parseSntpBlocks(output).find((b) => b.result === 0 && b.offset !== undefined);
  if (good && good.offset !== undefined) {
    const server = good.addr ?? 'unknown';
    return { ok: true, offsetMs: round3(good.offset * 1000), errorMs: 0, server, address: server };
  }
  const texts: string[] = [];
  for (const m of output.matchAll(/^sntp: Exchange failed: (.*)$/gm)) {
    const t = (m[1] ?? '').trim();
    if (t && !texts.includes(t)) texts.push(t);
  }
  const clockSelect = /^sntp: Clock select failed\s*$/m.test(output);
  if (texts.length) {
    const reason = [...texts, ...(clockSelect ? ['Clock select failed'] : [])].join('; ');
    return { ok: false, reason, code: failureCode(texts[0] ?? '') };
  }
  if (clockSelect) return { ok: false, reason: 'Clock select failed', code: 'clock_select_failed' };
  return { ok: false, reason: output.trim().split(/\r?\n/)[0] || 'no output', code: 'unparsed' };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
