// Runs the compiled test suite with node's test runner: unit tests always, integration tests
// (real Kafka, Prometheus, PostgreSQL…) when SIGNWATCH_INTEGRATION=1 (set by .ci/run after it starts the servers).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const dirs = ['dist/test/unit'];
if (process.env.SIGNWATCH_INTEGRATION === '1' && existsSync('dist/test/integration')) dirs.push('dist/test/integration');
const extra = process.argv.slice(2);
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...extra, ...dirs], { stdio: 'inherit' });
process.exit(r.status ?? 1);
