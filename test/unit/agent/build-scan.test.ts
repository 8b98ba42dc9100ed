/**
 * The build-log scanner on each real capture in test/fixtures/build-logs (sources in test/fixtures/build-logs/INDEX.md): the steps and
 * the wire events they become, field by field. The clock is injected (one tick of 100 ms per line), so durations are
 * exact and nothing depends on timing.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateEvent } from '../../../schemas/events.js';
import { eventsForSteps } from '../../../services/agent/build/record-build.js';
import { BuildLogScanner, MAX_LINE, builderFields, shellWords, type SignStep, type Step, type Via } from '../../../services/agent/build/scanner.js';
import { parseConfig } from '../../../services/agent/config.js';
import type { HostState } from '../../../services/agent/state.js';
import { ROOT } from './helpers.js';

const DIR = join(ROOT, 'test', 'fixtures', 'build-logs');
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const KC = '/Users/ci/Library/Keychains/signing.keychain-db';
const cfg = parseConfig({ region: 'SG', host: 'mini-sg-07', dataDir: '/tmp/none', keychain: KC });
const state: HostState = { searchList: [KC], identities: [{ sha1: '44CA2421EB0C30642C65DB3797B0BF19B9D44CCD', name: 'Developer ID Application: samedi GmbH (99L6BJ9LP6)' }], partitionIds: { [KC]: ['apple-tool:', 'apple:'] } };
const ENV = { GITHUB_RUN_ID: '9988776655' };

function text(name: string): string {
  return readFileSync(join(DIR, name), 'utf8');
}

/** Feed a capture line by line (line i at T0 + 100·i) and end it with the build's exit status. */
function scan(name: string, exitCode: number, via?: Via): Step[] {
  const s = new BuildLogScanner(via === undefined ? {} : { via });
  const lines = text(name).split(/(?<=\n)/);
  lines.forEach((l, i) => s.push(Buffer.from(l), T0 + 100 * i));
  return s.end(exitCode, T0 + 100 * lines.length);
}

function events(steps: Step[]): Record<string, unknown>[] {
  const evs = eventsForSteps(cfg, steps, state, ENV);
  for (const ev of evs) {
    const r = validateEvent(ev);
    assert.ok(r.ok, r.ok ? '' : `${r.reason}\n${JSON.stringify(ev)}`);
    assert.equal(ev.correlationId, '9988776655');
    assert.equal(ev.host, 'mini-sg-07');
    assert.equal(ev.invocationId ?? ev.id, ev.id);
  }
  return evs;
}

/** The fields a codesign event carries about its step (envelope fields are checked in events()). */
function signFields(ev: Record<string, unknown>): Record<string, unknown> {
  const { v, id, ts, host, region, pool, agent, correlationId, invocationId, ...rest } = ev;
  assert.ok(v === 1 && typeof id === 'string' && typeof ts === 'string' && host && region && pool && agent && correlationId && invocationId === id);
  return rest;
}

void test('every capture in the build-log index has a file, and every file is indexed', () => {
  const index = text('INDEX.md');
  const files = readdirSync(DIR).filter((f) => f !== 'INDEX.md');
  assert.ok(files.length >= 9);
  for (const f of files) assert.ok(index.includes(`| ${f} |`), `${f} is in INDEX.md`);
  for (const m of index.matchAll(/^\| ([^ |]+\.txt) \|/gm)) assert.ok(files.includes(m[1] ?? ''), `${m[1]} exists`);
});

void test('xcodebuild (Xcode 10, gasmask#165): one failed codesign step, errSecInternalComponent, identity name + SHA-1 from the echoed invocation', () => {
  const steps = scan('xcodebuild__codesign-errSecInternalComponent-gasmask.txt', 65);
  assert.equal(steps.length, 1);
  const [ev] = events(steps);
  assert.deepEqual(signFields(ev!), {
    type: 'codesign',
    tool: 'codesign',
    operation: 'sign',
    via: 'xcodebuild',
    outcome: 'fail',
    durationMs: 900, // header line 0 → `Command CodeSign failed` line 9
    exitCode: 1,
    keychain: KC, // no --keychain in the invocation: the search list cached by scan
    partitionIds: ['apple-tool:', 'apple:'],
    identity: 'DA82564E3800F844CB3C67DB26F5D2AD927DD9AD',
    identityName: 'Mac Developer: home@gmail.com ()',
    target: '/Users/home/Library/Developer/Xcode/DerivedData/Gas_Mask-dkdvtwdzbmdpmyaltikuxbzrquqc/Build/Products/Debug/Launcher.app',
    targetName: 'Launcher',
    error: {
      code: 'errSecInternalComponent',
      osStatus: -2070,
      class: 'keychain',
      message: '/Users/home/Library/Developer/Xcode/DerivedData/Gas_Mask-dkdvtwdzbmdpmyaltikuxbzrquqc/Build/Products/Debug/Launcher.app: errSecInternalComponent',
    },
  });
  assert.equal(ev!.ts, new Date(T0 + 900).toISOString());
});

