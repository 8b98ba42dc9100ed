/**
 * Per-person tokens (services/platform/tokens.ts, `signwatch tokens`): the book holds hashes only, the name comes
 * from the book, a malformed or group-writable book is refused naming the file and line, and `tokens add` prints the
 * token once and writes the book 0600.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bearerToken, hashToken, loadTokenBook, parseTokenBook, readPresentedToken } from '../../../services/platform/tokens.js';
import { ConfigError, UsageError } from '../../../services/platform/errors.js';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));
const sw = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });

test('a token identifies the person of its line, and no one else; unknown and empty tokens identify nobody', () => {
  const book = parseTokenBook(`# on-call\nalice ${hashToken('tok-a')}\nbob ${hashToken('tok-b')}  # release eng\n\n`, 'book');
  assert.equal(book.size, 2);
  assert.equal(book.identify('tok-a'), 'alice');
  assert.equal(book.identify('tok-b'), 'bob');
  assert.equal(book.identify('tok-c'), undefined);
  assert.equal(book.identify(''), undefined);
  assert.equal(book.identify(undefined), undefined);
  assert.deepEqual(book.names(), ['alice', 'bob']);
});

test('a malformed book is refused with its file and line: a raw token, a bad name, a duplicate', () => {
  assert.throws(() => parseTokenBook('alice swt_plaintext\n', 'b.txt'), (e: unknown) => e instanceof ConfigError && /b\.txt: line 1: the hash of alice/.test(e.message));
  assert.throws(() => parseTokenBook(`ok ${hashToken('x')}\n\u001b[31m ${hashToken('y')}\n`, 'b.txt'), /line 2: .* is not a valid name/);
  assert.throws(() => parseTokenBook(`a ${hashToken('x')}\na ${hashToken('y')}\n`, 'b.txt'), /line 2: a appears twice/);
  assert.throws(() => parseTokenBook(`a ${hashToken('x')} extra\n`, 'b.txt'), /line 1: expected/);
});

test('a group- or world-writable book is refused (someone else could add themselves)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-tok-'));
  const p = join(dir, 'book');
  writeFileSync(p, `alice ${hashToken('t')}\n`, { mode: 0o600 });
  assert.equal(loadTokenBook(p).identify('t'), 'alice');
  chmodSync(p, 0o620);
  assert.throws(() => loadTokenBook(p), /writable by group or others \(mode 620\)/);
  assert.throws(() => loadTokenBook(join(dir, 'missing')), /missing: cannot read it: ENOENT/);
});

test('the client token comes from --token-file first, then the environment, never argv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-tok-'));
  const f = join(dir, 't');
  writeFileSync(f, 'from-file\n', { mode: 0o600 });
  process.env.SW_TEST_TOKEN = 'from-env';
  try {
    assert.equal(readPresentedToken({ command: 'x', file: f, envVars: ['SW_TEST_TOKEN'] }), 'from-file');
    assert.equal(readPresentedToken({ command: 'x', envVars: ['SW_UNSET_TOKEN', 'SW_TEST_TOKEN'] }), 'from-env');
    writeFileSync(f, '\n');
    assert.throws(() => readPresentedToken({ command: 'signwatch gate override', file: f, envVars: [] }), (e: unknown) => e instanceof UsageError && /signwatch gate override: --token-file: .* is empty/.test(e.message));
  } finally {
    delete process.env.SW_TEST_TOKEN;
  }
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer  abc '), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

test('signwatch tokens add prints the token once, stores its hash 0600; list and remove', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-tok-'));
  const book = join(dir, 'book');
  const a = sw(['tokens', 'add', '--book', book, '--name', 'alice']);
  assert.equal(a.status, 0, a.stderr);
  const token = a.stdout.trim();
  assert.match(token, /^swt_[A-Za-z0-9_-]{43}$/);
  assert.equal(statSync(book).mode & 0o777, 0o600);
  assert.ok(!readFileSync(book, 'utf8').includes(token), 'the book holds the hash, not the token');
  assert.equal(loadTokenBook(book).identify(token), 'alice');
  assert.equal(sw(['tokens', 'add', '--book', book, '--name', 'bob']).status, 0);
  const dup = sw(['tokens', 'add', '--book', book, '--name', 'alice']);
  assert.equal(dup.status, 2);
  assert.match(dup.stderr, /alice already has a token/);
  assert.equal(sw(['tokens', 'list', '--book', book]).stdout, 'alice\nbob\n');
  assert.equal(sw(['tokens', 'remove', '--book', book, '--name', 'alice']).status, 0);
  assert.equal(loadTokenBook(book).identify(token), undefined);
  assert.equal(sw(['tokens', 'list', '--book', book]).stdout, 'bob\n');
  const bad = sw(['tokens', 'add', '--book', book, '--name', 'a b']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /signwatch tokens add: --name: 'a b' is not a valid name/);
});
