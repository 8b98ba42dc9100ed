/**
 * Line splitting on long lines (issue 16 item 9): services/platform/lines.ts against a plain read of the same bytes
 * (every chunk read and counted, nothing split), against reading and decoding it into one string (the least a
 * splitter that keeps the line must do) and against the splitter it replaced (`rest + chunk`,
 * kept here as the baseline), on files of one long line between two short ones, read in the stream's default
 * 64 KiB chunks. Linear means the ratio to the plain read stays flat as the line grows (16 → 64 MB).
 * BENCH_LINES_OLD=0 skips the old splitter (it takes about a minute on the 64 MB line).
 */
import { createReadStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { forEachLine } from '../services/platform/lines.js';

const MB = 1_000_000;
const SIZES = [16 * MB, 64 * MB];
const RUN_OLD = process.env.BENCH_LINES_OLD !== '0';

/** The splitter before issue 16 (quadratic on a long line: the whole rest is copied again for every chunk). */
async function oldForEachLine(input: Readable, onLine: (line: string, lineNo: number) => void): Promise<number> {
  let rest = '';
  let lineNo = 0;
  input.setEncoding('utf8');
  for await (const chunk of input as AsyncIterable<string>) {
    let start = 0;
    let text = chunk;
    if (rest) text = rest + chunk;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      let end = nl;
      if (end > start && text.charCodeAt(end - 1) === 13) end--;
      onLine(text.slice(start, end), ++lineNo);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest.length) onLine(rest, ++lineNo);
  return lineNo;
}

async function plainRead(input: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of input as AsyncIterable<Buffer>) n += chunk.length;
  return n;
}

/** The least any splitter that keeps the line must do: read it and decode it into one string. */
async function readDecode(input: Readable): Promise<number> {
  const parts: Buffer[] = [];
  for await (const chunk of input as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8').length;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  globalThis.gc?.();
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<string> {
  const dir = join(process.cwd(), 'bench', 'data');
  mkdirSync(dir, { recursive: true });
  const rows: string[] = [];
  for (const size of SIZES) {
    const file = join(dir, `long-line-${size / MB}MB.ndjson`);
    writeFileSync(file, `{"a":1}\n{"pad":"${'x'.repeat(size - 11)}"}\n{"b":2}\n`);
    const open = () => createReadStream(file); // default 64 KiB chunks, as `store import` and the report
    const plain: number[] = [];
    const decode: number[] = [];
    const kept: number[] = [];
    const skipped: number[] = [];
    let lines = 0;
    for (let i = 0; i < 3; i++) {
      plain.push(await time(() => plainRead(open())));
      decode.push(await time(() => readDecode(open())));
      kept.push(await time(async () => (lines = await forEachLine(open(), () => undefined, { maxLineBytes: 1 << 30 }))));
      skipped.push(await time(() => forEachLine(open(), () => undefined, { onTooLong: () => undefined })));
    }
    if (lines !== 3) throw new Error(`expected 3 lines, got ${lines}`);
    const old = RUN_OLD ? await time(() => oldForEachLine(open(), () => undefined)) : NaN;
    const p = median(plain);
    const d = median(decode);
    const k = median(kept);
    const s = median(skipped);
    const f = (ms: number) => (Number.isNaN(ms) ? '—' : `${ms.toFixed(0)} ms`);
    const x = (ms: number, base: number) => (Number.isNaN(ms) ? '—' : `${(ms / base).toFixed(2)}`);
    rows.push(`| ${size / MB} MB | ${f(p)} | ${f(d)} | ${f(k)} | ${x(k, d)} | ${f(s)} | ${x(s, p)} | ${f(old)} | ${x(old, d)} |`);
    rmSync(file, { force: true });
  }
  return [
    '## Long lines: services/platform/lines.ts (issue 16 item 9)',
    '',
    'One line of N bytes between two short ones, 64 KiB chunks; median of 3 (the old splitter: one run).',
    '',
    '| line | plain read | read + decode | new, line kept | × read+decode | new, default 16 MiB max (skipped) | × plain read | old `rest + chunk` | × read+decode |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n');
}