void test('xcodebuild (Xcode 13+, MetalWorldTextureScan#9): ad-hoc identity "-", an unknown codesign text is class other with the line as message', () => {
  const [ev, ...more] = events(scan('xcodebuild__codesign-is-a-directory-adhoc-metalworld.txt', 65));
  assert.equal(more.length, 0);
  const path = '/Users/ab/Library/Developer/Xcode/DerivedData/MetalWorldTextureScan-hldengcxqvtiwnhaytoestjbpnjq/Build/Products/Debug-iphonesimulator/MetalWorldTextureScan.app';
  assert.deepEqual(signFields(ev!), {
    type: 'codesign',
    tool: 'codesign',
    operation: 'sign',
    via: 'xcodebuild',
    outcome: 'fail',
    durationMs: 800,
    exitCode: 1,
    keychain: KC,
    partitionIds: ['apple-tool:', 'apple:'],
    identityName: '-', // ad hoc: no identity SHA-1
    target: path,
    targetName: 'MetalWorldTextureScan',
    error: { code: 'unknown', osStatus: null, class: 'other', message: `${path}: Is a directory` },
  });
});

void test("xcodebuild (Xcode 15 headers with `at path '…'`, xcbeautify#169): two ok steps when the build succeeds, target names from the headers", () => {
  const evs = events(scan('xcodebuild__codesign-headers-at-path-xcbeautify.txt', 0));
  assert.deepEqual(
    evs.map((e) => [e.target, e.targetName, e.outcome, e.exitCode, e.durationMs, e.via, e.error]),
    [
      ['.../Widget.appex', 'FooWidget', 'ok', 0, 100, 'xcodebuild', undefined],
      ['.../Foo.app', 'FooApp', 'ok', 0, 100, 'xcodebuild', undefined],
    ],
  );
  // the same log from a build that failed: the last step never finished and shows no signing error → not reported
  assert.deepEqual(scan('xcodebuild__codesign-headers-at-path-xcbeautify.txt', 65).map((s) => (s as SignStep).target), ['.../Widget.appex']);
});

void test('fastlane gym + xcpretty (fastlane#11029): the `▸ Signing` step is failed by the ARCHIVE FAILED list, via fastlane', () => {
  const [ev, ...more] = events(scan('fastlane-gym-xcpretty__signing-then-archive-failed.txt', 1));
  assert.equal(more.length, 0);
  const path = '/Users/pmaganti/Library/Developer/Xcode/DerivedData/NetApp-gxyigqvzeeggjvezzdctomualxfk/Build/Intermediates.noindex/ArchiveIntermediates/Release-Development/InstallationBuildProductsLocation/Applications/NetApp.app/Frameworks/Alamofire.framework';
  assert.deepEqual(signFields(ev!), {
    type: 'codesign',
    tool: 'codesign',
    operation: 'sign',
    via: 'fastlane',
    outcome: 'fail',
    durationMs: 100, // `▸ Signing` → the next `▸` line
    exitCode: 1,
    keychain: KC,
    partitionIds: ['apple-tool:', 'apple:'],
    target: path,
    // xcpretty shows no codesign text: the wrapper's classifier has nothing to match (other / unknown)
    error: { code: 'unknown', osStatus: null, class: 'other', message: `CodeSign ${path}` },
  });
});

void test('fastlane gym + xcpretty (fastlane#5111): signing succeeds, gym fails later on the archive → an ok step and no signing failure', () => {
  const evs = events(scan('fastlane-gym-xcpretty__signing-ok-invalid-archive.txt', 1, 'fastlane'));
  assert.equal(evs.length, 1);
  assert.deepEqual(
    [evs[0]!.outcome, evs[0]!.exitCode, evs[0]!.durationMs, evs[0]!.via, evs[0]!.error],
    ['ok', 0, 100, 'fastlane', undefined],
  );
  assert.equal(evs[0]!.target, '/Users/macuser/Library/Developer/Xcode/DerivedData/xxxxappxxxx-epcgkiavcyvacwdofmwoyjaobgkz/Build/Intermediates/ArchiveIntermediates/xxxxappxxxx/InstallationBuildProductsLocation/Applications/xxxxappxxxx.app');
  assert.equal(evs.filter((e) => e.outcome === 'fail').length, 0);
});

