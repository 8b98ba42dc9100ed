// agent exec writes the call's trace context into its event (issue 20), without loading any OpenTelemetry package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateEvent } from '../../../schemas/events.js';
import { cli, sandbox } from './helpers.js';

const CI = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function execEvent(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const r = cli(['agent', 'exec', '--sink', '-', '--', 'codesign', '-s', 'X', 'a.app'], { ...env, FAKE_CODESIGN: 'codesign-errSecInternalComponent__replacing-existing' });
  assert.notEqual(r.status, 0);
  const line = r.stdout.toString().trim().split('\n').pop()!;
  const ev = JSON.parse(line) as Record<string, unknown>;
  assert.equal(validateEvent(ev).ok, true, 'the event passes the wire schema');
  return ev;
}

void test("with TRACEPARENT the event is a new span in the CI job's trace; without, a new trace", () => {
  const sb = sandbox();
  try {
    const ci = execEvent({ ...sb.env, TRACEPARENT: CI });
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(ci.traceparent));
    assert.ok(m, String(ci.traceparent));
    assert.equal(m[1], '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.notEqual(m[2], '00f067aa0ba902b7');
    assert.equal(ci.parentSpanId, '00f067aa0ba902b7');
    const own = execEvent(sb.env);
    assert.match(String(own.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.notEqual(String(own.traceparent).slice(3, 35), '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(own.parentSpanId, undefined);
    const bad = execEvent({ ...sb.env, TRACEPARENT: 'not-a-traceparent' });
    assert.equal(bad.parentSpanId, undefined, 'a malformed TRACEPARENT starts a new trace');
  } finally {
    sb.cleanup();
  }
});

void test('the wire schema refuses a malformed traceparent or parentSpanId', () => {
  const sb = sandbox();
  try {
    const ev = execEvent(sb.env);
    assert.equal(validateEvent({ ...ev, traceparent: '00-xyz' }).ok, false);
    assert.equal(validateEvent({ ...ev, parentSpanId: 'ABC' }).ok, false);
  } finally {
    sb.cleanup();
  }
});
