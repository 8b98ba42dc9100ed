/**
 * `signwatch agent exec -- xcodebuild|fastlane|electron-builder …` and `--scan-output`: the build runs as it would
 * without the wrapper (argv, stdout/stderr bytes, exit status, signal) and its signing steps become events.
 * The fake build tool replays a real capture from test/fixtures/build-logs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateEvent } from '../../../schemas/events.js';
import { buildVia } from '../../../services/agent/tool-run.js';
import { cli, ROOT, sandbox, spooled, type Sandbox } from './helpers.js';

const LOGS = join(ROOT, 'test', 'fixtures', 'build-logs');

/** A fake build tool (any name) on PATH: prints its argv on stderr, the capture on stdout, then exits or kills itself. */
function fakeBuild(sb: Sandbox, name: string): NodeJS.ProcessEnv {
  const bin = join(sb.dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const script = join(bin, name);
  writeFileSync(script, '#!/bin/sh\nprintf \'%s\\n\' "$@" >&2\ncat "$FAKE_BUILD_LOG"\nif [ -n "$FAKE_BUILD_SIGNAL" ]; then kill -s "$FAKE_BUILD_SIGNAL" $$; fi\nexit "${FAKE_BUILD_EXIT:-0}"\n');
  chmodSync(script, 0o755);
  return { ...sb.env, PATH: `${bin}:${sb.env.PATH ?? ''}` };
}

void test('xcodebuild archive: same argv, stdout, stderr and exit status as without the wrapper; one codesign event via xcodebuild with the CI correlation id', () => {
  const sb = sandbox({ keychain: '/Users/ci/signing.keychain-db' });
  try {
    const log = join(LOGS, 'xcodebuild__codesign-errSecInternalComponent-gasmask.txt');
    const env = { ...fakeBuild(sb, 'xcodebuild'), FAKE_BUILD_LOG: log, FAKE_BUILD_EXIT: '65', GITHUB_RUN_ID: '31337' };
    const args = ['-scheme', 'Gas Mask', '-archivePath', '/tmp/a b.xcarchive', 'archive', '$HOME', '*'];
    const direct = spawnSync('xcodebuild', args, { env });
    const wrapped = cli(['agent', 'exec', '--', 'xcodebuild', ...args], env);
    assert.equal(wrapped.status, 65);
    assert.equal(wrapped.status, direct.status);
    assert.ok(Buffer.compare(wrapped.stdout, readFileSync(log)) === 0, 'stdout is the build log, byte for byte');
    assert.ok(Buffer.compare(wrapped.stdout, direct.stdout) === 0);
    assert.ok(Buffer.compare(wrapped.stderr, direct.stderr) === 0, 'stderr (the argv, one per line: no shell expansion)');
    const events = spooled(sb.dataDir);
    assert.equal(events.length, 1);
    const ev = events[0]!;
    assert.ok(validateEvent(ev).ok);
    assert.deepEqual(
      [ev.type, ev.via, ev.outcome, ev.exitCode, ev.identity, ev.identityName, ev.keychain, ev.correlationId, (ev.error as { code: string; class: string }).code, (ev.error as { class: string }).class],
      ['codesign', 'xcodebuild', 'fail', 1, 'DA82564E3800F844CB3C67DB26F5D2AD927DD9AD', 'Mac Developer: home@gmail.com ()', '/Users/ci/signing.keychain-db', '31337', 'errSecInternalComponent', 'keychain'],
    );
  } finally {
    sb.cleanup();
  }
});

void test('fastlane: a build failing outside signing spools only the ok signing step; a build killed by a signal makes the wrapper die of it', () => {
  const sb = sandbox({ keychain: '/Users/ci/signing.keychain-db' });
  try {
    const env = { ...fakeBuild(sb, 'fastlane'), FAKE_BUILD_LOG: join(LOGS, 'fastlane-gym-xcpretty__signing-ok-invalid-archive.txt'), FAKE_BUILD_EXIT: '1' };
    const r = cli(['agent', 'exec', '--', 'fastlane', 'ios', 'beta'], env);
    assert.equal(r.status, 1);
    const events = spooled(sb.dataDir);
    assert.deepEqual(
      events.map((e) => [e.type, e.via, e.outcome, e.error]),
      [['codesign', 'fastlane', 'ok', undefined]],
    );
    const killed = cli(['agent', 'exec', '--', 'fastlane', 'ios', 'beta'], { ...env, FAKE_BUILD_SIGNAL: 'TERM' });
    assert.equal(killed.signal, 'SIGTERM');
  } finally {
    sb.cleanup();
  }
});

void test('--scan-output on any command: electron-builder lines and notarytool lines become events (via from the log when the tool is unknown)', () => {
  const sb = sandbox({ keychain: '/Users/ci/signing.keychain-db' });
  try {
    const both = join(sb.dir, 'release.log');
    writeFileSync(both, readFileSync(join(LOGS, 'electron-builder__signing-mas-two-identities.txt'), 'utf8') + readFileSync(join(LOGS, 'notarytool-submit-wait__accepted-jenkins-xbmc.txt'), 'utf8'));
    const env = { ...fakeBuild(sb, 'release.sh'), FAKE_BUILD_LOG: both };
    const r = cli(['agent', 'exec', '--scan-output', '--', 'release.sh'], env);
    assert.equal(r.status, 0);
    assert.ok(Buffer.compare(r.stdout, readFileSync(both)) === 0);
    const events = spooled(sb.dataDir);
    assert.deepEqual(
      events.map((e) => [e.type, e.via, e.outcome, e.identityName ?? e.submissionId]),
      [
        ['codesign', 'electron-builder', 'ok', 'Developer ID Application: X'],
        ['codesign', 'electron-builder', 'ok', '3rd Party Mac Developer Application: X'],
        ['notarize', undefined, 'accepted', 'c2d32f70-a435-4752-9c5a-3532988c97df'],
      ],
    );
    for (const e of events) assert.ok(validateEvent(e).ok, JSON.stringify(e));
    // --scan-output is for builds: a codesign call is refused before anything runs (exit 2, the flag named)
    const refused = cli(['agent', 'exec', '--scan-output', '--', 'codesign', '-s', 'X', 'a.app'], env);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr.toString(), /--scan-output: 'codesign' is recorded as a codesign call already/);
    // a plain command without --scan-output records nothing
    const plain = cli(['agent', 'exec', '--', 'release.sh'], env);
    assert.equal(plain.status, 0);
    assert.equal(spooled(sb.dataDir).length, 3);
  } finally {
    sb.cleanup();
  }
});

