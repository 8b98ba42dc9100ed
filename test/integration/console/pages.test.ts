// The console's Alert and Search pages in a real headless Chromium (the system's /usr/bin/chromium driven by
// puppeteer-core) against the real broker (SIGNWATCH_INTEGRATION=1), a real SQLite event store seeded with
// `signwatch store import` (the CLI, through the wire-contract validation), and a local Faro receiver standing in
// for Grafana Alloy's faro.receiver. A scripted incident on a unique alert topic (HK keychain failures firing, then
// resolved): from the Fleet page the keyboard (Tab, Enter) opens the alert's page, which shows the fire, then the
// resolve, with the PagerDuty dedup key, the evidence and the links; Enter on the postmortem link opens the Search
// page pre-filled, which finds the incident's events; a count-by chart and a limit that cuts ("N rows shown, more
// exist"); --around context; Tab reaches every control of both pages; the page's Faro payloads are forwarded to the
// receiver. Conditions are waited for with generous timeouts; nothing here measures time.
// SIGNWATCH_CONSOLE_SEARCH_SCREENSHOT=PATH saves the Search page with its chart (docs/img/console-search.png).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { alertTopicRig, LAUNCH, skip } from './harness.js';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { parseTokenBook, hashToken } from '../../../services/platform/tokens.js';
import { openStore } from '../../../services/query/open-store.js';
import { startConsole } from '../../../services/console/server.js';
import { transition } from '../../unit/alerting/transitions.js';
import { mk } from '../../unit/query/store-suite.js';

const TOKEN = 'swt_console-pages-test-token-0000000000000000';
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const MIN = 60_000;
const FIRE = Date.parse('2026-12-01T20:00:00.000Z');
const KEY = 'signwatch/codesign_keychain_failures/region=HK';

/** The incident's events: mac-hk-03 keychain failures before the fire, ok signing around them, noise elsewhere. */
function incidentNdjson(): string {
  const fail = { outcome: 'fail', exitCode: 1, error: { code: 'errSecInternalComponent', osStatus: -2070, class: 'keychain', message: 'errSecInternalComponent' } };
  const events = [
    mk({ ts: FIRE - 50 * MIN, host: 'mac-hk-03', correlationId: 'pipeline-hk-4700' }),
    mk({ ts: FIRE - 30 * MIN, host: 'mac-hk-03', correlationId: 'pipeline-hk-4711', ...fail }),
    mk({ ts: FIRE - 20 * MIN, host: 'mac-hk-07', correlationId: 'pipeline-hk-4711', ...fail }),
    mk({ ts: FIRE - 5 * MIN, host: 'mac-hk-03', correlationId: 'pipeline-hk-4711', ...fail }),
    mk({ ts: FIRE + 10 * MIN, host: 'mac-hk-03', correlationId: 'pipeline-hk-4712' }),
    // noise: another region with the same error code, and HK long before
    mk({ ts: FIRE - 25 * MIN, host: 'mac-jp-01', region: 'JP', correlationId: 'pipeline-jp-1', ...fail }),
    mk({ ts: FIRE - 10 * 60 * MIN, host: 'mac-hk-03', correlationId: 'pipeline-hk-1', ...fail }),
  ];
  return events.map((e) => e.raw).join('\n') + '\n';
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (s += c));
    req.on('end', () => resolve(s));
    req.on('error', reject);
  });

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check()); ) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Tab from the top of the page until every focusable control inside `scope` has had the focus once (or a generous
 * number of presses); returns the ones never reached (described by id, href or text).
 */
async function unreachedByTab(page: Page, scope: string): Promise<string[]> {
  const total = (await page.evaluate(`(() => {
    const xs = [...document.querySelectorAll('${scope} a[href], ${scope} button, ${scope} input, ${scope} select, ${scope} summary')].filter((e) => e.offsetParent !== null);
    xs.forEach((e, i) => e.setAttribute('data-kb', String(i)));
    return xs.length;
  })()`)) as number;
  assert.ok(total > 0, `${scope} has controls`);
  await page.evaluate(`document.activeElement?.blur(); window.scrollTo(0, 0)`);
  const reached = new Set<string>();
  for (let i = 0; i < total + 40 && reached.size < total; i++) {
    await page.keyboard.press('Tab');
    const kb = (await page.evaluate(`document.activeElement?.getAttribute('data-kb') ?? ''`)) as string;
    if (kb) reached.add(kb);
  }
  return (await page.evaluate(`[...document.querySelectorAll('[data-kb]')].filter((e) => !${JSON.stringify([...reached])}.includes(e.getAttribute('data-kb'))).map((e) => e.id || e.getAttribute('href') || e.textContent.trim())`)) as string[];
}