void test('electron-builder (electron-builder#4235): one step per `• signing` line, identity name kept, a masked hash is not an identity', () => {
  const evs = events(scan('electron-builder__signing-mas-two-identities.txt', 0, 'electron-builder'));
  assert.equal(evs.length, 2);
  for (const [ev, name] of [
    [evs[0]!, 'Developer ID Application: X'],
    [evs[1]!, '3rd Party Mac Developer Application: X'],
  ] as const) {
    assert.deepEqual(signFields(ev), {
      type: 'codesign',
      tool: 'codesign',
      operation: 'sign',
      via: 'electron-builder',
      outcome: 'ok',
      durationMs: 100,
      exitCode: 0,
      keychain: KC,
      partitionIds: ['apple-tool:', 'apple:'],
      identityName: name, // identityHash=X (masked by the user) is no SHA-1 and no cached identity has this name
      target: 'dist/mas/MyApp.app',
    });
  }
});

void test('@electron/osx-sign debug (osx-sign#117): a step per `Signing...`, identity given by name resolved to the cached SHA-1, paths with spaces', () => {
  const evs = events(scan('electron-osx-sign-debug__identity-name-samedi.txt', 0, 'electron-builder'));
  assert.deepEqual(
    evs.map((e) => [e.target, e.identityName, e.identity, e.outcome, e.durationMs, e.via, e.keychain]),
    [
      ['dist/mac/samedi-app.app/Contents/Frameworks/Squirrel.framework/Versions/A/Squirrel', 'Developer ID Application: samedi GmbH (99L6BJ9LP6)', '44CA2421EB0C30642C65DB3797B0BF19B9D44CCD', 'ok', 200, 'electron-builder', KC],
      ['dist/mac/samedi-app.app/Contents/Frameworks/Squirrel.framework', 'Developer ID Application: samedi GmbH (99L6BJ9LP6)', '44CA2421EB0C30642C65DB3797B0BF19B9D44CCD', 'ok', 200, 'electron-builder', KC],
      ['dist/mac/samedi-app.app/Contents/Frameworks/samedi-app Helper EH.app/Contents/MacOS/samedi-app Helper EH', 'Developer ID Application: samedi GmbH (99L6BJ9LP6)', '44CA2421EB0C30642C65DB3797B0BF19B9D44CCD', 'ok', 200, 'electron-builder', KC],
    ],
  );
});

void test('@electron/osx-sign debug (osx-sign#200): SHA-1 and the temporary keychain from `Executing... codesign`, a step whose `Signing...` line is missing', () => {
  const evs = events(scan('electron-osx-sign-debug__sha1-keychain.txt', 0));
  const kc = '/var/folders/xh/gpx8qj1j4lq356vzbtr6fgqr0000gp/T/6257d8d505812ac107e3f341879b8e7d5f795b7c20b036c02761d937767e8dcc.keychain';
  assert.deepEqual(
    evs.map((e) => [e.target, e.identity, e.identityName, e.keychain, e.partitionIds, e.outcome, e.durationMs, e.via]),
    [
      ['/Users/me/gitrepos/my-app/dist/mac/MyApp.app/Contents/Frameworks/Mantle.framework', '99CC88B28694AB60B6259D0492040AB3E23A5413', undefined, kc, [], 'ok', 100, 'electron-builder'],
      ['/Users/me/gitrepos/my-app/dist/mac/MyApp.app/Contents/Frameworks/ReactiveCocoa.framework/Versions/A/ReactiveCocoa', '99CC88B28694AB60B6259D0492040AB3E23A5413', undefined, kc, [], 'ok', 200, 'electron-builder'],
      ['/Users/me/gitrepos/my-app/dist/mac/MyApp.app/Contents/Frameworks/ReactiveCocoa.framework', undefined, undefined, KC, ['apple-tool:', 'apple:'], 'ok', 100, 'electron-builder'],
    ],
  );
});

void test('notarytool inside a Jenkins job (xbmc#24101): one notarize event, accepted, with the submission id; no via for a script of its own', () => {
  const steps = scan('notarytool-submit-wait__accepted-jenkins-xbmc.txt', 0);
  assert.equal(steps.length, 1);
  const [ev] = events(steps);
  const { v, id, ts, host, region, pool, agent, correlationId, ...rest } = ev!;
  assert.ok(v === 1 && id && ts && host && region && pool && agent && correlationId);
  assert.deepEqual(rest, { type: 'notarize', durationMs: 2300, attempts: 1, submissionId: 'c2d32f70-a435-4752-9c5a-3532988c97df', outcome: 'accepted' });
  // the same lines in an xcodebuild / fastlane run carry its via
  assert.equal(events(scan('notarytool-submit-wait__accepted-jenkins-xbmc.txt', 0, 'fastlane'))[0]!.via, 'fastlane');
});

