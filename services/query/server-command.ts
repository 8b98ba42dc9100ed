/** `signwatch query-server`: the query HTTP API over the configured store (see http.ts). */
import { startTracing } from '../platform/telemetry.js';
import { readFileSync } from 'node:fs';
import { parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { CodedError, UsageError } from '../platform/errors.js';
import { ConfigError } from '../platform/errors.js';
import { QueryServer, parseServerConfig } from './http.js';
import { DEFAULT_STORE } from './open-store.js';
import { openForCommand, resolveStoreSpec } from './query-command.js';

const HELP = `Usage: signwatch query-server [--listen HOST:PORT] [--store SPEC] [--token-file FILE]

Serve the postmortem queries over HTTP (GET /v1/events, GET /v1/counts, GET /healthz); parameters are the
'signwatch query' flags without '--' (e.g. /v1/events?host=mini-hk-03&since=2h&outcome=fail).

  --listen HOST:PORT   default 127.0.0.1:8787 (port 0 picks a free port; the bound URL is printed on stderr)
  --store SPEC         sqlite:PATH or postgres://… (default $SIGNWATCH_STORE, else ${DEFAULT_STORE})
  --token-file FILE    bearer token (first line); or $SIGNWATCH_QUERY_TOKEN. Required when HOST is not loopback.
  --max-concurrent N   queries answered at once (default 4, 1-1024); one more is answered 503 with Retry-After
Stops on SIGINT/SIGTERM. Exit status: 0 after a clean stop, 1 store unavailable or port busy, 2 bad usage.
`;

const OPTIONS = {
  listen: { type: 'string' },
  store: { type: 'string' },
  'token-file': { type: 'string' },
  'max-concurrent': { type: 'string' },
} as const;

export async function runServer(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs('query-server', argv, OPTIONS, HELP, false);
  if (!parsed) return 0;
  const v = parsed.values;
  const listen = v.listen ?? '127.0.0.1:8787';
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  if (!m) throw new UsageError(`signwatch query-server: --listen: "${listen}" must be HOST:PORT (e.g. 127.0.0.1:8787)`);
  let token = process.env.SIGNWATCH_QUERY_TOKEN || undefined;
  if (v['token-file'] !== undefined) {
    try {
      token = readFileSync(v['token-file'], 'utf8').split(/\r?\n/)[0]!.trim();
    } catch (e) {
      throw new UsageError(`signwatch query-server: --token-file: cannot read: ${(e as Error).message}`);
    }
  }
  let maxConcurrent: number | undefined;
  if (v['max-concurrent'] !== undefined) {
    maxConcurrent = Number(v['max-concurrent']);
    if (!/^\d{1,4}$/.test(v['max-concurrent']) || maxConcurrent < 1 || maxConcurrent > 1024) {
      throw new UsageError(`signwatch query-server: --max-concurrent: "${v['max-concurrent']}" must be an integer from 1 to 1024`);
    }
  }
  let config;
  try {
    config = parseServerConfig({ host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), ...(token !== undefined ? { token } : {}), ...(maxConcurrent !== undefined ? { maxConcurrent } : {}) });
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new UsageError(`signwatch query-server: ${e.message.replace(/^query server config: (host|port):/, '--listen:').replace(/^query server config: token:/, '--token-file:')}`);
    }
    throw e;
  }
  const store = await openForCommand(resolveStoreSpec(v.store, 'query-server'), 'query-server', true);
  const server = new QueryServer(store, config);
  // the OpenTelemetry SDK (OTEL_* environment; exports only with an OTLP endpoint): HTTP server and pg spans
  const releaseTracing = startTracing({ serviceName: 'signwatch-query-server' });
  try {
    let url: string;
    try {
      await server.start();
      url = server.url;
    } catch (e) {
      throw new CodedError('SW_QUERY_LISTEN', `signwatch query-server: cannot listen on ${listen}: ${(e as Error).message}`);
    }
    process.stderr.write(`signwatch query-server: listening on ${url}${config.token ? ' (bearer token required)' : ''}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return 0;
  } finally {
    await server.stop();
    await store.close();
    await releaseTracing();
  }
}

export const command: CommandModule = { run: runServer };
export const run = runServer;
