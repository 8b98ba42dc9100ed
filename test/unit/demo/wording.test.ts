/**
 * What the demo says: the first Kafka start lists every jar as it arrives (downloaded or copied from ~/.m2) and
 * says how many came from where; the screen's "pages" counts critical pages only; a demo.log line names its
 * component once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { componentLogger } from '../../../services/platform/logger.js';
import { countPagerDuty, type ViewCounters } from '../../../services/demo/view.js';

void test('kafka.sh jars: each jar listed once as it arrives, downloaded or already in ~/.m2, then the honest count', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-jars-'));
  try {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // a Maven that prints what `mvn -B dependency:copy-dependencies` prints: one jar downloaded, two already local
    writeFileSync(join(bin, 'mvn'), `#!/usr/bin/env bash
out=""; for a in "$@"; do case "$a" in -DoutputDirectory=*) out="\${a#-DoutputDirectory=}";; esac; done
echo "[INFO] Downloading from central: https://repo.maven.apache.org/maven2/org/apache/kafka/kafka_2.13/3.9.1/kafka_2.13-3.9.1.jar"
echo "[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/org/apache/kafka/kafka_2.13/3.9.1/kafka_2.13-3.9.1.jar (6.1 MB at 5 MB/s)"
for j in kafka_2.13-3.9.1.jar reload4j-1.2.25.jar zstd-jni-1.5.6-4.jar; do echo "[INFO] Copying $j to $out/$j"; touch "$out/$j"; done
`);
    writeFileSync(join(bin, 'java'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(bin, 'mvn'), 0o755);
    chmodSync(join(bin, 'java'), 0o755);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, SIGNWATCH_KAFKA_HOME: join(dir, 'home') };
    delete env.SIGNWATCH_KAFKA_LIB;
    mkdirSync(join(dir, 'home'));
    const r = spawnSync('bash', [resolve('scripts/kafka.sh'), 'jars'], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const listed = r.stderr.split('\n').filter((l) => /^\s+\[\s*\d+\] /.test(l));
    assert.deepEqual(listed.map((l) => l.trim()), [
      '[  1] kafka_2.13-3.9.1.jar (downloaded)',
      '[  2] reload4j-1.2.25.jar (already in ~/.m2)',
      '[  3] zstd-jni-1.5.6-4.jar (already in ~/.m2)',
    ]);
    assert.match(r.stderr, /3 jars cached in .*: 1 downloaded from Maven Central, 2 copied from ~\/\.m2/);
    assert.ok(existsSync(join(dir, 'home', 'lib', '.complete')));
    const again = spawnSync('bash', [resolve('scripts/kafka.sh'), 'jars'], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(again.status, 0);
    assert.equal(again.stderr, '', 'cached: nothing to say');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('the screen counts a critical trigger as a page and the SG warning as a warning', () => {
  const k: ViewCounters = { simNow: 0, stored: 0, background: 0, agentCalls: 0, agentFailures: 0, pages: 0, warnings: 0, resolves: 0, tickets: 0 };
  countPagerDuty(k, 'trigger', 'critical');
  countPagerDuty(k, 'trigger', 'warning');
  countPagerDuty(k, 'resolve', undefined);
  countPagerDuty(k, 'acknowledge', undefined);
  assert.deepEqual([k.pages, k.warnings, k.resolves], [1, 1, 1]);
});

void test('a component logger names its component once, sub-components joined with a dot', () => {
  const lines: string[] = [];
  const base = pino({ base: undefined }, { write: (s: string) => void lines.push(s) });
  const proc = componentLogger(base, 'processor');
  proc.info('a');
  proc.child({ component: 'kafka' }).info('b');
  proc.child({ partition: 3 }).child({ component: 'store-writer' }).info('c');
  assert.equal(lines.length, 3);
  for (const l of lines) assert.equal(l.match(/"component"/g)?.length, 1, l);
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { component: string }).component), ['processor', 'processor.kafka', 'processor.store-writer']);
  assert.equal((JSON.parse(lines[2]!) as { partition: number }).partition, 3);
});
