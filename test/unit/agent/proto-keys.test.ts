/**
 * issue 16 item 10: every lookup keyed by input is a Map or a null-prototype object. Names of Object.prototype
 * members go through the real paths: `agent exec` (keychain, spool, state file), the command tables of the CLI, the
 * engine's hourly aggregates (error codes, hosts) and the query API's parameters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, sandbox, spooled } from './helpers.js';
import { run as runEngine, kcFail, T0, min } from '../engine/helpers.js';
import { validateEvent, type SignEvent } from '../../../schemas/events.js';
import { parseQuery } from '../../../services/query/filters.js';
import { alertSeverity, runbookUrl } from '../../../services/alerting/links.js';
import { defaultPolicy } from '../../../services/engine/policy.js';

const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

void test('issue 16 item 10: agent exec --keychain __proto__/constructor/toString/hasOwnProperty records a valid event each', () => {
  const sb = sandbox();
  try {
    for (const name of NAMES) {
      const r = cli(['agent', 'exec', '--', 'codesign', '--force', '--sign', '3ef0c1b2a3948576d6e5f4031b2a3c4d5e6f9132', '--keychain', name, 'App.app'], sb.env);
      assert.equal(r.status, 0, `${name}: ${r.stderr.toString()}`);
    }
    const events = spooled(sb.dataDir);
    assert.deepEqual(events.map((e) => e.keychain), NAMES);
    for (const e of events) assert.ok(validateEvent(e).ok, String(e.keychain));
    const errors = join(sb.dataDir, 'agent-errors.log');
    assert.equal(existsSync(errors) ? readFileSync(errors, 'utf8') : '', '');
  } finally {
    sb.cleanup();
  }
});

void test('issue 16 item 10: commands and subcommands named like Object.prototype members are unknown (exit 2), not a crash', () => {
  const sb = sandbox();
  try {
    for (const name of NAMES) {
      const top = cli([name], sb.env);
      assert.equal(top.status, 2, `signwatch ${name}: ${top.stderr.toString()}`);
      assert.match(top.stderr.toString(), /unknown command/);
      const agent = cli(['agent', name], sb.env);
      assert.equal(agent.status, 2, `signwatch agent ${name}: ${agent.stderr.toString()}`);
      assert.match(agent.stderr.toString(), /unknown subcommand/);
    }
  } finally {
    sb.cleanup();
  }
});

void test('issue 16 item 10: the engine counts error codes and hosts named like Object.prototype members as plain keys', () => {
  const events: SignEvent[] = [];
  NAMES.forEach((name, i) => {
    for (let n = 0; n <= i; n++) {
      const e = kcFail(T0 + min(i * 5 + n), 'HK', name);
      events.push({ ...e, error: { ...(e as { error: object }).error, code: name } } as SignEvent);
    }
  });
  const { sink } = runEngine(events, { until: T0 + 3 * 3_600_000 });
  const region = sink.hourlies.filter((a) => a.host === null);
  assert.equal(region.length, 1);
  const codes = region[0]!.codesign.byErrorCode;
  assert.deepEqual(Object.keys(codes).sort(), [...NAMES].sort());
  NAMES.forEach((name, i) => assert.equal(Object.getOwnPropertyDescriptor(codes, name)?.value, i + 1, name));
  // JSON (the hourly topic) carries them as ordinary keys
  assert.deepEqual(JSON.parse(JSON.stringify(codes)), Object.fromEntries(NAMES.map((n, i) => [n, i + 1])));
  const hosts = sink.hourlies.filter((a) => a.host !== null).map((a) => a.host);
  assert.deepEqual(hosts.sort(), [...NAMES].sort());
});

void test('issue 16 item 10: query parameters and alert names named like Object.prototype members are refused or unknown', () => {
  for (const name of NAMES) {
    const q = parseQuery(JSON.parse(`{"${name}":"x"}`) as Record<string, string>, T0, 'param');
    assert.equal(q.ok, false, name);
    // an alert name read from the alerts topic: not in the policy, so the default runbook and its own severity
    const policy = defaultPolicy();
    assert.equal(runbookUrl(policy, name), `${policy.links.runbookBase.replace(/\/?$/, '/')}${name}.md`, name);
    assert.equal(alertSeverity(policy, { alert: name, severity: 'ticket' } as Parameters<typeof alertSeverity>[1]), 'ticket', name);
  }
});
