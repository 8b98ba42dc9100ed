/** `signwatch demo --scenario drill`: each region's records as they happen, then the time-to-green table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { drillDemo } from '../../../services/demo/drill-demo.js';

void test('demo --scenario drill: HK then JP green, US red at the timeout with its silent host, and the report table', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString('utf8')));
  assert.equal(await drillDemo(17, out), 0);
  assert.match(text, /^\+20m 47s\s+HK\s+green\s+every host rotated: time to green 20m 47s$/m);
  assert.match(text, /^\+4h 00m 00s\s+US\s+red\s+timeout: mini-us-03 \(scan, sign\)$/m);
  assert.ok(text.indexOf(' HK  green') < text.indexOf(' JP  green'), 'HK is green before JP');
  assert.match(text, /^US\s+red \(timeout\)\s+-\s+4\s+mini-us-03 \(scan, sign\)/m);
  assert.match(text, /^slowest green region: JP; not green: US$/m);
});
