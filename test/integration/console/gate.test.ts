// The Gate page and the Fleet tiles' figures in a real headless Chromium (system /usr/bin/chromium via
// puppeteer-core) against the real broker (SIGNWATCH_INTEGRATION=1). A scripted incident runs through a real engine
// whose transitions go to a unique alert topic and whose gauges are served by the processor's own /metrics code
// (ProcessorMetrics); a real `gate serve` (ReleaseGate + its HTTP server, token book, audit file) follows the topic.
// The person logs in with the keyboard only, reads the tiles' figures (keychain failures against the threshold,
// unlock p95, soonest certificate, silent hosts), tabs to the Gate page, reaches every control with Tab, overrides
// HK with a reason and a TTL (a TTL over the maximum refused first): HK shows overridden, the audit row names the
// person from the gate's book, the audit file is 0600; a bad token is refused at login and at the API.
// Conditions are waited for with generous timeouts; nothing measures time.
// SIGNWATCH_CONSOLE_SCREENSHOT_DIR=docs/img saves console-fleet.png and console-gate.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { BROKERS, LAUNCH, skip } from './harness.js';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { testKafka } from '../../harness/kafka.js';
import { parseKafkaConnection } from '../../../services/platform/kafka-connection.js';
import { parseTokenBook, hashToken } from '../../../services/platform/tokens.js';
import { createTelemetry } from '../../../services/platform/telemetry.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { createEngine, MemorySink } from '../../../services/engine/engine.js';
import { ProcessorMetrics } from '../../../services/processor/metrics.js';
import { alertTopicReader } from '../../../services/alerting/alert-topic.js';
import { ReleaseGate } from '../../../services/alerting/release-gate.js';
import { startGateServer } from '../../../services/alerting/gate-server.js';
import { ConsoleState } from '../../../services/console/state.js';
import { startConsole } from '../../../services/console/server.js';
import { FiguresPoller, metricsSource } from '../../../services/console/figures.js';
import type { SignEvent } from '../../../schemas/events.js';
import { min, day, kcFail, unlock, cert, heartbeat } from '../../unit/engine/helpers.js';

const TOKEN = 'swt_console-gate-browser-test-token-0000000000';
const WAIT = { timeout: 90_000 };

const text = (page: Page, selector: string) => page.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);
const focused = (page: Page) => page.evaluate(() => (document.activeElement?.id || document.activeElement?.textContent || '').trim());

async function tabTo(page: Page, id: string): Promise<void> {
  for (let i = 0; i < 80; i++) {
    if ((await focused(page)) === id) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`Tab never reached ${id}`);
}

