/**
 * Renders docs/img/<dashboard uid>.png: every bundled dashboard drawn from the real data of a simulated incident
 * (services/simulate demo scenario: HK keychain lock at +1h, SG slow vault at +2h, US certificate 18 days from
 * expiry), 2h15 of it backfilled into a real Prometheus with promtool, the same events stored in the real
 * PostgreSQL store, the panels' own queries run on both, then screenshotted by headless Chromium.
 *
 *   node dist/dashboards/sim/render-docs.js [--out docs/img]
 * Needs: prometheus + promtool (Debian `prometheus`), chromium (Debian `chromium`), PostgreSQL at
 * SIGNWATCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test; a unique schema is created and dropped).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parseEvent, REGIONS } from '../../schemas/events.js';
import { PostgresEventStore } from '../../services/query/postgres-store.js';
import { JSON_DIR } from '../src/cli.js';
import { buildDashboards } from '../src/index.js';
import { loadDashboardPolicy } from '../src/policy.js';
import type { AnyDashboard } from '../src/validate.js';
import { LiveFleet } from './live-fleet.js';
import { backfill } from './openmetrics.js';
import { PrometheusServer } from './prometheus-server.js';
import { renderDashboardHtml } from './render.js';

const MINUTE = 60_000;
export const IMG_DIR = fileURLToPath(new URL('../../../docs/img/', import.meta.url));

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.once('error', (e) => reject(e));
    c.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited with ${code}: ${out.slice(-2000)}`));
    });
  });
}

export async function renderDocs(outDir = IMG_DIR): Promise<string[]> {
  const policy = loadDashboardPolicy();
  const start = Date.parse('2026-11-20T00:00:00.000Z');
  // 2h15 in: HK still paging (releases frozen), SG's slow vault warning, US's certificate ticket: all at once
  const end = start + 135 * MINUTE;
  const tmp = mkdtempSync(join(tmpdir(), 'sw-dash-render-'));
  const written: string[] = [];
  const prom = new PrometheusServer({ dataDir: join(tmp, 'tsdb'), targets: [] });
  const pgUrl = process.env.SIGNWATCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `sw_dash_render_${process.pid}`;
  const store = new PostgresEventStore(`${pgUrl}?schema=${schema}`);
  const client = new pg.Client({ connectionString: pgUrl, options: `-c search_path=${schema} -c TimeZone=UTC` });
  try {
    const fleet = new LiveFleet(policy, { start, events: 22_000 });
    writeFileSync(join(tmp, 'fleet.om'), backfill(fleet, start, end, 30_000));
    mkdirSync(join(tmp, 'tsdb'));
    await run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', join(tmp, 'fleet.om'), join(tmp, 'tsdb')], 120_000);
    await prom.start();

    await store.open();
    const inputs = fleet.delivered().flatMap((raw) => {
      const r = parseEvent(raw);
      return r.ok ? [{ event: r.event, raw }] : [];
    });
    for (let i = 0; i < inputs.length; i += 2000) await store.insertBatch(inputs.slice(i, i + 2000));
    await client.connect();

    // the host drilldown shows the HK host with the most keychain-class failures
    const counts = new Map<string, number>();
    for (const { event: e } of inputs) if (e.type === 'codesign' && e.outcome === 'fail' && e.region === 'HK' && e.error?.class === 'keychain') counts.set(e.host, (counts.get(e.host) ?? 0) + 1);
    const host = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'mini-hk-01';

    mkdirSync(outDir, { recursive: true });
    for (const b of buildDashboards(policy)) {
      const d = JSON.parse(readFileSync(join(JSON_DIR, b.file), 'utf8')) as AnyDashboard;
      const vars = { region: [...REGIONS], host: [host] };
      const { html, width, height } = await renderDashboardHtml(d, {
        prom,
        pg: client,
        from: start,
        to: end,
        stepS: 60,
        rateInterval: '2m',
        vars,
        note: 'Preview drawn from the dashboard JSON: its PromQL on a real Prometheus 2.42 and its SQL on the real PostgreSQL store, data of the simulated demo incident (dashboards/sim/render-docs.ts).',
      });
      const page = join(tmp, `${d.uid ?? 'dashboard'}.html`);
      writeFileSync(page, html);
      const png = join(outDir, `${d.uid ?? 'dashboard'}.png`);
      await run(
        'chromium',
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
          '--hide-scrollbars',
          `--user-data-dir=${join(tmp, 'chromium')}`,
          `--window-size=${width},${height}`,
          `--screenshot=${png}`,
          `file://${page}`,
        ],
        120_000,
      );
      written.push(`${png} (${width}x${height}, ${Math.round(statSync(png).size / 1024)} KB)`);
    }
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await client.end().catch(() => undefined);
    await store.close();
    await prom.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write('Usage: node dist/dashboards/sim/render-docs.js [--out DIR]   (default docs/img)\n');
  } else {
    renderDocs(values.out ?? IMG_DIR).then(
      (w) => process.stdout.write(`${w.join('\n')}\n`),
      (e: unknown) => {
        process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
        process.exitCode = 1;
      },
    );
  }
}