void test('which command lines are builds: direct, through xcrun, bundle exec, npx, yarn, pnpm; not codesign or a script', () => {
  const cases: [string, string[], string | undefined][] = [
    ['xcodebuild', ['archive'], 'xcodebuild'],
    ['/usr/bin/xcrun', ['xcodebuild', '-exportArchive'], 'xcodebuild'],
    ['fastlane', ['ios', 'beta'], 'fastlane'],
    ['bundle', ['exec', 'fastlane', 'gym'], 'fastlane'],
    ['npx', ['electron-builder', '--mac'], 'electron-builder'],
    ['npx', ['--yes', 'electron-builder', '--mac'], 'electron-builder'],
    ['yarn', ['electron-builder'], 'electron-builder'],
    ['pnpm', ['exec', 'electron-builder'], 'electron-builder'],
    ['./node_modules/.bin/electron-builder', [], 'electron-builder'],
    ['codesign', ['-s', 'X', 'a.app'], undefined],
    ['npm', ['run', 'dist'], undefined],
    ['xcrun', ['notarytool', 'submit'], undefined],
  ];
  for (const [tool, args, via] of cases) assert.equal(buildVia(tool, args), via, `${tool} ${args.join(' ')}`);
});

void test('a wrapped tool inherits a blocking stdout: the wrapper does not put the shared pipe into non-blocking mode', { skip: !existsSync('/proc/self/fdinfo') }, () => {
  const sb = sandbox();
  try {
    // fdinfo flags are octal; O_NONBLOCK is 04000. A non-blocking stdout makes a tool's big writes fail with EAGAIN.
    const r = cli(['agent', 'exec', '--', 'sh', '-c', 'grep flags /proc/self/fdinfo/1'], sb.env);
    assert.equal(r.status, 0);
    const flags = parseInt(/flags:\s+([0-7]+)/.exec(r.stdout.toString())?.[1] ?? 'x', 8);
    assert.ok(Number.isInteger(flags), r.stdout.toString());
    assert.equal(flags & 0o4000, 0, `stdout flags ${flags.toString(8)}`);
  } finally {
    sb.cleanup();
  }
});
