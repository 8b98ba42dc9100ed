// One trace from the failing codesign call to the page it caused (issue 20): three `agent exec -- codesign` calls
// (fake codesign replaying the recorded errSecInternalComponent capture), each inside its own CI job's trace
// (TRACEPARENT), then `agent run --once` ships the spool to Kafka, the real processor (child process) fires
// codesign_keychain_failures, the real `alerts notify` (child process) pages the fake PagerDuty. Every process
// exports to a local OTLP/HTTP receiver, which decodes the OTLP JSON payloads; the test follows the page's trace
// from the PagerDuty POST back to the CI job's span through parent ids, and checks the links and the evidence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startFakePagerDuty } from '../../../services/alerting/fake-pagerduty.js';
import { startProcessorProcess } from '../../harness/processor-proc.js';
import { startOtlpReceiver, type ReceivedSpan } from '../../harness/otlp-receiver.js';
import { cli as agentCli, sandbox } from '../../unit/agent/helpers.js';
import { stopChild as stop } from '../../harness/child.js';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));
const BROKERS = process.env.SIGNWATCH_KAFKA_BROKERS ?? '127.0.0.1:9092';
const ROUTING_KEY = 'R0UTINGKEY00000000000000000000AA';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

void test('agent exec of a failing codesign → spool → daemon → Kafka → processor → notifier → PagerDuty POST is one trace', { timeout: 180_000 }, async () => {
  const otlp = await startOtlpReceiver();
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_METRIC_EXPORT_INTERVAL: '600000' };
  const pd = await startFakePagerDuty();
  const dir = mkdtempSync(join(tmpdir(), 'sw-trace-e2e-'));
  const sb = sandbox();
  const procs: ChildProcess[] = [];
  let proc: Awaited<ReturnType<typeof startProcessorProcess>> | undefined;
  try {
    proc = await startProcessorProcess({ brokers: BROKERS.split(','), clock: 'event', env: otel });
    const notifier = spawn(
      process.execPath,
      [MAIN, 'alerts', 'notify', '--metrics-port', '0', '--brokers', BROKERS, '--topic', proc.topics.alerts, '--group', `${proc.topics.alerts}-n`, '--outbox', join(dir, 'outbox.sqlite'), '--pagerduty-url', pd.eventsUrl],
      { env: { ...process.env, ...otel, SIGNWATCH_PD_ROUTING_KEY: ROUTING_KEY }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    procs.push(notifier);
    let notifierOut = '';
    notifier.stderr?.on('data', (c: Buffer) => (notifierOut = (notifierOut + c.toString()).slice(-5000)));

    writeFileSync(sb.config, JSON.stringify({ region: 'SG', host: 'mini-sg-07', dataDir: sb.dataDir, kafka: { brokers: BROKERS.split(','), topic: proc.topics.events }, intervals: { shipMs: 100, heartbeatSec: 3600, scanSec: 3600, clockSec: 3600 } }));
    // three CI jobs, each with its own trace: the third failure in the hour pages
    const ci = [0, 1, 2].map(() => ({ traceId: hex(16), spanId: hex(8) }));
    for (const job of ci) {
      const r = agentCli(['agent', 'exec', '--', 'codesign', '-s', 'X', 'a.app'], { ...sb.env, FAKE_CODESIGN: 'codesign-errSecInternalComponent__replacing-existing', TRACEPARENT: `00-${job.traceId}-${job.spanId}-01` });
      assert.notEqual(r.status, 0, `the wrapped codesign fails: ${r.stderr.toString()}`);
    }
    const shipped = agentCli(['agent', 'run', '--once'], { ...sb.env, ...otel });
    assert.equal(shipped.status, 0, `agent run --once shipped the spool: ${shipped.stderr.toString()}${shipped.stdout.toString().slice(-2000)}`);

    const dedupKey = 'signwatch/codesign_keychain_failures/region=SG';
    const trigger = () => pd.events.find((e) => e.body.dedup_key === dedupKey && e.body.event_action === 'trigger');
    await pd.waitFor(() => trigger() !== undefined, 60_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\nprocessor: ${proc?.log().slice(-2000)}\nnotifier: ${notifierOut}`);
    });
    const details = (trigger()!.body.payload as { custom_details: { trace_ids: string[]; traceparent: string } }).custom_details;
    // the evidence: the three calls' traces
    assert.deepEqual([...details.trace_ids].sort(), ci.map((c) => c.traceId).sort(), 'custom_details.trace_ids names the trace of every failure behind the page');
    const [, traceId, transitionSpanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(details.traceparent) ?? [];
    assert.equal(traceId, ci[2]!.traceId, 'the page is in the trace of the call that crossed the threshold');
    const post = pd.requests.find((r) => (r.body as { dedup_key?: string } | undefined)?.dedup_key === dedupKey && (r.body as { event_action?: string }).event_action === 'trigger');
    const postParent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(post?.headers.traceparent ?? ''));
    assert.ok(postParent, `the PagerDuty POST carries a traceparent header (got ${String(post?.headers.traceparent)})`);
    assert.equal(postParent[1], traceId);

    // every hop's span reaches the receiver
    const inTrace = (s: readonly ReceivedSpan[]) => s.filter((x) => x.traceId === traceId);
    await otlp.waitFor((s) => ['agent.exec codesign', 'agent.spool', 'agent.ship', 'processor.transition', 'notifier.pagerduty'].every((n) => inTrace(s).some((x) => x.name === n)), 60_000, 'the spans of the page trace');
    await otlp.waitFor((s) => s.some((x) => x.name === 'processor.batch' && x.links.some((l) => l.traceId === traceId)), 60_000, 'the batch span');
    const byId = new Map(inTrace(otlp.spans).map((s) => [s.spanId, s]));

    // follow the parents from the span that POSTed the page back to the CI job
    const chain: ReceivedSpan[] = [];
    let cur = byId.get(postParent[2]!);
    while (cur) {
      chain.push(cur);
      cur = byId.get(cur.parentSpanId);
    }
    assert.deepEqual(
      chain.map((s) => `${s.service}:${s.name}`),
      ['signwatch-notifier:notifier.pagerduty', 'signwatch-processor:processor.transition', 'signwatch-agent:agent.ship', 'signwatch-agent:agent.exec codesign'],
      'PagerDuty POST ← notifier ← processor transition ← agent ship ← agent exec',
    );
    const exec = chain[3]!;
    assert.equal(exec.parentSpanId, ci[2]!.spanId, "the exec span is a child of the CI job's span (TRACEPARENT)");
    assert.equal(chain[1]!.spanId, transitionSpanId, 'custom_details.traceparent names the transition span');
    assert.equal(exec.attributes['signwatch.outcome'], 'fail');
    assert.equal(exec.resource['cloud.region'], 'SG');
    assert.equal(exec.resource['host.name'], 'mini-sg-07');
    const spool = inTrace(otlp.spans).find((s) => s.name === 'agent.spool')!;
    assert.equal(spool.parentSpanId, exec.spanId, 'the spool span is a child of the exec span');

    // the processor's batch span links every contributing event (the three ship spans), and the transition links it
    const ships = otlp.spans.filter((s) => s.name === 'agent.ship' && ci.some((c) => c.traceId === s.traceId));
    assert.equal(ships.length, 3);
    const batches = otlp.spans.filter((s) => s.name === 'processor.batch');
    for (const sh of ships) assert.ok(batches.some((b) => b.links.some((l) => l.traceId === sh.traceId && l.spanId === sh.spanId)), `a batch span links the ship span of trace ${sh.traceId}`);
    const batchIds = new Set(batches.map((b) => b.spanId));
    assert.ok(chain[1]!.links.some((l) => batchIds.has(l.spanId)), 'the transition span links its batch span');
    assert.deepEqual([...(chain[1]!.attributes['signwatch.trace_ids'] as string[])].sort(), ci.map((c) => c.traceId).sort());
  } finally {
    for (const p of procs) await stop(p);
    await proc?.stop();
    await pd.close();
    await otlp.close();
    sb.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
