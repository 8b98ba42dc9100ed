/**
 * Issue 16, item 5: `processor --check-config` printed store.spec with its password although the help says secrets
 * are redacted, and the config file accepted a password inside store.spec although the docs say it must not be
 * there. A password in store.spec is now refused like `--store` refuses one, and every printed spec is redacted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { carriesPassword, redactConfig } from '../../../services/platform/check-config.js';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));
const SECRET = 'Pg5ecret';
// the forms a PostgreSQL password can take in a connection string (pg accepts each)
const SPECS = [
  `postgres://signwatch:${SECRET}@db.internal:5432/signwatch`,
  `postgresql://signwatch:${SECRET}/x@db.internal/signwatch`,
  `postgres://signwatch:${SECRET}@x@db.internal/signwatch`,
  `postgres://signwatch@db.internal/signwatch?password=${SECRET}&schema=sw`,
  `postgres://db.internal/signwatch?sslpassword=${SECRET}`,
];

void test('issue 16 item 5: a password inside store.spec in the processor config file is refused, naming the key and the way out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-store-spec-'));
  try {
    for (const spec of SPECS) {
      const f = join(dir, 'processor.yaml');
      writeFileSync(f, `store:\n  enabled: true\n  spec: "${spec}"\n`);
      const r = spawnSync(process.execPath, [MAIN, 'processor', '--config', f, '--check-config'], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${spec}: ${r.stdout}`);
      assert.match(r.stderr, new RegExp(`^signwatch processor: ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: store\\.spec: do not put a password in the config file; use the environment variable named by store\\.specEnv \\(default SIGNWATCH_STORE\\) or \\$PGPASSWORD`));
      assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), spec);
    }
    const f = join(dir, 'ok.yaml');
    writeFileSync(f, 'store:\n  enabled: true\n  spec: "postgres://signwatch@db.internal/signwatch?schema=sw"\n');
    const ok = spawnSync(process.execPath, [MAIN, 'processor', '--config', f, '--check-config'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { store: { spec: string } }).store.spec, 'postgres://signwatch@db.internal/signwatch?schema=sw');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('issue 16 item 5: --check-config redaction masks every form of a connection-string password', () => {
  for (const spec of [...SPECS, `host=db.internal password=${SECRET} user=signwatch`]) {
    assert.equal(carriesPassword(spec), true, spec);
    const shown = JSON.stringify(redactConfig({ store: { spec } }));
    assert.ok(!shown.includes(SECRET), shown);
    assert.match(shown, /\[redacted\]/);
  }
  for (const plain of ['sqlite:/var/lib/signwatch/events.db', 'postgres://signwatch@db.internal/signwatch', 'https://events.pagerduty.com/v2/enqueue']) {
    assert.equal(carriesPassword(plain), false, plain);
  }
});
