/**
 * `signwatch demo`: the whole pipeline on one machine, started, played and stopped by one command.
 *
 *   Kafka (scripts/kafka.sh, or KAFKA_BROKERS) ── fresh topics `signwatch-demo-<run>.{events,alerts,hourly,dlq,fleet}.v1`
 *   fleet (fleet.ts: HK agents through the real agent code + seeded background) → events topic
 *   processor (createProcessor, in-process, clock: event) → alerts / hourly / dlq topics, /metrics
 *   store writer (store-writer.ts) → SQLite event store (insertBatch) → `signwatch query`
 *   alert topic → notifier (durable outbox) → local PagerDuty Events API v2 server (+ ticket webhook)
 *                └→ release gate (GET /v1/release-gate) fed by the same transitions
 *                └→ console (services/console: Fleet and Gate pages, loopback, no token book) fed by them too, its
 *                   tiles' figures read from the processor's engine snapshots in this process
 *
 * Everything the demo starts is recorded in a stack and stopped in reverse order by shutdown() (Ctrl-C, the end
 * of --once, or a failure): the fleet, agents' Kafka sink, processor, store writer, notifier bridge, gate server,
 * fake PagerDuty, the run's topics and consumer groups, and the broker only when the demo started it.
 */
import { connectKafka, createKafka } from '../platform/kafka.js';
import { describeConnection, parseKafkaConnection, type KafkaConnectionSettings } from '../platform/kafka-connection.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProcessorConfig } from '../processor/config.js';
import { componentLogger, createLogger, type Logger } from '../platform/logger.js';
import { loadPolicyFile } from '../engine/policy.js';
import { createProcessor } from '../processor/processor.js';
import { openStore } from '../query/open-store.js';
import { startFakePagerDuty, type FakePagerDuty } from '../alerting/fake-pagerduty.js';
import { createNotifier } from '../alerting/notifier.js';
import { PagerDutyChannel, TicketWebhookChannel } from '../alerting/channels.js';
import { alertTopicNotifier } from '../alerting/alert-topic-notifier.js';
import { ReleaseGate } from '../alerting/release-gate.js';
import { escapeControl } from '../platform/text.js';
import { startGateServer } from '../alerting/gate-server.js';
import { KafkaTarget } from '../agent/spool/ship-targets.js';
import type { Transition } from '../engine/types.js';
import { REGIONS } from '../../schemas/events.js';
import { ensureBroker, type Broker } from './broker.js';
import { createStoreWriter } from '../query/store-writer.js';
import { DemoAgentHost } from './agent-host.js';
import { createFleet, DEFAULTS } from './fleet.js';
import { DemoView, countPagerDuty } from './view.js';
import { ConsoleState } from '../console/state.js';
import { startConsole } from '../console/server.js';
import { FiguresPoller, snapshotSource } from '../console/figures.js';
import { createTelemetry } from '../platform/telemetry.js';


export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The demo's PagerDuty routing key (32 characters, as the Events API requires); the local server accepts it. */
const DEMO_ROUTING_KEY = 'signwatchdemo0000000000000000000';

export interface DemoOptions {
  once: boolean;
  /** Simulated ms per wall ms (180: one simulated hour every 20 s). */
  speed: number;
  seed: number;
  /** Background events per simulated second. */
  rate: number;
  /** Working directory of the runs (store, outbox, agent spools, logs); each run gets <dir>/<run id>. */
  dir: string;
  policy?: string;
  metricsPort: number;
  /** Write a JSON report of the run here (ports, pids, checks). */
  report?: string;
  /**
   * With --once: fail when the first page takes longer than this (wall ms from the start of the command) when the
   * Kafka jars were cached, or than firstPageLimitColdMs when the demo had to download them first.
   */
  firstPageLimitMs: number;
  firstPageLimitColdMs: number;
  out: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /**
   * An existing cluster's connection block (`signwatch demo --config FILE`, TLS/SASL included): used as it is,
   * never started or stopped. Without it: KAFKA_BROKERS, else the local broker of scripts/kafka.sh.
   */
  kafka?: KafkaConnectionSettings;
}

export interface DemoChecks {
  page: boolean;
  pageResolved: boolean;
  freeze: boolean;
  unfrozen: boolean;
  warning: boolean;
  warningResolved: boolean;
  ticket: boolean;
  firstPageInTime: boolean;
}

