/**
 * `signwatch dlq export|replay`: read the dead-letter topic, and re-drive corrected events into the events topic.
 *
 *   export  reads the dead-letter topic from its start to its current end (a throw-away consumer: no group offsets
 *           are touched) and prints one NDJSON record per dead letter: reason, source topic/partition/offset,
 *           and the original bytes as `value`.
 *   replay  reads NDJSON (corrected wire events, or export records whose `value` was fixed), validates each line
 *           with the wire contract, and produces the valid ones to the events topic keyed by region (acks=all,
 *           idempotent producer). Bad lines are reported with their line number and skipped. Re-sent events are
 *           safe: the processor and the store deduplicate by id.
 * Kafka settings come from the processor's config file (--config) so that TLS/SASL and topic names are the same.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { parseEventFast } from '../../schemas/validate.js';
import { parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { CodedError, UsageError } from '../platform/errors.js';
import { ConfigError, loadProcessorConfig, type ProcessorConfig } from '../processor/config.js';
import { connectKafka, createKafka, KafkaError } from '../platform/kafka.js';
import { effectiveConfigText } from '../platform/check-config.js';
import { createLogger } from '../platform/logger.js';
import { forEachLine, tooLongReason, DEFAULT_MAX_LINE_BYTES } from '../platform/lines.js';
import { DLQ_HEADERS } from '../processor/topology.js';

const HELP = `Usage: signwatch dlq export [options]
       signwatch dlq replay [options] FILE|-

export   print every record of the dead-letter topic as NDJSON:
         {"reason", "source": {"topic","partition","offset","timestamp"}, "dlq": {"partition","offset"}, "key", "value"}
replay   validate corrected events (NDJSON wire events, or export records with a fixed "value") and produce
         the valid ones to the events topic, keyed by region; bad lines are reported with their line number

Options:
  --config FILE     the processor's config (brokers, TLS, SASL, topic names); default: local broker, dlq.v1/events.v1
  --brokers LIST    comma-separated host:port (overrides the config)
  --max N           export: stop after N records
  --timeout DUR     export: give up reading after this long (default 30s)
  --dry-run         replay: validate and count, produce nothing
  --check-config    print the effective configuration (secrets redacted) and exit
  -h, --help        show this help

Without a reachable broker (or with a wrong password or an untrusted CA) both say so in one line and exit 1
within the connection timeout (kafka.connectionTimeout, or --timeout when shorter).

Exit status: 0 done (bad lines reported and skipped), 1 Kafka or input failure, 2 bad usage or configuration.
`;

function config(v: { config?: string; brokers?: string }): Readonly<ProcessorConfig> {
  try {
    return loadProcessorConfig(v.config, { 'kafka.brokers': v.brokers?.split(',').map((s) => s.trim()).filter(Boolean), 'kafka.clientId': 'signwatch-dlq' });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`signwatch dlq: ${e.message}`);
    throw e;
  }
}

const header = (h: Record<string, unknown> | undefined, k: string): string | undefined => {
  const v = h?.[k];
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return typeof v === 'string' ? v : undefined;
};

async function exportDlq(cfg: Readonly<ProcessorConfig>, max: number, timeoutMs: number): Promise<number> {
  const log = createLogger({ name: 'signwatch-dlq', level: 'warn' });
  await connectKafka(cfg.kafka, log, { command: 'dlq export', timeoutMs: Math.min(timeoutMs, cfg.kafka.connectionTimeout) });
  const kafka = createKafka(cfg.kafka, log);
  const admin = kafka.admin();
  const topic = cfg.topics.dlq.name;
  await admin.connect();
  let ends: Map<number, number>;
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      process.stderr.write(`signwatch dlq: topic ${topic} does not exist: nothing was dead-lettered\n`);
      return 0;
    }
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const pending = new Set([...ends].filter(([p, high]) => high > 0 && p >= 0).map(([p]) => p));
  let written = 0;
  if (pending.size === 0) {
    process.stderr.write(`signwatch dlq: ${topic} is empty\n`);
    return 0;
  }
  const consumer = kafka.consumer({ groupId: `signwatch-dlq-export-${process.pid}-${Date.now()}`, readUncommitted: false, maxWaitTimeInMs: 200 });
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));
  const timer = setTimeout(finish, timeoutMs);
  // The end is the offsets read at start. A transactional topic (the processor writes the DLQ in transactions) ends
  // with commit markers, which eachMessage never sees: the batch events carry the last offset read, markers
  // (and aborted records) included, so a partition is done when a batch reaches its end offset.
  const reached = (partition: number, lastOffset: string) => {
    if (pending.has(partition) && Number(lastOffset) + 1 >= (ends.get(partition) ?? 0)) pending.delete(partition);
    if (pending.size === 0) finish();
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => reached(payload.partition, payload.lastOffset));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const offset = Number(message.offset);
        if (!pending.has(partition) || written >= max) return;
        const h = message.headers as Record<string, unknown> | undefined;
        const rec = {
          reason: header(h, DLQ_HEADERS.reason) ?? null,
          source: {
            topic: header(h, DLQ_HEADERS.topic) ?? null,
            partition: header(h, DLQ_HEADERS.partition) !== undefined ? Number(header(h, DLQ_HEADERS.partition)) : null,
            offset: header(h, DLQ_HEADERS.offset) !== undefined ? Number(header(h, DLQ_HEADERS.offset)) : null,
            timestamp: header(h, DLQ_HEADERS.timestamp) ?? null,
          },
          dlq: { partition, offset },
          key: message.key?.toString('utf8') ?? null,
          value: message.value?.toString('utf8') ?? null,
        };
        process.stdout.write(`${JSON.stringify(rec)}\n`);
        written++;
        if (offset + 1 >= (ends.get(partition) ?? 0)) pending.delete(partition);
        if (pending.size === 0 || written >= max) finish();
        await Promise.resolve();
      },
    });
    await done;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    log.flush();
  }
  process.stderr.write(`signwatch dlq: exported ${written} dead letter${written === 1 ? '' : 's'} from ${topic}${pending.size && written < max ? ' (timed out before the end)' : ''}\n`);
  return 0;
}

/** The event text of one replay line: a wire event, or an export record whose `value` holds it. */
function eventText(line: string): string {
  if (!line.includes('"value"')) return line;
  try {
    const o = JSON.parse(line) as { value?: unknown; reason?: unknown; dlq?: unknown };
    if (typeof o.value === 'string' && o.dlq !== undefined) return o.value;
  } catch {
    /* not JSON: parseEvent reports it */
  }
  return line;
}

