/** `signwatch agent exec`: pass-through contract, events, resilience, and a light start-up path. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { validateEvent } from '../../../schemas/events.js';
import { BIN, cli, FAKE_BIN, fixture, ROOT, sandbox, spooled } from './helpers.js';

void test('stdout, stderr and exit status are byte-identical with and without the wrapper (stdin passes through)', () => {
  const sb = sandbox();
  try {
    const input = Buffer.from([0, 1, 2, 255, 10, 0x41, 0xe2, 0x80, 0xa6, 10]);
    const cases: Record<string, string>[] = [
      { FAKE_CODESIGN_STDIN_TO_STDOUT: '1' },
      { FAKE_CODESIGN_STDIN_TO_STDOUT: '1', FAKE_CODESIGN: 'codesign-timestamp-service-not-available__elided-path' },
      { FAKE_CODESIGN: 'codesign-detritus-not-allowed', FAKE_CODESIGN_EXIT: '3' },
    ];
    for (const extra of cases) {
      const env = { ...sb.env, ...extra };
      const direct = spawnSync(join(FAKE_BIN, 'codesign'), ['-f', '-s', 'X', 'a b.app'], { env, input });
      const wrapped = cli(['agent', 'exec', '--', 'codesign', '-f', '-s', 'X', 'a b.app'], env, input);
      assert.equal(wrapped.status, direct.status);
      assert.ok(Buffer.compare(wrapped.stdout, direct.stdout) === 0, 'stdout bytes');
      assert.ok(Buffer.compare(wrapped.stderr, direct.stderr) === 0, 'stderr bytes');
    }
    // notarytool output is teed from a pipe: still identical
    const env = { ...sb.env, FAKE_NOTARYTOOL: 'notarytool-submit-wait__invalid-wakatime-gha.txt' };
    const direct = spawnSync(join(FAKE_BIN, 'xcrun'), ['notarytool', 'submit', 'n.zip', '--wait'], { env });
    const wrapped = cli(['agent', 'exec', '--', 'xcrun', 'notarytool', 'submit', 'n.zip', '--wait'], env);
    assert.equal(wrapped.status, 0);
    assert.ok(Buffer.compare(wrapped.stdout, direct.stdout) === 0);
    assert.equal(wrapped.stdout.toString(), fixture('notarytool-submit-wait__invalid-wakatime-gha.txt'));
  } finally {
    sb.cleanup();
  }
});

void test('success: ok event with keychain from --keychain, identity SHA-1, correlation id from CI env, valid v1', () => {
  const sb = sandbox();
  try {
    const env = { ...sb.env, GITHUB_RUN_ID: '8811223344', BUILDKITE_BUILD_ID: 'ignored' };
    const r = cli(['agent', 'exec', '--', 'codesign', '--force', '--sign', '3ef0c1b2a3948576d6e5f4031b2a3c4d5e6f9132', '--keychain', '/Users/ci/Library/Keychains/signing.keychain-db', 'App.app'], env);
    assert.equal(r.status, 0);
    const [ev] = spooled(sb.dataDir);
    assert.ok(ev);
    assert.equal(validateEvent(ev).ok, true);
    assert.equal(ev.outcome, 'ok');
    assert.equal(ev.error, undefined);
    assert.equal(ev.keychain, '/Users/ci/Library/Keychains/signing.keychain-db');
    assert.equal(ev.identity, '3EF0C1B2A3948576D6E5F4031B2A3C4D5E6F9132');
    assert.equal(ev.correlationId, '8811223344');
    assert.equal(ev.invocationId, ev.id);
    assert.equal(ev.region, 'SG');
    assert.match(String(ev.id), /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
  } finally {
    sb.cleanup();
  }
});

void test('keychain from the search list, identity by name and partition ids from the cached state', () => {
  const sb = sandbox();
  try {
    mkdirSync(sb.dataDir, { recursive: true });
    writeFileSync(join(sb.dataDir, 'state.json'), JSON.stringify({
      searchList: ['/Users/ci/Library/Keychains/signing.keychain-db', '/Library/Keychains/System.keychain'],
      identities: [{ sha1: '3EF0C1B2A3948576D6E5F4031B2A3C4D5E6F9132', name: 'Apple Distribution: Example Org (ABCDE12345)' }],
      partitionIds: { '/Users/ci/Library/Keychains/signing.keychain-db': ['apple-tool:', 'apple:'] },
    }));
    const env = { ...sb.env, CI_PIPELINE_ID: '4242', FAKE_CODESIGN: 'codesign-errSecInternalComponent__replacing-existing' };
    assert.equal(cli(['agent', 'exec', '--', 'codesign', '-fs', 'Apple Distribution: Example Org', 'x.app'], env).status, 1);
    const [ev] = spooled(sb.dataDir);
    assert.equal(ev?.keychain, '/Users/ci/Library/Keychains/signing.keychain-db');
    assert.equal(ev?.identity, '3EF0C1B2A3948576D6E5F4031B2A3C4D5E6F9132');
    assert.deepEqual(ev?.partitionIds, ['apple-tool:', 'apple:']);
    assert.equal(ev?.correlationId, '4242');
  } finally {
    sb.cleanup();
  }
});

void test('no scan yet: the keychain comes from `security list-keychains`', () => {
  const sb = sandbox();
  try {
    cli(['agent', 'exec', '--', 'codesign', '-s', 'X', 'x.app'], sb.env);
    assert.equal(spooled(sb.dataDir)[0]?.keychain, '/Users/travis/Library/Keychains/[secure]-db');
  } finally {
    sb.cleanup();
  }
});

void test('set-key-partition-list → acl event, declared only inside a maintenance window; -k never recorded', () => {
  const now = Date.now();
  const inside = sandbox({ maintenanceWindows: [{ start: new Date(now - 3600_000).toISOString(), end: new Date(now + 3600_000).toISOString() }] });
  const outside = sandbox({ maintenanceWindows: [{ start: new Date(now + 3600_000).toISOString(), end: new Date(now + 7200_000).toISOString() }] });
  try {
    for (const sb of [inside, outside]) {
      const r = cli(['agent', 'exec', '--', 'security', 'set-key-partition-list', '-S', 'apple-tool:,apple:,codesign:', '-s', '-k', 'hunter2-secret', '/Users/ci/signing.keychain-db'], sb.env);
      assert.equal(r.status, 0);
      assert.equal(r.stdout.toString(), fixture('security-set-key-partition-list__stdout-travis-ci.txt'));
      const [ev] = spooled(sb.dataDir);
      assert.ok(ev && validateEvent(ev).ok);
      assert.equal(ev.type, 'acl');
      assert.deepEqual(ev.partitionIds, ['apple-tool:', 'apple:', 'codesign:']);
      assert.equal(ev.keychain, '/Users/ci/signing.keychain-db');
      assert.equal(ev.declared, sb === inside);
      assert.ok(!JSON.stringify(ev).includes('hunter2'));
      const state = JSON.parse(readFileSync(join(sb.dataDir, 'state.json'), 'utf8')) as { partitionIds: Record<string, string[]> };
      assert.deepEqual(state.partitionIds['/Users/ci/signing.keychain-db'], ['apple-tool:', 'apple:', 'codesign:']);
    }
    // wrong -k: the real SecKeychainUnlock failure, exit 1, still an acl event (outcome fail)
    const pw = join(outside.dir, 'pw');
    writeFileSync(pw, 'right');
    const r = cli(['agent', 'exec', '--', 'security', 'set-key-partition-list', '-S', 'apple:', '-k', 'wrong', '/k.keychain-db'], { ...outside.env, FAKE_SECURITY_PASSWORD_FILE: pw });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.toString(), fixture('security-set-key-partition-list__wrong-password.txt'));
    assert.equal(spooled(outside.dataDir)[1]?.outcome, 'fail');
  } finally {
    inside.cleanup();
    outside.cleanup();
  }
});

void test('notarytool through exec: Invalid with exit 0 is an invalid notarize event; 401 is auth', () => {
  const sb = sandbox();
  try {
    const json = cli(['agent', 'exec', '--', 'xcrun', 'notarytool', 'submit', 'a.zip', '--wait', '--output-format', 'json'], { ...sb.env, FAKE_NOTARYTOOL: 'notarytool-submit-wait-json__invalid.json' });
    assert.equal(json.status, 0);
    const auth = cli(['agent', 'exec', '--', 'xcrun', 'notarytool', 'submit', 'a.zip', '--wait'], { ...sb.env, FAKE_NOTARYTOOL: 'notarytool-auth-401.txt' });
    assert.equal(auth.status, 1);
    const [a, b] = spooled(sb.dataDir);
    assert.ok(a && b && validateEvent(a).ok && validateEvent(b).ok);
    assert.deepEqual([a.type, a.outcome, a.submissionId, a.attempts], ['notarize', 'invalid', '2e86ff68-c357-4f51-bc96-230d567f9dd6', 1]);
    assert.equal(b.outcome, 'error');
    assert.equal((b.error as { class: string }).class, 'auth');
  } finally {
    sb.cleanup();
  }
});

void test('the tool result is untouched when the spool is unusable or the config is missing', () => {
  const sb = sandbox();
  try {
    writeFileSync(join(sb.dir, 'blocker'), 'x');
    writeFileSync(sb.config, JSON.stringify({ region: 'SG', dataDir: join(sb.dir, 'blocker', 'data') }));
    const env = { ...sb.env, FAKE_CODESIGN: 'codesign-no-identity-found' };
    const r = cli(['agent', 'exec', '--', 'codesign', '-s', 'cer2.cer', 'x'], env);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.toString(), fixture('codesign-no-identity-found.txt'), 'no agent noise on stderr');
    const missing = cli(['agent', 'exec', '--config', join(sb.dir, 'nope.json'), '--', 'codesign', '-s', 'x', 'y'], { ...sb.env, FAKE_CODESIGN_EXIT: '0' });
    assert.equal(missing.status, 0);
    assert.match(missing.stderr.toString(), /cannot read \(ENOENT\).*the tool runs; no event is recorded/);
  } finally {
    sb.cleanup();
  }
});

void test('signals: forwarded to the tool; the wrapper dies of the same signal and records the failure', async () => {
  const sb = sandbox();
  try {
    // the tool sleeps until killed; the test waits for it to be running (a condition, not a delay: under load the
    // wrapper can take seconds to start, and a signal before it runs the tool would record nothing)
    const started = join(sb.dir, 'codesign.started');
    const child = spawn(process.execPath, [BIN, 'agent', 'exec', '--', 'codesign', '-s', 'X', 'x'], { env: { ...sb.env, FAKE_CODESIGN_SLEEP: '600', FAKE_CODESIGN_STARTED: started }, stdio: 'ignore' });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (c, s) => r([c, s])));
    let gone = false;
    void exited.then(() => (gone = true));
    while (!existsSync(started) && !gone) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!gone, 'the wrapper ran the tool');
    child.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.equal(code, null);
    assert.equal(signal, 'SIGTERM');
    const [ev] = spooled(sb.dataDir);
    assert.equal(ev?.exitCode, 143);
    assert.equal((ev?.error as { code: string }).code, 'signal_SIGTERM');
  } finally {
    sb.cleanup();
  }
});

void test('a missing tool: exit 127 like a shell, usage errors exit 2', () => {
  const sb = sandbox();
  try {
    const r = cli(['agent', 'exec', '--', 'no-such-tool-xyz'], sb.env);
    assert.equal(r.status, 127);
    assert.equal(cli(['agent', 'exec', '--bogus', '--', 'codesign'], sb.env).status, 2);
    assert.equal(cli(['agent', 'exec'], sb.env).status, 2);
    assert.equal(cli(['agent', 'exec', '--sink', 'kafka', '--', 'codesign'], sb.env).status, 2);
    assert.equal(cli(['agent', 'nope'], sb.env).status, 2);
    for (const sub of ['exec', 'unlock', 'scan', 'clock', 'notarize', 'run', 'install']) {
      const h = cli(['agent', sub, '--help'], sb.env);
      assert.equal(h.status, 0, sub);
      assert.match(h.stdout.toString(), /^Usage: signwatch agent /, sub);
    }
  } finally {
    sb.cleanup();
  }
});

/** Static imports reachable from a compiled module (dynamic import() is lazy and not followed). */
function staticImports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(/^\s*import\s+(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
    const spec = m[1] ?? '';
    if (spec.startsWith('.')) staticImports(join(dirname(file), spec), seen);
    else seen.add(spec);
  }
  return seen;
}

void test('the exec start-up path loads no Kafka client, OpenTelemetry, pino or zod', () => {
  const dist = join(ROOT, 'dist', 'services');
  const graph = new Set(['cli/main.js', 'agent/commands/index.js', 'agent/commands/exec.js', 'agent/record.js'].flatMap((f) => [...staticImports(join(dist, f))]));
  const packages = [...graph].filter((s) => !s.startsWith('/') && !s.startsWith('node:'));
  assert.deepEqual(packages.sort(), [], 'no npm package at all (ids come from services/agent/events.ts, not the ulid package)');
  assert.ok(![...graph].some((s) => /kafkajs|opentelemetry|pino|zod/.test(s)));
});
