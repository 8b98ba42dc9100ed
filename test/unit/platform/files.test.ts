/**
 * issue 16 item 8: every file signwatch creates is 0600 in a 0700 directory (SQLite store and its WAL, notifier
 * outbox, gate audit log, agent-errors.log, agent state), a group/world-writable agent dataDir is refused, and a
 * symlink at a data/log path is refused (O_NOFOLLOW) instead of written through; the errors name the path and why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendPrivate, ensurePrivateDir, ensurePrivateFile, UnsafePathError } from '../../../services/platform/files.js';
import { SqliteEventStore } from '../../../services/query/sqlite-store.js';
import { Outbox } from '../../../services/alerting/outbox.js';
import { ReleaseGate } from '../../../services/alerting/release-gate.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { logAgentError } from '../../../services/agent/spool/emit.js';
import { parseConfig } from '../../../services/agent/config.js';
import { writeState, readState } from '../../../services/agent/state.js';
import { cli, sandbox, spooled } from '../agent/helpers.js';

const mode = (p: string) => statSync(p).mode & 0o7777;

function tmp(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sw-files-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

void test('issue 16 item 8: SQLite store (and its WAL), outbox, gate audit, agent-errors.log and state are 0600 in 0700 dirs', async () => {
  const t = tmp();
  try {
    const store = new SqliteEventStore(join(t.dir, 'new', 'events.db'));
    await store.open();
    const wal = join(t.dir, 'new', 'events.db-wal');
    if (existsSync(wal)) assert.equal(mode(wal), 0o600);
    await store.close();
    assert.equal(mode(join(t.dir, 'new')), 0o700);
    assert.equal(mode(join(t.dir, 'new', 'events.db')), 0o600);

    const outbox = new Outbox(join(t.dir, 'ob', 'outbox.db'));
    outbox.close();
    assert.equal(mode(join(t.dir, 'ob')), 0o700);
    assert.equal(mode(join(t.dir, 'ob', 'outbox.db')), 0o600);

    const audit = join(t.dir, 'gate', 'audit.ndjson');
    const gate = new ReleaseGate(defaultPolicy(), { auditFile: audit, overrideToken: 'a-token-of-sixteen-chars' });
    try {
      gate.override('HK', 'a-token-of-sixteen-chars', { by: 'alice', reason: 'hotfix', ttlMs: 60_000 });
    } catch {
      /* an override of an unfrozen region may be refused; the audit line is what is checked */
    }
    if (existsSync(audit)) assert.equal(mode(audit), 0o600);
    appendPrivate(audit, '{"x":1}\n', { fsync: true });
    assert.equal(mode(audit), 0o600);

    const dataDir = join(t.dir, 'agent');
    const cfg = parseConfig({ region: 'SG', host: 'mini-sg-07', dataDir });
    logAgentError(cfg, 'test: hello');
    assert.equal(mode(dataDir), 0o700);
    assert.equal(mode(join(dataDir, 'agent-errors.log')), 0o600);
    writeState(dataDir, readState(dataDir));
    assert.equal(mode(join(dataDir, 'state.json')), 0o600);

    // a pre-existing 0644 file of ours (an older signwatch) is narrowed to 0600 when opened
    const old = join(t.dir, 'new', 'old.db');
    writeFileSync(old, '');
    chmodSync(old, 0o644);
    ensurePrivateFile(old);
    assert.equal(mode(old), 0o600);
  } finally {
    t.done();
  }
});

void test('issue 16 item 8: a symlinked agent-errors.log, store or audit file is refused, its target untouched', async () => {
  const t = tmp();
  try {
    const target = join(t.dir, 'victim.txt');
    writeFileSync(target, 'precious\n');
    const dataDir = join(t.dir, 'agent');
    mkdirSync(dataDir, { mode: 0o700 });
    symlinkSync(target, join(dataDir, 'agent-errors.log'));
    logAgentError(parseConfig({ region: 'SG', host: 'mini-sg-07', dataDir }), 'exec: something');
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');

    const link = join(t.dir, 'audit.ndjson');
    symlinkSync(target, link);
    assert.throws(() => appendPrivate(link, 'x\n'), (e: unknown) => e instanceof UnsafePathError && e.code === 'SW_FILE_UNSAFE' && e.message.includes(link) && /symbolic link/.test(e.message));
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');

    const dbLink = join(t.dir, 'events.db');
    symlinkSync(target, dbLink);
    const store = new SqliteEventStore(dbLink);
    await assert.rejects(store.open(), (e: Error) => e.message.includes(dbLink) && /symbolic link/.test(e.message));
    await store.close();
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
  } finally {
    t.done();
  }
});

void test('issue 16 item 8: a group/world-writable agent dataDir (1777) is refused: agent run says so, exec writes nothing there', () => {
  const sb = sandbox();
  try {
    mkdirSync(sb.dataDir);
    chmodSync(sb.dataDir, 0o1777);
    assert.throws(() => ensurePrivateDir(sb.dataDir), (e: Error) => e.message.includes(sb.dataDir) && /group\/world-writable \(mode 1777\)/.test(e.message));
    const r = cli(['agent', 'run', '--once', '--sink', '-', '--timeout', '5'], sb.env);
    assert.equal(r.status, 2, r.stderr.toString());
    assert.match(r.stderr.toString(), new RegExp(`dataDir ${sb.dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is group/world-writable`));
    // the signing call itself is untouched (exit 0), but nothing is spooled or logged into the unsafe directory
    const x = cli(['agent', 'exec', '--', 'codesign', '--force', '--sign', '-', 'App.app'], sb.env);
    assert.equal(x.status, 0, x.stderr.toString());
    assert.deepEqual(spooled(sb.dataDir), []);
    assert.equal(existsSync(join(sb.dataDir, 'agent-errors.log')), false);
    // group-writable without the sticky bit: refused too; 0700 accepted
    chmodSync(sb.dataDir, 0o770);
    assert.throws(() => ensurePrivateDir(sb.dataDir), /group\/world-writable \(mode 0770\)/);
    chmodSync(sb.dataDir, 0o700);
    ensurePrivateDir(sb.dataDir);
  } finally {
    sb.cleanup();
  }
});
