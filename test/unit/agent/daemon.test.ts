/** The daemon with the NDJSON sink (the Kafka sink is covered by test/integration/agent), and the launchd plist. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { validateEvent } from '../../../schemas/events.js';
import { Spool } from '../../../services/agent/spool/spool.js';
import { newId } from '../../../services/agent/events.js';
import { BIN, cli, ndjson, sandbox, spooled } from './helpers.js';

void test('run --once: scan, clock and heartbeat, then the whole spool shipped in order and deleted', () => {
  const sb = sandbox({ spoolMaxEvents: 10 });
  try {
    for (const f of ['codesign-no-identity-found', 'codesign-detritus-not-allowed']) {
      cli(['agent', 'exec', '--', 'codesign', '-s', 'X', 'a.app'], { ...sb.env, FAKE_CODESIGN: f });
    }
    // overflow the (10-event) spool so that the heartbeat must report drops
    const spool = new Spool({ dir: join(sb.dataDir, 'spool'), maxEvents: 10 });
    for (let i = 0; i < 12; i++) {
      const id = newId();
      spool.append(id, JSON.stringify({ v: 1, id, ts: new Date().toISOString(), type: 'clock', host: 'mini-sg-07', region: 'SG', pool: 'signing', agent: '0.1.0', offsetMs: i, server: 'x' }));
    }
    const out = join(sb.dir, 'shipped.ndjson');
    const r = cli(['agent', 'run', '--once', '--sink', `ndjson:${out}`], sb.env);
    assert.equal(r.status, 0, r.stderr.toString());
    const events = ndjson(out);
    for (const e of events) assert.equal(validateEvent(e).ok, true, JSON.stringify(e));
    const ids = events.map((e) => String(e.id));
    assert.deepEqual(ids, [...ids].sort(), 'shipped in spool (time) order');
    assert.equal(spooled(sb.dataDir).length, 0, 'spool emptied after the sink acknowledged');
    const hb = events.find((e) => e.type === 'heartbeat');
    assert.ok(hb);
    assert.ok(Number(hb.spoolDropped) >= 4, `drops reported: ${String(hb.spoolDropped)}`);
    assert.ok(events.some((e) => e.type === 'clock' && e.server === 'ntp.nict.jp'));
    // structured logs on stdout, one JSON object per line
    for (const line of r.stdout.toString().trim().split('\n')) assert.equal(typeof (JSON.parse(line) as { msg: string }).msg, 'string');
  } finally {
    sb.cleanup();
  }
});

void test('run: SIGTERM stops the daemon cleanly', async () => {
  const sb = sandbox({ intervals: { shipMs: 50 } });
  try {
    const out = join(sb.dir, 'shipped.ndjson');
    const child = spawn(process.execPath, [BIN, 'agent', 'run', '--sink', `ndjson:${out}`], { env: sb.env, stdio: 'ignore' });
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !ndjson(out).some((e) => e.type === 'heartbeat')) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 0);
    assert.ok(existsSync(out));
  } finally {
    sb.cleanup();
  }
});

void test('install --print-plist: RunAtLoad, KeepAlive, log paths, no secrets; refuses without --print-plist', () => {
  const sb = sandbox();
  try {
    const r = cli(['agent', 'install', '--print-plist', '--config', '/usr/local/etc/signwatch/agent.json', '--node', '/opt/homebrew/bin/node', '--bin', '/opt/signwatch/bin/signwatch'], sb.env);
    assert.equal(r.status, 0);
    const plist = r.stdout.toString();
    assert.match(plist, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<!DOCTYPE plist/);
    assert.match(plist, /<key>RunAtLoad<\/key>\s*<true\/>/);
    assert.match(plist, /<key>KeepAlive<\/key>\s*<true\/>/);
    assert.match(plist, /<key>StandardOutPath<\/key>\s*<string>\/usr\/local\/var\/log\/signwatch\/agent.out.log<\/string>/);
    assert.match(plist, /<key>StandardErrorPath<\/key>/);
    assert.match(plist, /<string>\/opt\/homebrew\/bin\/node<\/string>\s*<string>\/opt\/signwatch\/bin\/signwatch<\/string>\s*<string>agent<\/string>\s*<string>run<\/string>/);
    assert.doesNotMatch(plist, /password|secret|EnvironmentVariables/i);
    assert.equal(cli(['agent', 'install'], sb.env).status, 2);
  } finally {
    sb.cleanup();
  }
});