async function replayDlq(cfg: Readonly<ProcessorConfig>, input: Readable, name: string, dryRun: boolean): Promise<number> {
  const log = createLogger({ name: 'signwatch-dlq', level: 'warn' });
  if (!dryRun) await connectKafka(cfg.kafka, log, { command: 'dlq replay' });
  const kafka = dryRun ? undefined : createKafka(cfg.kafka, log);
  const producer = kafka?.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer?.connect();
  const topic = cfg.topics.events.name;
  let read = 0;
  let bad = 0;
  let sent = 0;
  let batch: { key: string; value: string }[] = [];
  const pendingSends: Promise<unknown>[] = [];
  const flush = () => {
    if (!producer || batch.length === 0) return;
    const messages = batch;
    batch = [];
    sent += messages.length;
    pendingSends.push(producer.send({ topic, acks: -1, messages }));
  };
  try {
    await forEachLine(input, (line, lineNo) => {
      if (line.trim() === '') return;
      read++;
      const text = eventText(line);
      const r = parseEventFast(text, cfg.maxEventBytes);
      if (!r.ok) {
        bad++;
        process.stderr.write(`${name}:${lineNo}: skipped: ${r.reason}\n`);
        return;
      }
      batch.push({ key: r.event.region, value: text });
      if (batch.length >= 500) flush();
    }, {
      onTooLong: (lineNo, n) => {
        read++;
        bad++;
        process.stderr.write(`${name}:${lineNo}: skipped: ${tooLongReason(n, DEFAULT_MAX_LINE_BYTES)}\n`);
      },
    });
    flush();
    await Promise.all(pendingSends);
  } catch (e) {
    throw new CodedError('SW_DLQ_REPLAY', `signwatch dlq replay: ${(e as Error).message}`);
  } finally {
    await producer?.disconnect().catch(() => undefined);
    log.flush();
  }
  process.stderr.write(`signwatch dlq replay: read ${read}, invalid ${bad}, ${dryRun ? `valid ${read - bad} (dry run, nothing sent)` : `sent ${sent} to ${topic}`}\n`);
  return 0;
}

export const run: CommandModule['run'] = async (argv) => {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'export' && sub !== 'replay') throw new UsageError(`signwatch dlq: unknown subcommand '${sub}' (export or replay)\nTry 'signwatch dlq --help'.`);
  const a = parseCommandArgs(
    `dlq ${sub}`,
    rest,
    { config: { type: 'string' }, brokers: { type: 'string' }, max: { type: 'string' }, timeout: { type: 'string' }, 'dry-run': { type: 'boolean' }, 'check-config': { type: 'boolean' } },
    HELP,
    sub === 'replay',
  );
  if (!a) return 0;
  const v = a.values;
  const cfg = config(v);
  if (v['check-config']) {
    process.stdout.write(effectiveConfigText(cfg));
    return 0;
  }
  if (sub === 'export') {
    const max = v.max === undefined ? Infinity : Number(v.max);
    if (!(max > 0) || (Number.isFinite(max) && !Number.isInteger(max))) throw new UsageError(`signwatch dlq export: --max must be a positive integer, got "${v.max}"`);
    const { parseDuration } = await import('../platform/duration.js');
    const timeout = v.timeout === undefined ? 30_000 : parseDuration(v.timeout);
    if (timeout === undefined || timeout <= 0) throw new UsageError(`signwatch dlq export: --timeout must be a duration like 30s, got "${v.timeout}"`);
    try {
      return await exportDlq(cfg, max, timeout);
    } catch (e) {
      if (e instanceof UsageError || e instanceof KafkaError) throw e;
      throw new CodedError('SW_DLQ_EXPORT', `signwatch dlq export: ${(e as Error).message}`);
    }
  }
  if (a.positionals.length !== 1) throw new UsageError(`signwatch dlq replay: expected exactly one input (FILE or -), got ${a.positionals.length}`);
  const file = a.positionals[0]!;
  let input: Readable = process.stdin;
  if (file !== '-') {
    input = createReadStream(file);
    await new Promise<void>((resolve, reject) => {
      input.once('open', () => resolve());
      input.once('error', (e) => reject(new CodedError('SW_INPUT_UNREADABLE', `signwatch dlq replay: cannot read ${file}: ${e.message}`)));
    });
  }
  return replayDlq(cfg, input, file === '-' ? 'stdin' : file, v['dry-run'] === true);
};
