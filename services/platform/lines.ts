/**
 * NDJSON line splitting over a byte stream, in linear time: a line's bytes are kept as the list of chunk slices
 * they arrived in and joined once, when its newline arrives (a `rest + chunk` string would copy the whole line
 * again for every chunk: quadratic in the line's length). A line longer than `maxLineBytes` is not kept at all:
 * its bytes are counted and dropped as they stream past, `onTooLong(lineNo, bytes)` reports it when its newline
 * arrives, and the lines after it are read as usual (nothing good is lost, memory stays bounded).
 * Used by replay, dlq replay, store import and the benchmark floor alike, so that the benchmark ratio measures
 * our work, not the reader.
 */
import type { Readable } from 'node:stream';

/** The default longest line (bytes, without its newline) a reader keeps: far above any event (64 KiB). */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

export interface LineOptions {
  /** Longest line kept, in bytes without its \n (a \r before it counts; default DEFAULT_MAX_LINE_BYTES). */
  maxLineBytes?: number;
  /** A line over maxLineBytes: its number and its length in bytes. It is not passed to onLine. */
  onTooLong?: (lineNo: number, bytes: number) => void;
  /** Bytes read, after each chunk (progress). */
  onChunk?: (bytes: number) => void;
}

/** The reason a too-long line is reported with, the same words in every command. */
export function tooLongReason(bytes: number, maxLineBytes: number): string {
  return `line too long: ${bytes} bytes > ${maxLineBytes} (skipped)`;
}

/** Incremental splitter: push byte chunks, get whole lines (without \n or \r\n) through `emit`. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** Bytes of the current line when it is over the limit (its bytes are no longer kept). */
  private dropped = 0;
  private lineNo = 0;
  readonly maxLineBytes: number;

  constructor(private readonly opts: LineOptions = {}) {
    const max = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxLineBytes: ${max} must be a positive integer`);
    this.maxLineBytes = max;
  }

  /** Lines seen so far (including too-long ones). */
  get lines(): number {
    return this.lineNo;
  }

  /** `chunk` is kept by reference until its line ends: do not reuse it afterwards. */
  push(chunk: Buffer, emit: (line: string, lineNo: number) => void): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      this.endLine(chunk, start, nl, emit);
      start = nl + 1;
    }
    if (start < chunk.length) this.keep(chunk, start, chunk.length);
  }

  /** The last line, when the input does not end with a newline. */
  end(emit: (line: string, lineNo: number) => void): void {
    if (this.partBytes > 0 || this.dropped > 0) this.endLine(Buffer.alloc(0), 0, 0, emit);
  }

  private keep(chunk: Buffer, from: number, to: number): void {
    const n = to - from;
    if (this.dropped > 0) {
      this.dropped += n;
      return;
    }
    if (this.partBytes + n > this.maxLineBytes) {
      this.dropped = this.partBytes + n;
      this.parts = [];
      this.partBytes = 0;
      return;
    }
    // a view, not a copy: stream chunks are fresh buffers (fs and socket reads allocate one per read); push()
    // callers that reuse a buffer must pass a copy
    this.parts.push(chunk.subarray(from, to));
    this.partBytes += n;
  }

  private endLine(chunk: Buffer, from: number, nl: number, emit: (line: string, lineNo: number) => void): void {
    const lineNo = ++this.lineNo;
    let to = nl;
    const bytes = (this.dropped > 0 ? this.dropped : this.partBytes) + (to - from);
    if (bytes > this.maxLineBytes) {
      this.parts = [];
      this.partBytes = 0;
      this.dropped = 0;
      this.opts.onTooLong?.(lineNo, bytes);
      return;
    }
    let text: string;
    if (this.parts.length === 0) {
      if (to > from && chunk[to - 1] === 13) to--;
      text = chunk.toString('utf8', from, to);
    } else {
      this.parts.push(chunk.subarray(from, to));
      let joined = Buffer.concat(this.parts, this.partBytes + (to - from));
      if (joined.length > 0 && joined[joined.length - 1] === 13) joined = joined.subarray(0, joined.length - 1);
      text = joined.toString('utf8');
      this.parts = [];
      this.partBytes = 0;
    }
    emit(text, lineNo);
  }
}

function asBuffer(chunk: unknown): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
}

/**
 * Calls onLine(line, lineNumber) synchronously for each line (without the trailing \n or \r\n); returns the number
 * of lines. The third argument is either the progress callback (bytes per chunk) or the full options.
 */
export async function forEachLine(
  input: Readable | NodeJS.ReadableStream,
  onLine: (line: string, lineNo: number) => void,
  opts: LineOptions | ((bytes: number) => void) = {},
): Promise<number> {
  const o: LineOptions = typeof opts === 'function' ? { onChunk: opts } : opts;
  const splitter = new LineSplitter(o);
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const b = asBuffer(chunk);
    o.onChunk?.(b.length);
    splitter.push(b, onLine);
  }
  splitter.end(onLine);
  return splitter.lines;
}

/**
 * The same lines as an async iteration, in batches (the lines of one chunk), for consumers that await between
 * lines (a store insert): `for await (const batch of lineBatches(input)) for (const [line, no] of batch) …`.
 */
export async function* lineBatches(input: Readable | NodeJS.ReadableStream, opts: LineOptions = {}): AsyncGenerator<Array<[string, number]>> {
  const splitter = new LineSplitter(opts);
  let batch: Array<[string, number]> = [];
  const collect = (line: string, no: number) => {
    batch.push([line, no]);
  };
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const b = asBuffer(chunk);
    opts.onChunk?.(b.length);
    splitter.push(b, collect);
    if (batch.length) {
      const out = batch;
      batch = [];
      yield out;
    }
  }
  splitter.end(collect);
  if (batch.length) yield batch;
}

/**
 * The `--max-line-bytes N` option of the commands that read NDJSON: an integer of bytes, or with a binary suffix
 * (`64KiB`, `16MiB`, `1GiB`; `K`/`M`/`G` alone mean the same). Undefined when absent; throws a message naming it.
 */
export function parseMaxLineBytes(command: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,10})\s*(?:([KMG])(?:i?B)?)?$/i.exec(value.trim());
  const mult = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as const;
  const n = m ? Number(m[1]) * (m[2] ? mult[m[2].toUpperCase() as keyof typeof mult] : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < 1024 || n > 1024 ** 3) {
    throw new RangeError(`signwatch ${command}: --max-line-bytes: "${value}" must be a size from 1KiB to 1GiB (e.g. 16MiB)`);
  }
  return n;
}
