// The console in a real headless Chromium (the system's /usr/bin/chromium driven by puppeteer-core, which downloads
// no browser) against the real broker (SIGNWATCH_INTEGRATION=1): log in with a person's token through the form
// using the keyboard only (and Tab reaches every control),
// then a scripted incident on a unique alert topic (HK keychain failures firing, then resolved) must turn the HK tile
// FROZEN, show the alert's evidence, and turn it OPEN again, live over server-sent events. Conditions are waited for
// with generous timeouts; nothing here measures time. SIGNWATCH_CONSOLE_SCREENSHOT=PATH saves the frozen Fleet page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertTopicRig, LAUNCH, skip } from './harness.js';
import puppeteer, { type Browser } from 'puppeteer-core';
import { parseTokenBook, hashToken } from '../../../services/platform/tokens.js';
import { startConsole } from '../../../services/console/server.js';
import { transition } from '../../unit/alerting/transitions.js';

const TOKEN = 'swt_console-browser-test-token-000000000000000';

const tileState = (region: string) => `document.querySelector('[data-region="${region}"] .state')?.textContent`;

void test('Fleet page in headless Chromium: login, HK turns FROZEN with its evidence during a scripted incident, then OPEN; Faro payloads reach /collect', { skip, timeout: 180_000 }, async () => {
  const rig = await alertTopicRig('sw-test-console-alerts');
  const { produce, state, telemetry, reader } = rig;
  const server = await startConsole({ state, telemetry, host: '127.0.0.1', port: 0, tokenBook: parseTokenBook(`oncall ${hashToken(TOKEN)}\n`, 'test-book') });
  let browser: Browser | undefined;
  const pageErrors: string[] = [];
  try {
    // an earlier transition on the topic: the console rebuilds it at start (SG frozen before anyone looks)
    await produce([transition('codesign_keychain_failures', { region: 'SG' }, 'firing', '2026-12-01T19:00:00.000Z', {
        summary: 'SG: 3 keychain-class codesign failures in the trailing hour (> 2)',
        details: { hosts: ['mac-sg-02'], keychains: ['/Users/ci/Library/Keychains/release.keychain-db'], partitionIds: ['codesign:'], errorCodes: ['errSecInternalComponent'], correlationIds: ['pipeline-sg-977'], eventIds: ['01JDXYZ0000000000000000007'] },
      })]);
    await reader.start();

    browser = await puppeteer.launch(LAUNCH);
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 860 });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      // a CSP violation or a failed script shows up as a console error
      if (m.type() === 'error' && !/401/.test(m.text())) pageErrors.push(m.text());
    });
    await page.goto(`${server.url}/`, { waitUntil: 'load' });

    // not signed in: the login form, no data
    await page.waitForSelector('#login:not([hidden])', { timeout: 30_000 });
    // keyboard only: the form puts the focus in the token field, Enter submits it
    assert.equal(await page.evaluate('document.activeElement?.id'), 'token');
    await page.keyboard.type(TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForFunction(`document.body.dataset.live === 'true' && document.querySelectorAll('.tile').length === 5`, { timeout: 30_000 });
    assert.equal(await page.evaluate(`document.querySelector('#user').textContent`), 'signed in as oncall');
    // every control of the Fleet page is reachable with Tab: the Fleet link and Log out
    const reached = new Set<string>();
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      reached.add(String(await page.evaluate(`(document.activeElement?.id || document.activeElement?.textContent || '').trim()`)));
    }
    assert.ok(reached.has('Fleet') && reached.has('logout'), `Tab reached: ${[...reached].join(', ')}`);
    // the token is nowhere in the URL and the cookie is not readable by script
    assert.ok(!page.url().includes(TOKEN));
    assert.equal(await page.evaluate('document.cookie'), '');

    await page.waitForFunction(`${tileState('SG')} === 'FROZEN'`, { timeout: 30_000 });
    assert.equal(await page.evaluate(tileState('HK')), 'OPEN');

    // the incident: HK keychain failures fire
    await produce([
      transition('codesign_keychain_failures', { region: 'HK' }, 'firing', '2026-12-01T20:00:00.000Z', {
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
    await page.waitForFunction(`${tileState('HK')} === 'FROZEN'`, { timeout: 60_000 });
    const hk = (await page.evaluate(`document.querySelector('[data-region="HK"]').getAttribute('aria-label')`)) as string;
    assert.equal(hk, 'HK: FROZEN');
    const alerts = (await page.evaluate(`document.querySelector('#alerts').textContent`)) as string;
    for (const evidence of ['mac-hk-03', 'mac-hk-07', '/Users/ci/Library/Keychains/signing.keychain-db', 'errSecInternalComponent', 'pipeline-hk-4711', 'signwatch/codesign_keychain_failures/region=HK']) {
      assert.ok(alerts.includes(evidence), `the alert list shows ${evidence}`);
    }
    for (const open of ['JP', 'KR', 'US']) assert.equal(await page.evaluate(tileState(open)), 'OPEN', open);
    if (process.env.SIGNWATCH_CONSOLE_SCREENSHOT) await page.screenshot({ path: process.env.SIGNWATCH_CONSOLE_SCREENSHOT, fullPage: true });

    // the page is instrumented with the Faro Web SDK: its payloads arrive at /collect and are counted
    const faroApp = /^signwatch_console_faro_payloads_total\{app="signwatch-console"\} [1-9]/m;
    for (const deadline = Date.now() + 60_000; !faroApp.test(await telemetry.scrape()); ) {
      if (Date.now() > deadline) assert.fail(`no Faro payload from the page reached /collect:\n${await telemetry.scrape()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.doesNotMatch(await telemetry.scrape(), /signwatch_console_faro_rejected_total/);

    // the incident resolves: HK opens again, live
    await produce([transition('codesign_keychain_failures', { region: 'HK' }, 'resolved', '2026-12-01T20:40:00.000Z')]);
    await page.waitForFunction(`${tileState('HK')} === 'OPEN'`, { timeout: 60_000 });
    assert.equal(await page.evaluate(`document.querySelectorAll('#alerts .alert').length`), 1, 'only SG still firing');
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser?.close();
    await server.stop();
    await rig.close();
  }
});
