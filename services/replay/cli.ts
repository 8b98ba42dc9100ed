/** `signwatch replay FILE|-`: alert transitions (or hourly aggregates) from NDJSON events. */
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { BadLineTally, parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { CodedError, UsageError } from '../platform/errors.js';
import { loadPolicyFile } from '../engine/policy.js';
import { toMs } from '../engine/time.js';
import { replay } from './replay.js';
import { parseMaxLineBytes } from '../platform/lines.js';

const HELP = `Usage: signwatch replay [options] FILE|-

Run the alert engine (the same one the live processor runs) over NDJSON events and print the alert
transitions as NDJSON on stdout, with the drill records ({"kind":"drill",…}: docs/engine.md, "Drills") in order,
the same lines the live processor writes to the alert topic. The clock is the event time (per region); --until
advances it at the end.
Lines are wire events, or records of a topic export (kcat -C -J, signwatch dlq export) whose record time is then
the event's reference time; other lines are referred to --now. An event stamped more than the policy's
maxFutureSkew beyond its reference time is reported as future_timestamp and moves no clock (docs/engine.md).
Lines that are not JSON or fail the wire-contract schema are reported on stderr with their line number and
skipped; a summary (read, valid, invalid, duplicate, late, expired, future) is printed on stderr at the end.

Options:
  --hourly          print the hourly aggregates (per region and per host) instead of transitions
  --until TIME      advance the clock to TIME (RFC 3339) at end of input, so quiet regions resolve
  --now TIME        reference time of lines without a record time (default: the wall clock at start)
  --policy FILE     alert policy YAML (default: alerts/policy.yaml of this checkout)
  --quiet           bad lines summarised by reason in the summary, not listed
  --max-line-bytes N  longest line read (default 16MiB): a longer one is reported by number and skipped
  -h, --help        show this help

Exit status: 0 input read (even with bad lines), 1 input cannot be read, 2 bad usage or bad policy.
`;

export const run: CommandModule['run'] = async (argv) => {
  const a = parseCommandArgs('replay', argv, { hourly: { type: 'boolean' }, until: { type: 'string' }, now: { type: 'string' }, policy: { type: 'string' }, quiet: { type: 'boolean' }, 'max-line-bytes': { type: 'string' } }, HELP);
  if (!a) return 0;
  const { values: v, positionals } = a;
  if (positionals.length !== 1) throw new UsageError(`signwatch replay: expected exactly one input (FILE or -), got ${positionals.length}\nTry 'signwatch replay --help'.`);
  let until: number | undefined;
  if (v.until !== undefined) {
    until = toMs(v.until);
    if (!Number.isFinite(until)) throw new UsageError(`signwatch replay: --until "${v.until}" is not an RFC 3339 time`);
  }
  let now: number | undefined;
  if (v.now !== undefined) {
    now = toMs(v.now);
    if (!Number.isFinite(now)) throw new UsageError(`signwatch replay: --now: "${v.now}" is not an RFC 3339 time`);
  }
  let maxLineBytes: number | undefined;
  try {
    maxLineBytes = parseMaxLineBytes('replay', v['max-line-bytes']);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const policy = loadPolicyFile(v.policy);
  const file = positionals[0]!;
  let input: Readable;
  let total = 0;
  if (file === '-') input = process.stdin;
  else {
    try {
      total = statSync(file).size;
    } catch (e) {
      throw new CodedError('SW_INPUT_UNREADABLE', `signwatch replay: cannot read ${file}: ${(e as Error).message}`);
    }
    input = createReadStream(file, { highWaterMark: 1 << 20 });
  }
  const out = process.stdout;
  let buf = '';
  const write = (o: unknown) => {
    buf += JSON.stringify(o) + '\n';
    if (buf.length > 1 << 16) {
      out.write(buf);
      buf = '';
    }
  };
  const tty = process.stderr.isTTY === true;
  let lastProgress = 0;
  const started = Date.now();
  const quiet = v.quiet === true;
  let reported = 0;
  const tally = new BadLineTally();
  const report = (lineNo: number, reason: string) => {
    if (quiet) return tally.add(reason);
    if (reported++ < 1000) process.stderr.write(`${file === '-' ? 'stdin' : file}:${lineNo}: skipped: ${reason}\n`);
    else if (reported === 1001) process.stderr.write('(further bad lines not reported; see the summary)\n');
  };
  try {
    const summary = await replay(input, {
      policy,
      until,
      now,
      maxLineBytes,
      onTransition: v.hourly ? undefined : write,
      onHourly: v.hourly ? write : undefined,
      onDrill: v.hourly ? undefined : write,
      onInvalid: (lineNo, reason) => report(lineNo, reason),
      onFuture: (lineNo, reason) => report(lineNo, reason),
      onProgress: tty
        ? (bytes, s) => {
            const now = Date.now();
            if (now - lastProgress < 250) return;
            lastProgress = now;
            const pct = total ? ` ${((100 * bytes) / total).toFixed(1)}%` : '';
            const rate = Math.round(s.read / Math.max(0.001, (now - started) / 1000));
            process.stderr.write(`\r\x1b[Kreplay:${pct} ${s.read} lines, ${rate}/s, ${s.transitions} transitions`);
          }
        : undefined,
    });
    out.write(buf);
    if (tty) process.stderr.write('\r\x1b[K');
    process.stderr.write(
      `replay: read ${summary.read}, valid ${summary.valid}, invalid ${summary.invalid}, duplicate ${summary.duplicate}, late ${summary.late}, expired ${summary.expired}, future ${summary.future}; ${summary.transitions} transitions, ${summary.drills} drill records, ${summary.hourly} hourly aggregates (${Date.now() - started} ms)${tally.total > 0 ? `; bad lines: ${tally.summary()}` : ''}\n`,
    );
    return 0;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EISDIR') {
      throw new CodedError('SW_INPUT_UNREADABLE', `signwatch replay: cannot read ${file}: ${err.message}`);
    }
    throw e;
  }
};