void test('Gate page and tile figures in headless Chromium: figures during a scripted incident, keyboard-only override through gate serve, audit row with the person, bad token refused', { skip, timeout: 300_000 }, async () => {
  const kafka = testKafka(BROKERS, 'sw-test-console-gate');
  const topic = `console-gate-alerts-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();

  const policy = defaultPolicy();
  // the pipeline: a real engine; its transitions go to the alert topic, its gauges to the processor's /metrics code
  const sink = new MemorySink();
  const engine = createEngine(policy, sink);
  const procTelemetry = createTelemetry({ serviceName: 'console-gate-processor', host: '127.0.0.1', port: 0, serve: true });
  new ProcessorMetrics(procTelemetry, policy, () => engine.snapshot());
  const procPort = await procTelemetry.start();
  let sent = 0;
  const play = async (events: SignEvent[]) => {
    for (const e of events) engine.offer(e);
    const fresh = sink.transitions.slice(sent);
    sent = sink.transitions.length;
    if (fresh.length) await producer.send({ topic, acks: -1, messages: fresh.map((t) => ({ key: t.dedupKey, value: JSON.stringify(t) })) });
  };

  // gate serve: its own token book and audit file, following the alert topic
  const dir = mkdtempSync(join(tmpdir(), 'console-gate-'));
  const auditFile = join(dir, 'audit', 'gate-audit.log');
  const book = () => parseTokenBook(`oncall ${hashToken(TOKEN)}\n`, 'test-book');
  const gate = new ReleaseGate(policy, { tokenBook: book(), auditFile });
  const conn = parseKafkaConnection({ brokers: BROKERS }, 'sw-test-console-gate');
  const gateReader = alertTopicReader({ kafka: conn, topic, logger: pino({ level: 'silent' }), onTransition: (t) => gate.apply(t) });
  const gateServer = await startGateServer(gate, { port: 0 });

  const state = new ConsoleState(policy);
  const telemetry = createTelemetry({ serviceName: 'console-gate-test', host: '127.0.0.1', port: 0, serve: false });
  const reader = alertTopicReader({ kafka: conn, topic, logger: pino({ level: 'silent' }), onTransition: (t) => state.apply(t) });
  const figures = new FiguresPoller({ source: metricsSource([`http://127.0.0.1:${procPort}/metrics`]), policy, onFigures: (f, e) => state.setFigures(f, e), intervalMs: 500 });
  const server = await startConsole({ state, telemetry, host: '127.0.0.1', port: 0, tokenBook: book(), gateUrl: gateServer.url });
  let browser: Browser | undefined;
  const pageErrors: string[] = [];
  try {
    await gateReader.start();
    await reader.start();
    await figures.start();
    browser = await puppeteer.launch(LAUNCH);

    // a bad token is refused at the login form (its own browser context: no cookie shared)
    const stranger = await browser.createBrowserContext();
    const sp = await stranger.newPage();
    await sp.goto(`${server.url}/`, { waitUntil: 'load' });
    await sp.waitForSelector('#login:not([hidden])', WAIT);
    await sp.keyboard.type('swt_not-a-token-of-anyone');
    await sp.keyboard.press('Enter');
    await sp.waitForFunction(() => (document.querySelector('#login-error')?.textContent ?? '').includes('not in the console'), WAIT);
    assert.equal(await sp.evaluate(() => document.querySelector('#gate')?.hasAttribute('hidden')), true, 'no Gate page without a login');
    const refused = await sp.evaluate(async () => {
      const r = await fetch('/api/gate/override', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer swt_not-a-token-of-anyone' }, body: JSON.stringify({ region: 'HK', reason: 'x', ttl: '1h' }) });
      return r.status;
    });
    assert.equal(refused, 401);
    await stranger.close();

    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    // a CSP violation or a failed script shows up as a console error; a refused request (the 400 of the long TTL,
    // the browser's own /favicon.ico) is checked by its URL instead
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 40[0134]/.test(m.text())) pageErrors.push(m.text());
    });
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (r.status() >= 400 && !(path === '/favicon.ico' || (path === '/api/gate/override' && r.status() === 400) || (path === '/api/me' && r.status() === 401))) pageErrors.push(`${r.status()} ${path}`);
    });
    await page.goto(`${server.url}/`, { waitUntil: 'load' });
    await page.waitForSelector('#login:not([hidden])', WAIT);
    assert.equal(await focused(page), 'token');
    await page.keyboard.type(TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.body.dataset.live === 'true' && document.querySelectorAll('.tile').length === 5, WAIT);

    // the scripted incident (event time): KR heartbeats, a US certificate 18 days out, three HK keychain failures
    // (the page fires: HK FROZEN), a slow SG vault, then only one KR host beats again 25 minutes later
    const t0 = Date.parse('2026-12-01T20:00:00.000Z');
    await play([heartbeat(t0, 'mini-kr-01'), heartbeat(t0, 'mini-kr-02'), cert(t0 + min(1), t0 + day(18) + min(30))]);
    await play([kcFail(t0 + min(2)), kcFail(t0 + min(3), 'HK', 'mini-hk-02'), kcFail(t0 + min(4))]);
    await play([0, 1, 2, 3, 4, 5].map((i) => unlock(t0 + min(5 + i), 950)));
    await play([heartbeat(t0 + min(25), 'mini-kr-01')]);
    assert.ok(sink.transitions.some((t) => t.alert === 'codesign_keychain_failures' && t.state === 'firing'), 'the engine paged');

    const fig = (region: string, key: string) => `[data-region="${region}"] [data-figure="${key}"]`;
    await page.waitForFunction((s) => document.querySelector(s)?.textContent === 'FROZEN', WAIT, '[data-region="HK"] .state');
    await page.waitForFunction((s) => (document.querySelector(s)?.textContent ?? '').startsWith('3 in 1 h'), WAIT, fig('HK', 'keychain'));
    assert.equal(await text(page, fig('HK', 'keychain')), '3 in 1 h (alert above 2) — over the threshold');
    await page.waitForFunction((s) => /^\d+ ms \(threshold 800 ms, 6 samples\)/.test(document.querySelector(s)?.textContent ?? ''), WAIT, fig('SG', 'unlock'));
    assert.match((await text(page, fig('SG', 'unlock')))!, /^9[0-9]{2} ms \(threshold 800 ms, 6 samples\) — over the threshold$/);
    assert.equal(await text(page, fig('US', 'cert')), '18 days left (ticket under 21) — under the threshold');
    await page.waitForFunction((s) => (document.querySelector(s)?.textContent ?? '').startsWith('1 of 2'), WAIT, fig('KR', 'silent'));
    assert.equal(await text(page, fig('KR', 'silent')), '1 of 2: mini-kr-02 — silent for 15 min or more');
    assert.equal(await text(page, fig('JP', 'keychain')), '0 in 1 h (alert above 2)');
    assert.equal(await page.evaluate(() => document.querySelector('[data-region="HK"] dl.figures')?.getAttribute('aria-label')), 'HK figures');
    const dir2 = process.env.SIGNWATCH_CONSOLE_SCREENSHOT_DIR;
    if (dir2) await page.screenshot({ path: join(dir2, 'console-fleet.png') });

    // keyboard only: Tab to the Gate link, Enter
    await tabTo(page, 'Gate');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.body.dataset.gate === 'ready' && document.querySelectorAll('.gate-region').length === 5, WAIT);
    await page.waitForFunction(() => document.querySelector('[data-gate-region="HK"]')?.getAttribute('aria-label') === 'HK: FROZEN', WAIT);
    assert.equal(await page.evaluate(() => location.pathname), '/gate');
    assert.equal(await page.evaluate(() => document.querySelector('#fleet')?.hasAttribute('hidden')), true);
    const hkReasons = (await text(page, '[data-gate-region="HK"] .reasons'))!;
    assert.match(hkReasons, /signwatch\/codesign_keychain_failures\/region=HK: HK: 3 codesign keychain failures in the trailing 1h \(> 2\); releases frozen \(value 3, threshold 2\)$/);
    const check = (await page.evaluate(() => document.querySelector('[data-gate-region="HK"] pre')?.textContent))!;
    assert.match(check, /^HK: FROZEN since 2026-12-01T20:0\d:00\.000Z\n {2}- signwatch\/codesign_keychain_failures\/region=HK: /);
    assert.match((await text(page, '#gate-ttl-hint'))!, /at most 24h/);

    // every control of the Gate page is reachable with Tab
    const reached = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      reached.add(await focused(page));
    }
    const controls = ['Fleet', 'Alerts', 'Search', 'Gate', 'logout', 'gate-region', 'gate-reason', 'gate-ttl', 'gate-submit', 'gate-clear', ...['HK', 'JP', 'KR', 'SG', 'US'].map((r) => `signwatch gate check --region ${r}`)];
    for (const c of controls) assert.ok(reached.has(c), `Tab reaches ${c} (reached: ${[...reached].join(' | ')})`);

    // an override longer than the policy allows is refused, nothing audited
    await tabTo(page, 'gate-region');
    await page.keyboard.type('HK');
    assert.equal(await page.evaluate(() => (document.querySelector('#gate-region') as HTMLSelectElement).value), 'HK');
    await page.keyboard.press('Tab');
    await page.keyboard.type('hotfix 4.2.1: keychain re-created on mini-hk-01/02');
    await page.keyboard.press('Tab');
    await page.keyboard.down('Control');
    await page.keyboard.press('a');
    await page.keyboard.up('Control');
    await page.keyboard.type('48h');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (document.querySelector('#gate-error')?.textContent ?? '').includes('longer than the maximum 24h'), WAIT);
    assert.equal(existsSync(auditFile), false, 'a refused override is not audited');

    // now within the limit: Enter on the TTL field submits
    await page.keyboard.down('Control');
    await page.keyboard.press('a');
    await page.keyboard.up('Control');
    await page.keyboard.type('2h');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-gate-region="HK"]')?.getAttribute('aria-label') === 'HK: OPEN by override', WAIT);
    assert.match((await text(page, '[data-gate-region="HK"] .override'))!, /^by oncall until .*: hotfix 4\.2\.1: keychain re-created on mini-hk-01\/02$/);
    await page.waitForFunction(() => document.querySelectorAll('#gate-audit-rows tr').length === 1, WAIT);
    const row = await page.evaluate(() => [...document.querySelectorAll('#gate-audit-rows tr td')].map((td) => td.textContent));
    assert.deepEqual(row.slice(1), ['oncall', 'override', 'HK', 'hotfix 4.2.1: keychain re-created on mini-hk-01/02', '2 h']);
    assert.equal(await text(page, '#gate-error'), '');
    // the gate made it: audited 0600 with the person's name from its book, and CI's gate check would say open
    assert.equal(statSync(auditFile).mode & 0o777, 0o600);
    const line = JSON.parse(readFileSync(auditFile, 'utf8').trim()) as { by: string; action: string; region: string };
    assert.deepEqual([line.action, line.region, line.by], ['override', 'HK', 'oncall']);
    assert.equal(gate.state('HK').frozen, false);
    if (dir2) await page.screenshot({ path: join(dir2, 'console-gate.png'), fullPage: true });

    // the Fleet tile follows the gate's override
    await tabTo(page, 'Fleet');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-region="HK"]')?.getAttribute('aria-label') === 'HK: OPEN', WAIT);
    assert.match((await text(page, '[data-region="HK"] .detail'))!, /open by override of oncall/);
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser?.close();
    await server.stop();
    await figures.stop();
    await reader.stop();
    await gateReader.stop();
    await gateServer.stop();
    await procTelemetry.stop();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
