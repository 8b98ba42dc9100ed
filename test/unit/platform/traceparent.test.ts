import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childOfEnv, formatTraceparent, parseTraceparent } from '../../../services/platform/traceparent.js';
import { batchLinks, contextOf, linkOf, traceparentOf } from '../../../services/platform/telemetry.js';
import { trace } from '@opentelemetry/api';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

void test('traceparent: the W3C example parses and formats back; malformed and all-zero ids are refused', () => {
  assert.deepEqual(parseTraceparent(TP), { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 });
  assert.equal(formatTraceparent(parseTraceparent(TP)!), TP);
  for (const bad of [undefined, '', 'x', TP.slice(1), `01${TP.slice(2)}`, '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', `${TP}-extra`]) {
    assert.equal(parseTraceparent(bad), undefined, String(bad));
  }
});

void test("childOfEnv: a new span in the CI job's trace, or a new sampled trace", () => {
  const c = childOfEnv(TP);
  const p = parseTraceparent(c.traceparent)!;
  assert.equal(p.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.notEqual(p.spanId, '00f067aa0ba902b7');
  assert.equal(c.parentSpanId, '00f067aa0ba902b7');
  for (const env of [undefined, 'garbage']) {
    const n = childOfEnv(env);
    assert.equal(n.parentSpanId, undefined);
    assert.equal(parseTraceparent(n.traceparent)?.flags, 1);
  }
  assert.notEqual(childOfEnv(undefined).traceparent, childOfEnv(undefined).traceparent);
});

void test('telemetry context helpers: a header (string, Buffer or list) becomes a remote parent and a link; no SDK needed', () => {
  for (const h of [TP, Buffer.from(TP), [Buffer.from(TP)]]) {
    const sc = trace.getSpanContext(contextOf(h));
    assert.equal(sc?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(sc?.isRemote, true);
    assert.equal(linkOf(h)?.context.spanId, '00f067aa0ba902b7');
  }
  assert.equal(trace.getSpanContext(contextOf('nope')), undefined);
  assert.equal(linkOf(undefined), undefined);
  // without an SDK a span started under a remote parent carries the parent's context: context still flows
  const span = trace.getTracer('t').startSpan('x', {}, contextOf(TP));
  assert.equal(traceparentOf(span), TP);
});

void test('batchLinks: one link per distinct trace among the headers (the first record names the span), counted when more than one; invalid headers skipped', () => {
  const a1 = '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1111111111111111-01';
  const a2 = '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-2222222222222222-01';
  const b = '00-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-3333333333333333-01';
  const zero = '00-00000000000000000000000000000000-4444444444444444-01';
  const links = batchLinks([Buffer.from(a1), undefined, b, [Buffer.from(a2)], 'garbage', Buffer.from(zero), Buffer.from(a1)]);
  assert.deepEqual(
    links.map((l) => [l.context.traceId, l.context.spanId, l.attributes?.['signwatch.events']]),
    [
      ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '1111111111111111', 3],
      ['bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', '3333333333333333', undefined],
    ],
  );
  assert.equal(links[1]!.attributes, undefined, 'a trace with one record carries no attribute');
  assert.equal(links[0]!.context.isRemote, true);
  assert.deepEqual(batchLinks([]), []);
});