export interface DemoReport {
  runId: string;
  ok: boolean;
  interrupted: boolean;
  broker: { brokers: string[]; origin: Broker['origin']; jarsCached: boolean };
  topics: Record<'events' | 'alerts' | 'hourly' | 'dlq' | 'fleet', string>;
  urls: { metrics: string; pagerduty: string; gate: string; console: string };
  ports: number[];
  store: string;
  runDir: string;
  marker: { env: string; value: string };
  simulated: { start: string; end: string; speed: number };
  firstPageMs: number | null;
  firstPageLimitMs: number;
  checks: DemoChecks;
  pagerduty: { triggers: string[]; resolves: string[]; tickets: string[] };
  stored: number;
  agent: { calls: number; failures: number; shipped: number };
  error?: string;
}

const HK_PAGE = 'signwatch/codesign_keychain_failures/region=HK';
const SG_WARN = 'signwatch/unlock_latency_p95/region=SG';

export async function runDemo(o: DemoOptions): Promise<number> {
  const t0 = Date.now();
  const runId = `${new Date(t0).toISOString().slice(0, 19).replace(/[-:T]/g, '').slice(2)}-${randomBytes(3).toString('hex')}`;
  const runDir = resolve(o.dir, runId);
  mkdirSync(runDir, { recursive: true });
  const marker = { env: 'SIGNWATCH_DEMO_RUN', value: runId };
  const childEnv: NodeJS.ProcessEnv = { ...o.env, [marker.env]: marker.value };
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  const say = (s: string) => o.out.write(`${s}\n`);
  const log: Logger = createLogger({ name: 'signwatch-demo', level: 'info', file: join(runDir, 'demo.log') });

  // ---- lifecycle: every started thing registers its stop; shutdown() runs them in reverse order, once
  const stops: { name: string; stop: () => Promise<unknown> }[] = [];
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (shuttingDown ??= (async () => {
      for (const s of stops.reverse()) {
        await Promise.race([s.stop().catch((e: unknown) => log.warn({ err: e, component: s.name }, 'stop failed')), new Promise((r) => setTimeout(r, 20_000).unref())]);
      }
      log.flush();
    })());

  let interrupted = false;
  let wake: () => void = () => {};
  const interruptedP = new Promise<void>((r) => (wake = r));
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) {
      o.out.write(`\n${sig} again: exiting without cleaning up (run 'bash scripts/kafka.sh status' to check the broker)\n`);
      process.exit(130);
    }
    interrupted = true;
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal); // the terminal went away: clean up all the same
  const ignoreEpipe = () => {}; // writing to a closed terminal must not crash the clean-up
  o.out.on('error', ignoreEpipe);

  const topics = {
    events: `signwatch-demo-${runId}.events.v1`,
    alerts: `signwatch-demo-${runId}.alerts.v1`,
    hourly: `signwatch-demo-${runId}.hourly.v1`,
    dlq: `signwatch-demo-${runId}.dlq.v1`,
    fleet: `signwatch-demo-${runId}.fleet.v1`,
  };
  const groups = { processor: `signwatch-demo-${runId}-processor`, fleet: `signwatch-demo-${runId}-processor.fleet`, store: `signwatch-demo-${runId}-store`, notifier: `signwatch-demo-${runId}-notifier` };
  const storePath = join(runDir, 'events.db');
  const storeSpec = `sqlite:${storePath}`;
  const checks: DemoChecks = { page: false, pageResolved: false, freeze: false, unfrozen: false, warning: false, warningResolved: false, ticket: false, firstPageInTime: false };
  let firstPageMs: number | null = null;
  let firstPageLimit = o.firstPageLimitMs;
  let broker: Broker | undefined;
  let pd: FakePagerDuty | undefined;
  const urls = { metrics: '', pagerduty: '', gate: '', console: '' };
  const ports: number[] = [];
  const agents: DemoAgentHost[] = [];
  let stored = 0;
  let view: DemoView | undefined;
  const simStart = Math.floor((t0 - DEFAULTS.duration) / 60_000) * 60_000;
  const simEnd = simStart + DEFAULTS.duration;
  let error: string | undefined;
  const agentFails = new Map<string, number>();
  /** A path as the user should type it: relative to the current directory when inside it. */
  const show = (p: string) => {
    const rel = relative(process.cwd(), p);
    return rel === '' ? '.' : rel.startsWith('..') ? p : rel;
  };

  const report = (): DemoReport => {
    const events = pd?.events ?? [];
    const keys = (action: string) => [...new Set(events.filter((e) => e.body.event_action === action).map((e) => String(e.body.dedup_key)))];
    return {
      runId,
      ok: !interrupted && error === undefined && Object.values(checks).every(Boolean),
      interrupted,
      broker: { brokers: broker?.brokers ?? [], origin: broker?.origin ?? 'env', jarsCached: broker?.jarsCached ?? false },
      topics,
      urls,
      ports,
      store: storeSpec,
      runDir,
      marker,
      simulated: { start: new Date(simStart).toISOString(), end: new Date(simEnd).toISOString(), speed: o.speed },
      firstPageMs,
      firstPageLimitMs: firstPageLimit,
      checks,
      pagerduty: { triggers: keys('trigger'), resolves: keys('resolve'), tickets: (pd?.webhooks('/ticket') ?? []).map((r) => `${(r.body as { action?: string }).action}:${(r.body as { key?: string }).key}`) },
      stored,
      agent: agents.reduce((a, h) => ({ calls: a.calls + h.stats.calls, failures: a.failures + h.stats.failures, shipped: a.shipped + h.stats.shipped }), { calls: 0, failures: 0, shipped: 0 }),
      ...(error !== undefined ? { error } : {}),
    };
  };

  const hoursPerMinute = (o.speed * 60_000) / 3_600_000;
  say(`signwatch demo · run ${runId} · working directory ${show(runDir)}`);
  try {
    // ---- Kafka
    if (o.kafka) {
      say(`Kafka: using ${describeConnection(o.kafka)} from --config (not started or stopped by the demo)`);
      broker = { brokers: [...o.kafka.brokers], origin: 'env', jarsCached: true, stop: () => Promise.resolve() };
    } else broker = await ensureBroker(ROOT, childEnv, say);
    const b = broker;
    // the one connection block of every component of the demo
    const conn: KafkaConnectionSettings = o.kafka ?? parseKafkaConnection({ brokers: b.brokers }, 'signwatch-demo');
    await connectKafka(conn, log, { command: 'demo' });
    stops.push({ name: 'kafka', stop: () => b.stop() });
    if (interrupted) throw new Error('interrupted');
    if (b.origin === 'started' && !b.jarsCached) firstPageLimit = o.firstPageLimitColdMs;

    // ---- processor (in-process, event-time clock), with fresh topics
    const policy = loadPolicyFile(o.policy);
    const config = parseProcessorConfig(
      {
        kafka: { ...conn, brokers: [...conn.brokers], clientId: 'signwatch-demo' },
        topics: { events: { name: topics.events, partitions: 5 }, alerts: { name: topics.alerts }, hourly: { name: topics.hourly }, dlq: { name: topics.dlq }, fleet: { name: topics.fleet }, retention: 86_400_000 },
        groupId: groups.processor,
        clock: 'event',
        metrics: { port: o.metricsPort },
        log: { level: 'info' },
      },
      'demo processor config',
    );
    const processor = createProcessor(config, policy, componentLogger(log, 'processor'));
    stops.push({ name: 'processor', stop: () => processor.stop() });
    // Kafka/admin housekeeping last: delete the run's topics and groups (registered first → runs after the others)
    stops.splice(1, 0, { name: 'topics', stop: () => deleteRunData(conn, [...Object.values(topics), `${groups.processor}.state`, `${groups.processor}.fleet.state`], Object.values(groups), log) });
    say(`Processor: starting in-process (consumer group ${groups.processor}, clock: event) …`);
    await processor.start();
    urls.metrics = `http://127.0.0.1:${processor.metricsPort}/metrics`;
    ports.push(processor.metricsPort);

    // ---- event store + its writer
    const store = await openStore(storeSpec);
    stops.push({ name: 'store', stop: () => store.close() });

    // ---- local PagerDuty, notifier bridge, release gate
    pd = await startFakePagerDuty({ port: 0 });
    const fakePd = pd;
    stops.push({ name: 'pagerduty', stop: () => fakePd.close() });
    urls.pagerduty = fakePd.url;
    ports.push(Number(new URL(fakePd.url).port));
    const gate = new ReleaseGate(policy, {
      logger: componentLogger(log, 'gate'),
      onChange: (s) => {
        view?.setFrozen(s.region, s.frozen);
        if (s.region === 'HK' && s.frozen) checks.freeze = true;
        if (s.region === 'HK' && !s.frozen && checks.freeze) checks.unfrozen = true;
        view?.note(s.frozen ? `FREEZE    ${s.region} releases frozen: 'signwatch gate check --region ${s.region}' exits 1` : `UNFREEZE  ${s.region} releases open again`);
      },
    });
    const gateServer = await startGateServer(gate, { port: 0 });
    stops.push({ name: 'gate', stop: () => gateServer.stop() });
    urls.gate = gateServer.url;
    ports.push(Number(new URL(gateServer.url).port));
    // the console beside the pipeline: loopback without a token book (everyone is "local"; overrides stay with
    // signwatch gate override), the Gate page asking this gate, the tiles' figures from the processor's engines
    const consoleState = new ConsoleState(policy);
    const consoleTelemetry = createTelemetry({ serviceName: 'signwatch-console', host: '127.0.0.1', port: 0, serve: false });
    const consoleServer = await startConsole({ state: consoleState, telemetry: consoleTelemetry, logger: componentLogger(log, 'console'), host: '127.0.0.1', port: 0, gateUrl: gateServer.url });
    stops.push({ name: 'console', stop: () => consoleServer.stop().then(() => consoleTelemetry.stop()) });
    urls.console = `${consoleServer.url}/`;
    ports.push(Number(new URL(consoleServer.url).port));
    const figures = new FiguresPoller({ source: snapshotSource(() => processor.snapshots()), policy, onFigures: (f, e) => consoleState.setFigures(f, e), intervalMs: 2000 });
    stops.push({ name: 'console-figures', stop: () => figures.stop() });
    await figures.start();
    const notifierLog = componentLogger(log, 'notifier');
    const notifier = createNotifier(
      { outboxPath: join(runDir, 'outbox.sqlite'), retry: { baseMs: 200, maxMs: 2000 } },
      {
        policy,
        logger: notifierLog,
        // deliveries and retries appear on the processor's /metrics (the pipeline dashboard's PagerDuty panels)
        meter: processor.telemetry.meter,
        channels: { pagerduty: new PagerDutyChannel(DEMO_ROUTING_KEY, fakePd.eventsUrl), ticket: new TicketWebhookChannel(`${fakePd.url}/ticket`) },
      },
    );
    const onTransition = (t: Transition) => {
      consoleState.apply(t);
      gate.apply(t);
      view?.onTransition(t);
      if (t.state === 'firing' || t.alert !== 'cert_expiry') view?.note(`${t.state === 'firing' ? 'ALERT   ' : 'RESOLVED'}  ${escapeControl(t.summary)}`);
    };
    const bridge = alertTopicNotifier({ kafka: conn, topic: topics.alerts, groupId: groups.notifier, notifier, logger: notifierLog, onTransition });
    stops.push({ name: 'notifier', stop: () => bridge.stop() });
    await bridge.start();
    fakePd.onEvent = (body) => {
      const key = String(body.dedup_key);
      const action = String(body.event_action);
      const sev = (body.payload as { severity?: string } | undefined)?.severity;
      // a page is a critical trigger; the SG latency warning also goes to PagerDuty but is counted as a warning
      if (view) countPagerDuty(view.counters, action, sev);
      if (action === 'trigger') {
        if (key === HK_PAGE && firstPageMs === null) {
          firstPageMs = Date.now() - t0;
          checks.firstPageInTime = firstPageMs <= firstPageLimit;
        }
        if (key === HK_PAGE) checks.page = true;
        if (key === SG_WARN) checks.warning = true;
      } else if (action === 'resolve') {
        if (key === HK_PAGE && checks.page) checks.pageResolved = true;
        if (key === SG_WARN && checks.warning) checks.warningResolved = true;
      }
      view?.note(`PAGERDUTY ${action}${sev ? ` (${sev})` : ''} ${key}${key === HK_PAGE && action === 'trigger' && firstPageMs !== null ? `  — ${(firstPageMs / 1000).toFixed(1)} s after 'signwatch demo' started` : ''}`);
    };

    // ---- the fleet: HK agents through the real agent code, and background traffic
    const sink = new KafkaTarget({ kafka: { ...conn, clientId: 'signwatch-demo-agent' }, topic: topics.events, log: log.child({ component: 'agent' }), sendTimeoutMs: 30_000 });
    stops.push({ name: 'agent-sink', stop: () => sink.close() });
    for (let i = 1; i <= 2; i++) {
      const host = `mini-hk-${String(i).padStart(2, '0')}`;
      agents.push(new DemoAgentHost({ host, region: 'HK', dataDir: join(runDir, 'agents', host), fakeBin: join(ROOT, 'services', 'demo', 'fake-macos', 'bin'), sink, identity: i === 1 ? '3F1A9C2D4E5B6A7988123C4D5E6F708192A3B4C5' : '7E2B8D1C3F4A5B6C7D8E9F0A1B2C3D4E5F607182', env: childEnv }));
    }
    const header = [
      `signwatch demo · run ${runId} · Kafka ${b.brokers.join(',')} (${b.origin === 'started' ? 'started by the demo' : b.origin === 'env' ? 'KAFKA_BROKERS' : 'already running'})`,
      `Event time is compressed ×${o.speed}: 1 simulated hour every ${(3600 / o.speed).toFixed(0)} s of wall time (${hoursPerMinute.toFixed(1)} h per minute); the processor runs with clock: event.`,
      `Script (demoIncidents): +1h HK keychain locks on mini-hk-01/02 (real agent code, fake codesign → errSecInternalComponent) · +0h30 US certificate 18 days from expiry · +2h SG vault slow (unlock p95).`,
      `metrics ${urls.metrics} · PagerDuty (local) ${fakePd.eventsUrl} · release gate ${gateServer.url}/v1/release-gate · ${o.once ? 'runs to the end (--once)' : 'Ctrl-C stops everything'}`,
      `console ${urls.console} (open it in a browser: the Fleet and Gate pages, live)`,
    ];
    const v = new DemoView(o.out, !o.once && o.out.isTTY === true, header, simStart);
    view = v;
    const writer = createStoreWriter({
      kafka: config.kafka,
      topic: topics.events,
      groupId: groups.store,
      store,
      log: componentLogger(log, 'store-writer'),
      maxFutureSkew: policy.maxFutureSkew,
      onEvent: (e) => {
        stored++;
        v.onEvent(e);
      },
    });
    stops.push({ name: 'store-writer', stop: () => writer.stop() });
    await writer.start();

    const fleet = createFleet({
      kafka: conn,
      log: log.child({ component: 'fleet' }),
      topic: topics.events,
      clientId: 'signwatch-demo-fleet',
      seed: o.seed,
      start: simStart,
      duration: DEFAULTS.duration,
      prelude: DEFAULTS.prelude,
      speed: o.speed,
      rate: o.rate,
      tickMs: 100,
      agents,
      callEvery: DEFAULTS.callEvery,
      onProgress: (p) => v.progress({ simNow: p.simNow, background: p.background, agentCalls: p.agentCalls, agentFailures: p.agentFailures, stored }),
      onAgentEvent: (host, ev) => {
        const err = ev.error as { code?: string; class?: string } | undefined;
        if (err?.class !== 'keychain') return;
        const n = (agentFails.get(host) ?? 0) + 1;
        agentFails.set(host, n);
        // the first failures one by one, then every tenth (the table shows the running count)
        if (n <= 2 || n % 10 === 0) v.note(`AGENT     ${host}: codesign failed ${err.code} (class ${err.class}; ${n} so far) → agent spool → Kafka`);
      },
    });
    stops.push({ name: 'fleet', stop: () => fleet.stop() });
    v.start();
    stops.push({ name: 'view', stop: () => Promise.resolve(v.stop()) });
    v.note(`START     fleet of 5 regions (${REGIONS.join(', ')}); the first ${DEFAULTS.prelude / 60_000} simulated minutes are sent at once`);
    fleet.start();

    // ---- play until the script is over (and its alerts resolved) or Ctrl-C
    const ticker = setInterval(() => v.progress({ stored, tickets: fakePd.webhooks('/ticket').length }), 250);
    stops.push({ name: 'ticker', stop: () => Promise.resolve(clearInterval(ticker)) });
    let ticketsSeen = 0;
    const ticketWatch = setInterval(() => {
      const w = fakePd.webhooks('/ticket');
      for (const r of w.slice(ticketsSeen)) {
        const body = r.body as { action?: string; key?: string; title?: string };
        if (body.action === 'open') checks.ticket = true;
        v.note(`TICKET    ${body.action ?? '?'} ${body.title ?? body.key ?? ''}`);
      }
      ticketsSeen = w.length;
    }, 200);
    stops.push({ name: 'ticket-watch', stop: () => Promise.resolve(clearInterval(ticketWatch)) });

    await Promise.race([fleet.done, interruptedP]);
    if (!interrupted) {
      // the events are all sent: let the pipeline finish (store, alert topic, notifier) — bounded
      const deadline = Date.now() + 20_000;
      const settled = async () => checks.pageResolved && checks.warningResolved && checks.ticket && checks.unfrozen && (await notifier.drain(200));
      while (!interrupted && Date.now() < deadline && !(await settled())) await new Promise((r) => setTimeout(r, 200));
      v.progress({ stored, tickets: fakePd.webhooks('/ticket').length });
      writeFileSync(join(runDir, 'pagerduty.json'), `${JSON.stringify({ events: fakePd.events, webhooks: fakePd.webhooks() }, null, 2)}\n`);
      const q = (args: string) => `./bin/signwatch query --store sqlite:${show(storePath)} ${args}`;
      const since = new Date(simStart).toISOString().slice(0, 16) + 'Z';
      const ok = Object.values(checks).every(Boolean);
      v.note(`END       scenario over: ${ok ? 'page, freeze, SG warning and cert ticket happened; page, freeze and warning resolved' : `checks: ${JSON.stringify(checks)}`}`);
      v.setFooter([
        'Where to look next:',
        `  metrics     curl -s ${urls.metrics} | grep '^signwatch_'${o.once ? '   (live while the demo runs)' : ''}`,
        `  gate        ./bin/signwatch gate check --region HK --url ${gateServer.url}${o.once ? '   (live while the demo runs)' : ''}`,
        `  console     ${urls.console}${o.once ? '   (live while the demo runs)' : ''}`,
        `  incident    ${q(`--region HK --error errSecInternalComponent --since ${since}`)}`,
        `  by hour     ${q(`--since ${since} --count-by hour,region --outcome fail`)}`,
        `  pages       ${show(join(runDir, 'pagerduty.json'))} (what the local PagerDuty received)`,
        `  dashboards  import dashboards/json/signwatch-region.json, signwatch-host.json and signwatch-pipeline.json in`,
        `              Grafana (Dashboards → New → Import), or provision dashboards/provisioning/ (README: Grafana)`,
        `  logs        ${show(join(runDir, 'demo.log'))} (processor, notifier, gate: JSON lines)`,
        o.once ? '' : '  The pipeline keeps running so you can try the commands above. Press Ctrl-C to stop everything.',
      ]);
      if (!o.once) await interruptedP;
    }
  } catch (e) {
    if (!interrupted) {
      error = (e as Error).message.replace(/^signwatch demo: /, '');
      log.error({ err: e }, 'demo failed');
    }
  } finally {
    view?.stop();
    if (interrupted) say('\nStopping everything the demo started …');
    await shutdown();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  const r = report();
  if (o.report) writeFileSync(o.report, `${JSON.stringify(r, null, 2)}\n`);
  if (error !== undefined) say(`signwatch demo: ${error}`);
  say(
    r.ok
      ? `signwatch demo: OK — first page after ${((firstPageMs ?? 0) / 1000).toFixed(1)} s; everything the demo started is stopped.`
      : interrupted
        ? 'signwatch demo: interrupted; everything the demo started is stopped.'
        : `signwatch demo: FAILED checks ${Object.entries(checks).filter(([, v]) => !v).map(([k]) => k).join(', ') || '(none)'}${firstPageMs !== null ? ` (first page after ${(firstPageMs / 1000).toFixed(1)} s)` : ''}; everything the demo started is stopped.`,
  );
  if (interrupted) return 130;
  return r.ok ? 0 : 1;
}

/** Delete the run's topics and consumer groups (best effort, bounded). */
async function deleteRunData(conn: KafkaConnectionSettings, topics: string[], groups: string[], log: Logger): Promise<void> {
  const admin = createKafka({ ...conn, clientId: 'signwatch-demo-admin' }, log, '', { retries: 2 }).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const mine = topics.filter((t) => existing.has(t));
    if (mine.length) await admin.deleteTopics({ topics: mine, timeout: 10_000 });
    await admin.deleteGroups(groups).catch(() => {});
  } catch (e) {
    log.warn({ err: e }, 'could not delete the demo topics');
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
