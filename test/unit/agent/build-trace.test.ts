// The events a scanned build records carry the trace context like the wrapper's own (issue 20): each signing step
// and notarization is a span in the CI job's trace (TRACEPARENT) or, without one, in one new trace for the build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateEvent } from '../../../schemas/events.js';
import { BIN, ROOT, sandbox, spooled, type Sandbox } from './helpers.js';

const LOGS = join(ROOT, 'test', 'fixtures', 'build-logs');
const CI_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CI_SPAN = '00f067aa0ba902b7';
const TP = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A release script printing two electron-builder signing steps and a notarization (real captures), then exit 0. */
function scannedBuild(sb: Sandbox, extra: NodeJS.ProcessEnv): Record<string, unknown>[] {
  const bin = join(sb.dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const log = join(sb.dir, 'release.log');
  writeFileSync(log, readFileSync(join(LOGS, 'electron-builder__signing-mas-two-identities.txt'), 'utf8') + readFileSync(join(LOGS, 'notarytool-submit-wait__accepted-jenkins-xbmc.txt'), 'utf8'));
  writeFileSync(join(bin, 'release.sh'), `#!/bin/sh\ncat '${log}'\n`);
  chmodSync(join(bin, 'release.sh'), 0o755);
  const before = spooled(sb.dataDir).length;
  const r = spawnSync(process.execPath, [BIN, 'agent', 'exec', '--scan-output', '--', 'release.sh'], { env: { ...sb.env, PATH: `${bin}:${sb.env.PATH ?? ''}`, ...extra }, timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr.toString());
  const events = spooled(sb.dataDir).slice(before);
  assert.deepEqual(
    events.map((e) => e.type),
    ['codesign', 'codesign', 'notarize'],
  );
  for (const e of events) assert.equal(validateEvent(e).ok, true, JSON.stringify(e));
  return events;
}

function parts(ev: Record<string, unknown>): { trace: string; span: string; flags: string } {
  const m = TP.exec(String(ev.traceparent));
  assert.ok(m, `traceparent ${String(ev.traceparent)}`);
  return { trace: m[1]!, span: m[2]!, flags: m[3]! };
}

void test("with the CI job's TRACEPARENT every build event is its own span, a child of the job's span in its trace", () => {
  const sb = sandbox({ keychain: '/Users/ci/signing.keychain-db' });
  try {
    const events = scannedBuild(sb, { TRACEPARENT: `00-${CI_TRACE}-${CI_SPAN}-01` });
    const p = events.map(parts);
    assert.deepEqual(
      p.map((x) => [x.trace, x.flags]),
      p.map(() => [CI_TRACE, '01']),
    );
    assert.equal(new Set(p.map((x) => x.span)).size, 3, 'one span per step');
    assert.ok(!p.some((x) => x.span === CI_SPAN), "no event reuses the job's span id");
    assert.deepEqual(
      events.map((e) => e.parentSpanId),
      [CI_SPAN, CI_SPAN, CI_SPAN],
    );
    // an unsampled job trace stays unsampled
    const unsampled = scannedBuild(sb, { TRACEPARENT: `00-${CI_TRACE}-${CI_SPAN}-00` }).map(parts);
    assert.deepEqual(
      unsampled.map((x) => x.flags),
      ['00', '00', '00'],
    );
  } finally {
    sb.cleanup();
  }
});

void test('without TRACEPARENT (or with a malformed one) the build starts one trace that all its events share, without a parent', () => {
  const sb = sandbox({ keychain: '/Users/ci/signing.keychain-db' });
  try {
    for (const extra of [{}, { TRACEPARENT: 'not-a-traceparent' }, { TRACEPARENT: `00-${'0'.repeat(32)}-${CI_SPAN}-01` }]) {
      const events = scannedBuild(sb, extra);
      const p = events.map(parts);
      assert.equal(new Set(p.map((x) => x.trace)).size, 1, 'one trace for the build');
      assert.notEqual(p[0]!.trace, CI_TRACE);
      assert.equal(new Set(p.map((x) => x.span)).size, 3);
      assert.deepEqual(
        p.map((x) => x.flags),
        ['01', '01', '01'],
      );
      assert.deepEqual(
        events.map((e) => e.parentSpanId),
        [undefined, undefined, undefined],
      );
    }
    // two builds: two traces
    const a = parts(scannedBuild(sb, {})[0]!).trace;
    const b = parts(scannedBuild(sb, {})[0]!).trace;
    assert.notEqual(a, b);
  } finally {
    sb.cleanup();
  }
});
