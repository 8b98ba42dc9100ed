/**
 * `signwatch drill start|stop|status|report`: the quarterly revoke-one-certificate drill (docs/engine.md, "Drills").
 *
 *   start / stop  check the person's token against the token book (--token-book; the name comes from the book) and
 *                 produce one `drill` event per region to the events topic, keyed by region (acks=all, idempotent):
 *                 the engine of every region's partition sees it like any event, and so does `signwatch replay`.
 *   status        the latest (or --id) drill per region: state, elapsed, green at, pending hosts and what each lacks.
 *   report        one drill as a table, JSON or Markdown, compared with the drills before it.
 * status and report read the drill records of the alert topic (from its start to its current end), or of a file
 * (--from: `signwatch replay` output or an alert-topic export). Kafka settings come from the processor's config.
 */
import { accessSync, constants, createReadStream } from 'node:fs';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { ulid } from 'ulid';
import { REGIONS, Region, badRegion, validateEvent } from '../../schemas/events.js';
import type { DrillRecord } from '../engine/drill.js';
import { MAX_DRILL_TIMEOUT } from '../engine/engine.js';
import { toIso, toMs } from '../engine/time.js';
import { parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { parseDuration } from '../platform/duration.js';
import { CodedError, ConfigError, UsageError } from '../platform/errors.js';
import { connectKafka, createKafka } from '../platform/kafka.js';
import { forEachLine } from '../platform/lines.js';
import { createLogger } from '../platform/logger.js';
import { loadTokenBook, readPresentedToken } from '../platform/tokens.js';
import { loadProcessorConfig, type ProcessorConfig } from '../processor/config.js';
import { buildReport, drillRecordsOf, renderReportMarkdown, renderReportTable, renderStatus, summarise } from './report.js';

const VERSION = '0.1.0';
const TOKEN_ENV = ['SIGNWATCH_DRILL_TOKEN', 'SIGNWATCH_TOKEN'] as const;

const HELP = `Usage: signwatch drill start --cert SHA1 [--region R]… [--note TEXT] [--timeout 24h] --token-book FILE [options]
       signwatch drill stop --id ID [--region R]… --token-book FILE [options]
       signwatch drill status [--id ID] [--from FILE|-] [-o table|json] [options]
       signwatch drill report --id ID [--from FILE|-] [-o table|json|markdown] [options]

The quarterly drill: revoke one certificate and measure each region's time to green (docs/engine.md, "Drills").
start   records a drill: one "drill" event per region (default: every region) on the events topic, signed by the
        person the token book names for your token (--token-file FILE, or $SIGNWATCH_DRILL_TOKEN / $SIGNWATCH_TOKEN;
        never on the command line). Prints the drill id. Start it before revoking the certificate.
stop    ends a drill early: regions still pending are red ("stopped").
status  per region of the latest drill (or --id): state, elapsed, green at, pending hosts and what each lacks.
report  one drill (table, JSON or Markdown for the quarterly review), compared with the drills before it.

Options:
  --cert SHA1         start: the certificate to revoke (40 hex digits, the SHA-1 security find-identity prints)
  --region R          start/stop: a region to drill (repeatable; default: ${REGIONS.join(', ')})
  --note TEXT         start: a note for the report
  --timeout DUR       start: a region not green this long after the start is red (default: the policy's drill.timeout,
                      24h; at most 7d)
  --id ID             stop/status/report: the drill id
  --token-book FILE   start/stop: the token book (signwatch tokens add) that names the person
  --token-file FILE   start/stop: the file holding your token
  --from FILE|-       status/report: read drill records from this file (replay output or an alert-topic export)
                      instead of the alert topic
  --now TIME          status: the instant to measure a pending region's elapsed time to (default: now)
  -o, --output FMT    table (default), json, markdown (report)
  --config FILE       the processor's config (brokers, TLS, SASL, topic names)
  --brokers LIST      comma-separated host:port (overrides the config)
  --timeout-read DUR  status/report: give up reading the alert topic after this long (default 30s)
  -h, --help          show this help

Exit status: 0 done, 1 Kafka failure or no such drill, 2 bad usage, bad token or configuration.
`;

const OPTIONS = {
  cert: { type: 'string' },
  region: { type: 'string', multiple: true },
  note: { type: 'string' },
  timeout: { type: 'string' },
  id: { type: 'string' },
  'token-book': { type: 'string' },
  'token-file': { type: 'string' },
  from: { type: 'string' },
  now: { type: 'string' },
  output: { type: 'string', short: 'o' },
  config: { type: 'string' },
  brokers: { type: 'string' },
  'timeout-read': { type: 'string' },
} as const;

const SUBS = ['start', 'stop', 'status', 'report'] as const;
type Sub = (typeof SUBS)[number];

function config(cmd: string, v: { config?: string; brokers?: string }): Readonly<ProcessorConfig> {
  try {
    return loadProcessorConfig(v.config, { 'kafka.brokers': v.brokers?.split(',').map((s) => s.trim()).filter(Boolean), 'kafka.clientId': 'signwatch-drill' });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`signwatch ${cmd}: ${e.message}`);
    throw e;
  }
}

