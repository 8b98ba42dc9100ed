/** Event ids: ULIDs made without node:crypto (services/agent/events.ts newId), checked against the ulid package. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTime, isValid } from 'ulid';
import { newId } from '../../../services/agent/events.js';

test('newId is a valid ULID carrying the given millisecond', () => {
  // the generator is monotonic per process, so every test here uses later times than the one before
  const base = Date.now() + 10_000_000;
  for (const ms of [base, base + 1, base + 86_400_000]) {
    const id = newId(ms);
    assert.equal(id.length, 26);
    assert.ok(isValid(id), id);
    assert.equal(decodeTime(id), ms);
  }
});

test('ids made in one millisecond, or after the clock stepped back, still sort in the order they were made', () => {
  const t = Date.now() + 200_000_000;
  const ids = [newId(t)];
  for (let i = 0; i < 5000; i++) ids.push(newId(t));
  ids.push(newId(t - 5000)); // clock stepped back: still after the previous id
  ids.push(newId(t + 1));
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`);
  assert.equal(decodeTime(ids[5001]!), t, 'a step back keeps the last time');
  assert.equal(decodeTime(ids[5002]!), t + 1);
});

test('the random part differs between milliseconds (not a counter)', () => {
  const t = Date.now() + 300_000_000;
  const rand = new Set<string>();
  for (let i = 0; i < 200; i++) rand.add(newId(t + i).slice(10));
  assert.equal(rand.size, 200);
});
