/**
 * Fast NDJSON line splitting over a byte stream: calls onLine(line, lineNumber) synchronously for each line
 * (without the trailing \n or \r\n). Used by replay, store import and the benchmark floor alike, so that the
 * benchmark ratio measures our work, not the reader.
 */
import type { Readable } from 'node:stream';

export async function forEachLine(
  input: Readable,
  onLine: (line: string, lineNo: number) => void,
  onChunk?: (bytes: number) => void,
): Promise<number> {
  let rest = '';
  let lineNo = 0;
  input.setEncoding('utf8');
  for await (const chunk of input as AsyncIterable<string>) {
    onChunk?.(Buffer.byteLength(chunk));
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
  if (rest.length) onLine(rest.endsWith('\r') ? rest.slice(0, -1) : rest, ++lineNo);
  return lineNo;
}