/** Press Tab until the focused element matches `selector` (keyboard-only navigation). */
async function tabTo(page: Page, selector: string, presses = 200): Promise<void> {
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) return;
  }
  assert.fail(`Tab never reached ${selector}`);
}

/** Tab to `selector`, then Enter (keyboard-only activation). */
async function tabToAndEnter(page: Page, selector: string): Promise<void> {
  await tabTo(page, selector);
  await page.keyboard.press('Enter');
}

void test('Alert and Search pages in headless Chromium: fire then resolve with the dedup key, the postmortem search finds the incident, count-by chart, keyboard only; Faro forwarded', { skip, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-console-pages-'));
  const dbPath = join(dir, 'events.db');
  const ndjson = join(dir, 'incident.ndjson');
  writeFileSync(ndjson, incidentNdjson());
  // seeded the way an operator backfills: the CLI, through the wire-contract validation
  await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'signwatch'), 'store', 'import', ndjson, '--store', `sqlite:${dbPath}`], { cwd: dir });
  const store = await openStore(`sqlite:${dbPath}`, { mustExist: true });

  // the stand-in for Alloy's faro.receiver: records what the console forwards
  const forwarded: unknown[] = [];
  const receiver = createServer((req, res) => {
    void readBody(req).then((body) => {
      if (req.method === 'POST' && req.url === '/collect') forwarded.push(JSON.parse(body));
      res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const rport = (receiver.address() as { port: number }).port;

  const rig = await alertTopicRig('sw-test-console-pages');
  const { produce, state, telemetry, reader } = rig;
  const server = await startConsole({
    state,
    telemetry,
    host: '127.0.0.1',
    port: 0,
    tokenBook: parseTokenBook(`oncall ${hashToken(TOKEN)}\n`, 'test-book'),
    store,
    grafanaUrl: 'https://grafana.example.test',
    faroForward: { url: `http://127.0.0.1:${rport}/collect` },
  });
  let browser: Browser | undefined;
  const pageErrors: string[] = [];
  try {
    await reader.start();
    browser = await puppeteer.launch(LAUNCH);
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/401|404/.test(m.text())) pageErrors.push(m.text());
    });
    await page.goto(`${server.url}/`, { waitUntil: 'load' });
    await page.waitForSelector('#login:not([hidden])', { timeout: 30_000 });
    await page.keyboard.type(TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForFunction(`document.body.dataset.live === 'true' && document.querySelectorAll('.tile').length === 5`, { timeout: 60_000 });

    // the incident fires
    await produce([
      transition('codesign_keychain_failures', { region: 'HK' }, 'firing', new Date(FIRE).toISOString(), {
        details: {
          hosts: ['mac-hk-03', 'mac-hk-07'],
          keychains: ['/Users/ci/Library/Keychains/signing.keychain-db'],
          partitionIds: ['codesign:'],
          errorCodes: ['errSecInternalComponent'],
          correlationIds: ['pipeline-hk-4711'],
          eventIds: ['01JDXYZ0000000000000000042'],
        },
      }),
    ]);
    await page.waitForFunction(`document.querySelector('[data-region="HK"] .state')?.textContent === 'FROZEN'`, { timeout: 60_000 });

    // Fleet → Alert page, keyboard only
    await tabToAndEnter(page, '#alerts .alert-link');
    await page.waitForFunction(`location.pathname === '/alert' && document.body.dataset.alertState === 'firing'`, { timeout: 60_000 });
    assert.equal(new URL(page.url()).searchParams.get('key'), KEY);
    assert.equal(await page.evaluate(`document.querySelector('#alert-dedup-key').textContent`), KEY);
    assert.match((await page.evaluate(`document.querySelector('#alert-state').textContent`)) as string, /^FIRING since 2026-12-01T20:00:00.000Z/);
    assert.deepEqual(await page.evaluate(`[...document.querySelectorAll('#alert-timeline li')].map((li) => li.dataset.state)`), ['firing']);
    const evidence = (await page.evaluate(`document.querySelector('#alert-evidence').textContent`)) as string;
    for (const x of ['mac-hk-03', 'mac-hk-07', '/Users/ci/Library/Keychains/signing.keychain-db', 'errSecInternalComponent', 'pipeline-hk-4711', '01JDXYZ0000000000000000042']) {
      assert.ok(evidence.includes(x), `the evidence shows ${x}`);
    }
    const grafana = new URL((await page.evaluate(`document.querySelector('#alert-grafana-link').href`)) as string);
    assert.equal(grafana.origin + grafana.pathname, 'https://grafana.example.test/d/signwatch-region/signwatch');
    assert.equal(grafana.searchParams.get('var-region'), 'HK');
    assert.equal(grafana.searchParams.get('from'), String(FIRE - 60 * MIN));
    assert.equal(grafana.searchParams.get('to'), 'now');

    // the incident resolves: the same page shows the fire, then the resolve, live
    await produce([transition('codesign_keychain_failures', { region: 'HK' }, 'resolved', new Date(FIRE + 40 * MIN).toISOString())]);
    await page.waitForFunction(`document.body.dataset.alertState === 'resolved'`, { timeout: 60_000 });
    assert.deepEqual(await page.evaluate(`[...document.querySelectorAll('#alert-timeline li')].map((li) => li.dataset.state)`), ['firing', 'resolved']);
    assert.match((await page.evaluate(`document.querySelector('#alert-timeline').textContent`)) as string, /2026-12-01T20:00:00.000Z FIRED[\s\S]*2026-12-01T20:40:00.000Z RESOLVED/);
    assert.equal(await page.evaluate(`document.querySelector('#alert-dedup-key').textContent`), KEY);
    const pm = new URL((await page.evaluate(`document.querySelector('#alert-search-link').href`)) as string);
    assert.equal(pm.pathname, '/search');
    assert.deepEqual([...pm.searchParams], [['since', '2026-12-01T19:00:00.000Z'], ['until', '2026-12-01T20:50:00.000Z'], ['region', 'HK'], ['error', 'errSecInternalComponent']]);
    assert.equal(await page.evaluate(`document.querySelector('#alert-command').textContent`), 'signwatch query --since 2026-12-01T19:00:00.000Z --until 2026-12-01T20:50:00.000Z --region HK --error errSecInternalComponent');
    assert.deepEqual(await unreachedByTab(page, '#alert-page'), [], 'Tab reaches every control of the Alert page');

    // Alert page → the postmortem query on the Search page, keyboard only: it finds the incident's failures
    await tabToAndEnter(page, '#alert-search-link');
    await page.waitForFunction(`location.pathname === '/search' && document.body.dataset.search === 'done'`, { timeout: 60_000 });
    const rows = (await page.evaluate(`[...document.querySelectorAll('#search-results tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent))`)) as string[][];
    assert.deepEqual(rows.map((r) => [r[0], r[2], r[5], r[7]]), [
      ['2026-12-01T19:30:00.000Z', 'mac-hk-03', 'errSecInternalComponent', 'pipeline-hk-4711'],
      ['2026-12-01T19:40:00.000Z', 'mac-hk-07', 'errSecInternalComponent', 'pipeline-hk-4711'],
      ['2026-12-01T19:55:00.000Z', 'mac-hk-03', 'errSecInternalComponent', 'pipeline-hk-4711'],
    ]);
    assert.equal(await page.evaluate(`document.querySelector('#search-status').textContent`), '3 rows');
    assert.equal(await page.evaluate(`document.querySelector('#q-region').value`), 'HK');
    assert.equal(await page.evaluate(`document.querySelector('#q-error').value`), 'errSecInternalComponent');

    // change the search with the keyboard: count by hour,region, at most 2 rows → the chart, and the limit says so
    await tabTo(page, '#q-count-by');
    await page.keyboard.type('hour,region');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(`document.activeElement?.id`), 'q-limit');
    await page.keyboard.type('2');
    await page.keyboard.press('Enter');
    await page.waitForFunction(`new URLSearchParams(location.search).get('limit') === '2' && document.body.dataset.search === 'done'`, { timeout: 60_000 });
    assert.equal(await page.evaluate(`document.querySelector('#search-status').textContent`), '2 rows shown, more exist (raise limit or narrow the filters)');
    const bars = (await page.evaluate(`[...document.querySelectorAll('#search-chart rect')].map((r) => [r.dataset.hour, r.dataset.series, r.dataset.count])`)) as string[][];
    assert.deepEqual(bars, [
      ['2026-12-01T19:00:00.000Z', 'HK', '3'],
    ]);
    const link = (await page.evaluate(`document.querySelector('#search-link').value`)) as string;
    assert.equal(link, page.url(), 'the link to paste is the address of this search');
    assert.ok(!link.includes(TOKEN) && !link.includes('token'), 'no token in the URL');
    assert.equal(new URL(link).searchParams.get('count-by'), 'hour,region');
    assert.deepEqual(await unreachedByTab(page, '#search-page'), [], 'Tab reaches every control of the Search page');

    // a pasted URL (a fresh tab, same session) gives the same answer; --around context from an event id
    const second = await browser.newPage();
    second.on('pageerror', (e) => pageErrors.push(String(e)));
    await second.goto(link, { waitUntil: 'load' });
    await second.waitForFunction(`document.body.dataset.search === 'done'`, { timeout: 60_000 });
    assert.equal(await second.evaluate(`document.querySelectorAll('#search-results tbody tr').length`), 2);
    await tabToAndEnter(second, '#search-results tbody tr:first-child a');
    await second.waitForFunction(`new URLSearchParams(location.search).has('around') && document.body.dataset.search === 'done'`, { timeout: 60_000 });
    const around = (await second.evaluate(`[...document.querySelectorAll('#search-results tbody tr')].map((tr) => (tr.classList.contains('anchor') ? '>' : '') + tr.children[2].textContent)`)) as string[];
    // all 7 events of the store (no filter but the anchor's context), the anchor marked: 19:30 on mac-hk-03
    assert.deepEqual(around, ['mac-hk-03', 'mac-hk-03', '>mac-hk-03', 'mac-jp-01', 'mac-hk-07', 'mac-hk-03', 'mac-hk-03']);
    // the list of every alert key the console has seen
    await second.goto(`${server.url}/alert`, { waitUntil: 'load' });
    await second.waitForFunction(`document.body.dataset.alertState === 'list'`, { timeout: 60_000 });
    assert.match((await second.evaluate(`document.querySelector('#alert-list').textContent`)) as string, /^HK · codesign_keychain_failures RESOLVED since 2026-12-01T20:40:00.000Z$/);
    assert.equal(await second.evaluate(`document.querySelector('#alert-list a').getAttribute('href')`), `/alert?key=${encodeURIComponent(KEY)}`);
    await second.close();

    if (process.env.SIGNWATCH_CONSOLE_SEARCH_SCREENSHOT) {
      // the picture in docs/console.md: the HK failures of the day counted by hour and region, the limit cutting the rows
      const shot = await browser.newPage();
      await shot.setViewport({ width: 1280, height: 800 });
      await shot.goto(`${server.url}/search?since=2026-12-01T09:00:00Z&until=2026-12-01T21:00:00Z&outcome=fail&count-by=hour,region&limit=3`, { waitUntil: 'load' });
      await shot.waitForFunction(`document.body.dataset.search === 'done'`, { timeout: 60_000 });
      await shot.screenshot({ path: process.env.SIGNWATCH_CONSOLE_SEARCH_SCREENSHOT, fullPage: true });
      await shot.close();
    }

    // the page's Faro payloads reached /collect and were forwarded to the receiver
    await waitFor('a forwarded Faro payload', () => Promise.resolve(forwarded.some((p) => (p as { meta?: { app?: { name?: string } } }).meta?.app?.name === 'signwatch-console')));
    await waitFor('the forwarded counter', async () => /^signwatch_console_faro_forwarded_total [1-9]/m.test(await telemetry.scrape()));
    assert.doesNotMatch(await telemetry.scrape(), /signwatch_console_faro_forward_failed_total/);
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser?.close();
    await server.stop();
    await rig.close();
    await store.close();
    await new Promise<void>((r) => receiver.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});