function regionsOf(cmd: string, list: string[] | undefined): Region[] {
  if (!list?.length) return [...REGIONS];
  const out: Region[] = [];
  for (const r of list) {
    const p = Region.safeParse(r);
    if (!p.success) throw new UsageError(`signwatch ${cmd}: --region: ${badRegion(r)}`);
    if (!out.includes(p.data)) out.push(p.data);
  }
  return out;
}

/** The person the token book names for the presented token (the name never comes from the command line). */
function person(cmd: string, v: { 'token-book'?: string; 'token-file'?: string }): string {
  if (v['token-book'] === undefined) throw new UsageError(`signwatch ${cmd}: --token-book: required (the token book that names the person running the drill)`);
  const book = loadTokenBook(v['token-book']);
  const token = readPresentedToken({ command: `signwatch ${cmd}`, file: v['token-file'], envVars: TOKEN_ENV });
  if (token === undefined) throw new UsageError(`signwatch ${cmd}: no token: give --token-file FILE or set $${TOKEN_ENV[0]}`);
  const name = book.identify(token);
  if (name === undefined) throw new CodedError('SW_DRILL_TOKEN', `signwatch ${cmd}: token: not in the token book ${book.path}`);
  return name;
}

/** One drill event per region, validated against the wire contract before anything is sent. */
export function drillEvents(o: { action: 'start' | 'stop'; drillId: string; sha1?: string; regions: Region[]; by: string; note?: string; timeoutMs?: number; now: number; host: string }): string[] {
  return o.regions.map((region) => {
    const ev = {
      v: 1,
      id: ulid(o.now),
      ts: toIso(o.now),
      type: 'drill',
      host: o.host,
      region,
      pool: 'signing',
      agent: VERSION,
      action: o.action,
      drillId: o.drillId,
      ...(o.sha1 !== undefined ? { sha1: o.sha1 } : {}),
      regions: o.regions,
      by: o.by,
      ...(o.note !== undefined ? { note: o.note } : {}),
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    };
    const r = validateEvent(ev);
    if (!r.ok) throw new UsageError(`signwatch drill ${o.action}: ${r.reason}`);
    return JSON.stringify(ev);
  });
}

async function produce(cmd: string, cfg: Readonly<ProcessorConfig>, lines: string[]): Promise<void> {
  const log = createLogger({ name: 'signwatch-drill', level: 'warn' });
  await connectKafka(cfg.kafka, log, { command: cmd });
  const producer = createKafka(cfg.kafka, log).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic: cfg.topics.events.name, acks: -1, messages: lines.map((value) => ({ key: (JSON.parse(value) as { region: string }).region, value })) });
  } catch (e) {
    throw new CodedError('SW_DRILL_SEND', `signwatch ${cmd}: cannot write to ${cfg.topics.events.name}: ${(e as Error).message}`);
  } finally {
    await producer.disconnect().catch(() => undefined);
    log.flush();
  }
}

/** Every drill record of the alert topic, from its start to its end at the time of the call. */
async function readAlertTopic(cmd: string, cfg: Readonly<ProcessorConfig>, timeoutMs: number): Promise<DrillRecord[]> {
  const log = createLogger({ name: 'signwatch-drill', level: 'warn' });
  await connectKafka(cfg.kafka, log, { command: cmd, timeoutMs: Math.min(timeoutMs, cfg.kafka.connectionTimeout) });
  const kafka = createKafka(cfg.kafka, log);
  const topic = cfg.topics.alerts.name;
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, number>;
  try {
    if (!(await admin.listTopics()).includes(topic)) return [];
    ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const pending = new Set([...ends].filter(([, high]) => high > 0).map(([p]) => p));
  const values: unknown[] = [];
  if (pending.size === 0) return [];
  const consumer = kafka.consumer({ groupId: `signwatch-drill-${process.pid}-${Date.now()}`, readUncommitted: false, maxWaitTimeInMs: 200 });
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));
  const timer = setTimeout(finish, timeoutMs);
  // transactional topic: the batches' last offsets include the commit markers eachMessage never sees
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (Number(payload.lastOffset) + 1 >= (ends.get(payload.partition) ?? 0)) pending.delete(payload.partition);
    if (pending.size === 0) finish();
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        await Promise.resolve();
        const text = message.value?.toString('utf8') ?? '';
        if (!text.includes('"kind":"drill"')) return;
        try {
          values.push(JSON.parse(text));
        } catch {
          /* not JSON: not a drill record */
        }
      },
    });
    await done;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    log.flush();
  }
  if (pending.size) throw new CodedError('SW_DRILL_READ', `signwatch ${cmd}: ${topic}: did not reach its end within ${timeoutMs} ms`);
  return drillRecordsOf(values);
}