void test('how the log is cut into chunks changes nothing: every capture, byte by byte and in 7-byte chunks, gives the same steps', () => {
  for (const name of readdirSync(DIR).filter((f) => f.endsWith('.txt'))) {
    const whole = new BuildLogScanner();
    whole.push(Buffer.from(text(name)), T0);
    const expected = whole.end(0, T0);
    for (const size of [1, 7]) {
      const s = new BuildLogScanner();
      const b = Buffer.from(text(name));
      for (let i = 0; i < b.length; i += size) s.push(b.subarray(i, i + size), T0);
      assert.deepEqual(s.end(0, T0), expected, `${name} in ${size}-byte chunks`);
    }
    // the same with every line prefixed as a GitHub Actions log and ANSI-coloured
    const gha = new BuildLogScanner();
    gha.push(Buffer.from(text(name).replace(/^(.+)$/gm, '2026-12-01T09:00:00.1234567Z \u001b[0m$1\u001b[0m')), T0);
    assert.deepEqual(gha.end(0, T0).length, expected.length, `${name} behind GitHub Actions prefixes`);
  }
});

void test('a build that fails outside signing records no signing failure; a huge line is cut and skipped without buffering it', () => {
  const s = new BuildLogScanner({ via: 'xcodebuild' });
  const log = [
    'CompileSwift normal arm64 /src/App/Main.swift (in target \'App\' from project \'App\')',
    '/src/App/Main.swift:3:1: error: cannot find \'foo\' in scope',
    'Command CompileSwift failed with a nonzero exit code',
    '** ARCHIVE FAILED **',
    'The following build commands failed:',
    '\tCompileSwift normal arm64 /src/App/Main.swift (in target \'App\' from project \'App\')',
    '(1 failure)',
    '',
  ].join('\n');
  s.push(Buffer.from(log), T0);
  const big = Buffer.alloc(5 * MAX_LINE, 0x61);
  s.push(big, T0);
  s.push(big, T0);
  s.push(Buffer.from('\nCodeSign /x/App.app (in target \'App\' from project \'App\')\n'), T0);
  const steps = s.end(65, T0);
  assert.deepEqual(steps, []); // the codesign step at the end never finished and shows no signing error
  const kept = (s as unknown as { partial: Map<string, { parts: Buffer[] }> }).partial.get('out')?.parts ?? [];
  assert.ok(kept.reduce((n, b) => n + b.length, 0) <= MAX_LINE, 'at most MAX_LINE bytes of an unfinished line are kept');
});

void test('helpers: shell words as xcodebuild echoes them; electron-builder key=value fields with spaces', () => {
  assert.deepEqual(shellWords("--sign ABC --entitlements /a/Gas\\ Mask.build/x.xcent --timestamp\\=none '/b c'"), ['--sign', 'ABC', '--entitlements', '/a/Gas Mask.build/x.xcent', '--timestamp=none', '/b c']);
  const f = builderFields('file=dist/mac/My App.app identityName=Developer ID Application: X (T9JYPMT298) identityHash=44CA2421EB0C30642C65DB3797B0BF19B9D44CCD provisioningProfile=none');
  assert.equal(f.get('file'), 'dist/mac/My App.app');
  assert.equal(f.get('identityName'), 'Developer ID Application: X (T9JYPMT298)');
  assert.equal(f.get('identityHash'), '44CA2421EB0C30642C65DB3797B0BF19B9D44CCD');
});

void test('property: whatever the build prints, in whatever chunks, every event is a valid v1 event and the scan never throws', () => {
  const real = readdirSync(DIR).filter((f) => f.endsWith('.txt')).flatMap((f) => text(f).split('\n'));
  const line = fc.oneof(
    fc.constantFrom(...real),
    fc.string({ maxLength: 200 }),
    fc.constantFrom('CodeSign ', '▸ Signing ', '  • signing file= identityName= identityHash=', 'electron-osx-sign Executing... codesign --sign ', '  status: ', 'Error: ', '⨯ ', '{"id":"x","status":"Accepted"}', '\tCodeSign '),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 40 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 255 }), fc.constantFrom<Via | undefined>(undefined, 'xcodebuild', 'fastlane', 'electron-builder'), (lines, chunk, exit, via) => {
      const s = new BuildLogScanner(via === undefined ? {} : { via });
      const b = Buffer.from(lines.join('\n'));
      for (let i = 0; i < b.length; i += chunk) s.push(b.subarray(i, i + chunk), T0 + i, i % 2 ? 'err' : 'out');
      for (const ev of eventsForSteps(cfg, s.end(exit, T0 + b.length), state, ENV)) {
        const r = validateEvent(ev);
        assert.ok(r.ok, `${r.ok ? '' : r.reason}\n${JSON.stringify(ev).slice(0, 400)}`);
      }
    }),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 300), seed: Number(process.env.PROPERTY_SEED ?? 20261219) },
  );
});
