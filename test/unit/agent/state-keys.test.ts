/**
 * A keychain path is user input: `--keychain toString` once crashed the wrapper (`list.filter is not a function`: the
 * partition-ID lookup found Object.prototype.toString), and `__proto__` could replace the map's prototype. Regression
 * tests over the real state file round trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../services/agent/config.js';
import { eventForRun } from '../../../services/agent/record.js';
import { partitionIdsOf, readState, writeState } from '../../../services/agent/state.js';
import { validateEvent } from '../../../schemas/events.js';

const NAMES = ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf'];

void test('keychain paths named like Object.prototype members: no crash, no partition IDs, a valid event', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-state-keys-'));
  try {
    const cfg = parseConfig({ region: 'SG', host: 'mini-sg-07', dataDir: dir });
    const run = { exitCode: 1, signal: null, durationMs: 5, stdout: '', stderr: 'errSecInternalComponent' };
    for (const name of NAMES) {
      const ev = eventForRun(cfg, 'codesign', ['--keychain', name, '-s', 'X', 'a.app'], run, readState(dir), Date.now(), {});
      assert.deepEqual(ev?.partitionIds, [], name);
      assert.equal(ev?.keychain, name);
      assert.ok(validateEvent(ev).ok, name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('partition IDs recorded under such names are own entries: stored, read back, never the prototype', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-state-keys-'));
  try {
    const state = readState(dir);
    for (const name of NAMES) state.partitionIds[name] = [`teamid:${name.length}`];
    writeState(dir, state);
    const back = readState(dir);
    for (const name of NAMES) assert.deepEqual(partitionIdsOf(back, name), [`teamid:${name.length}`], name);
    assert.equal(Object.getPrototypeOf(back.partitionIds), null);
    assert.deepEqual(partitionIdsOf(back, 'isPrototypeOf'), []);
    // a hand-edited state file with junk values keeps only arrays of strings
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ partitionIds: { '/k': ['apple:', 3], toString: 'x', __proto__: { polluted: true } } }));
    const junk = readState(dir);
    assert.deepEqual(partitionIdsOf(junk, '/k'), ['apple:']);
    assert.deepEqual(partitionIdsOf(junk, 'toString'), []);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