async function readFile(cmd: string, file: string): Promise<DrillRecord[]> {
  const values: unknown[] = [];
  let input: Readable;
  if (file === '-') input = process.stdin;
  else {
    try {
      accessSync(file, constants.R_OK); // fail early and in our words when unreadable
    } catch (e) {
      throw new CodedError('SW_INPUT_UNREADABLE', `signwatch ${cmd}: --from: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    input = createReadStream(file);
  }
  await forEachLine(input, (line) => {
    if (!line.includes('"drill"')) return;
    try {
      const o = JSON.parse(line) as { value?: unknown; payload?: unknown };
      // an alert-topic export wraps the record as a string (kcat -J: payload)
      const inner = typeof o.payload === 'string' ? o.payload : typeof o.value === 'string' ? o.value : undefined;
      values.push(inner !== undefined ? JSON.parse(inner) : o);
    } catch {
      /* not JSON: skipped */
    }
  });
  return drillRecordsOf(values);
}

function durationOf(cmd: string, flag: string, s: string): number {
  const ms = parseDuration(s);
  if (ms === undefined || ms <= 0) throw new UsageError(`signwatch ${cmd}: ${flag}: "${s}" is not a duration (e.g. 30s, 4h, 24h)`);
  return ms;
}

export const run: CommandModule['run'] = async (argv) => {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (!(SUBS as readonly string[]).includes(sub)) throw new UsageError(`signwatch drill: unknown subcommand '${sub}' (${SUBS.join(', ')})\nTry 'signwatch drill --help'.`);
  const cmd = `drill ${sub as Sub}`;
  const a = parseCommandArgs(cmd, rest, OPTIONS, HELP, false);
  if (!a) return 0;
  const v = a.values;
  const out = v.output ?? 'table';
  if (!['table', 'json', 'markdown'].includes(out) || (out === 'markdown' && sub !== 'report')) throw new UsageError(`signwatch ${cmd}: --output: "${out}" is not one of table, json${sub === 'report' ? ', markdown' : ''}`);

  if (sub === 'start' || sub === 'stop') {
    let sha1: string | undefined;
    let drillId: string;
    let timeoutMs: number | undefined;
    if (sub === 'start') {
      if (v.cert === undefined) throw new UsageError(`signwatch ${cmd}: --cert: required (the SHA-1 of the certificate to revoke)`);
      sha1 = v.cert.replace(/[\s:]/g, '').toUpperCase();
      if (!/^[0-9A-F]{40}$/.test(sha1)) throw new UsageError(`signwatch ${cmd}: --cert: "${v.cert}" is not a SHA-1 (40 hex digits)`);
      if (v.timeout !== undefined) {
        timeoutMs = durationOf(cmd, '--timeout', v.timeout);
        if (timeoutMs > MAX_DRILL_TIMEOUT) throw new UsageError(`signwatch ${cmd}: --timeout: "${v.timeout}" is longer than 7d`);
      }
      drillId = ulid();
    } else {
      if (v.id === undefined) throw new UsageError(`signwatch ${cmd}: --id: required (the drill id that drill start printed)`);
      drillId = v.id;
    }
    const regions = regionsOf(cmd, v.region);
    const by = person(cmd, v);
    const now = Date.now();
    const lines = drillEvents({ action: sub, drillId, sha1, regions, by, note: v.note, timeoutMs, now, host: hostname() || 'unknown' });
    const cfg = config(cmd, v);
    await produce(cmd, cfg, lines);
    process.stderr.write(`signwatch ${cmd}: ${sub === 'start' ? 'started' : 'stopped'} by ${by} at ${toIso(now)} in ${regions.join(', ')} (${lines.length} events on ${cfg.topics.events.name})\n`);
    process.stdout.write(`${drillId}\n`);
    return 0;
  }

  // status / report
  if (sub === 'report' && v.id === undefined) throw new UsageError(`signwatch ${cmd}: --id: required (see signwatch drill status)`);
  const readTimeout = v['timeout-read'] !== undefined ? durationOf(cmd, '--timeout-read', v['timeout-read']) : 30_000;
  const records = v.from !== undefined ? await readFile(cmd, v.from) : await readAlertTopic(cmd, config(cmd, v), readTimeout);
  const all = summarise(records);
  const id = v.id ?? all.at(-1)?.drillId;
  const drill = all.find((d) => d.drillId === id);
  if (!drill) {
    if (v.id === undefined) {
      process.stderr.write(`signwatch ${cmd}: no drill recorded yet\n`);
      return 0;
    }
    throw new CodedError('SW_DRILL_UNKNOWN', `signwatch ${cmd}: --id: no drill ${v.id} in the records read`);
  }
  if (sub === 'status') {
    let now = Date.now();
    if (v.now !== undefined) {
      now = toMs(v.now);
      if (!Number.isFinite(now)) throw new UsageError(`signwatch ${cmd}: --now: "${v.now}" is not an RFC 3339 time`);
    }
    process.stdout.write(out === 'json' ? `${JSON.stringify(drill, null, 2)}\n` : renderStatus(drill, now));
    return 0;
  }
  const rep = buildReport(all, drill.drillId)!;
  process.stdout.write(out === 'json' ? `${JSON.stringify(rep, null, 2)}\n` : out === 'markdown' ? renderReportMarkdown(rep) : renderReportTable(rep));
  return 0;
};
