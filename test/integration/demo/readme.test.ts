/**
 * The README and docs/demo.md document only commands that exist: every `signwatch <command> [sub]` they show
 * answers `--help` with exit 0, and every `--flag` written after it appears in that help.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { COMMANDS } from '../../../services/cli/commands.js';

const BIN = resolve('bin/signwatch');
const SUBS: Record<string, readonly string[]> = {
  agent: ['exec', 'unlock', 'scan', 'clock', 'notarize', 'run', 'install'],
  alerts: ['generate', 'check', 'notify'],
  gate: ['check', 'serve', 'override'],
  store: ['import', 'stats', 'sweep'],
  dashboards: ['generate', 'check', 'schema'],
};

export function documentedCommands(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of text.matchAll(/(?:\.\/bin\/)?\bsignwatch ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?([^\n`|]*)/g)) {
    const cmd = m[1]!;
    if (!(cmd in COMMANDS)) continue;
    const sub = m[2] !== undefined && SUBS[cmd]?.includes(m[2]) ? m[2] : undefined;
    const key = sub ? `${cmd} ${sub}` : cmd;
    const flags = out.get(key) ?? new Set<string>();
    const own = (m[3] ?? '').split(' -- ')[0]!; // after ' -- ' the flags are the wrapped tool's
    for (const f of own.matchAll(/(?<=\s)--[a-z][a-z-]*/g)) flags.add(f[0]);
    out.set(key, flags);
  }
  return out;
}

void test('README.md and docs/demo.md: every documented signwatch command and flag exists', () => {
  const docs = ['README.md', 'docs/demo.md', 'docs/secured-cluster.md'].map((p) => readFileSync(p, 'utf8')).join('\n');
  const cmds = documentedCommands(docs);
  for (const must of ['demo', 'query', 'processor', 'agent exec', 'agent unlock', 'agent install', 'gate check', 'alerts notify', 'store sweep']) {
    assert.ok(cmds.has(must), `the README documents 'signwatch ${must}'`);
  }
  for (const [cmd, flags] of cmds) {
    const r = spawnSync(BIN, [...cmd.split(' '), '--help'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, `signwatch ${cmd} --help: exit ${r.status}\n${r.stderr}`);
    for (const f of flags) if (f !== '--help') assert.ok(r.stdout.includes(f), `signwatch ${cmd}: the docs use ${f}, its --help does not mention it`);
  }
});

void test('the documented-command extractor finds commands, subcommands and flags (and only those)', () => {
  const m = documentedCommands('run `./bin/signwatch gate check --region HK --url http://x` and `signwatch nosuch --x`; signwatch demo --once | x; `signwatch agent exec --password-fd 3 -- security --sign x`');
  assert.deepEqual([...m.keys()], ['gate check', 'demo', 'agent exec']);
  assert.deepEqual([...m.get('agent exec')!], ['--password-fd']);
  assert.deepEqual([...m.get('gate check')!], ['--region', '--url']);
  assert.deepEqual([...m.get('demo')!], ['--once']);
});
