/**
 * The console's HTTP server (fastify via platform/http.ts createHttpApp, so it has the platform's timeouts):
 *   GET  /                 the page (static, bundled by scripts/bundle-console.mjs into dist/console/)
 *   GET  /assets/console.js, /assets/console.css
 *   POST /login            {"token": "…"} → an HttpOnly SameSite=Strict session cookie (the token never in a URL)
 *   POST /logout
 *   GET  /api/me           {"user": NAME}
 *   GET  /api/fleet        the fleet snapshot (services/console/wire.ts)
 *   GET  /api/events       server-sent events: `fleet` with the whole snapshot at connect and after every change
 *   POST /collect          a Faro payload (services/console/faro.ts) counted into /metrics
 *   GET  /metrics          signwatch_console_* (Prometheus text)
 *   GET  /healthz
 * Security: with a token book every route but the page, its assets, /login and /healthz needs a person's token
 * (Authorization: Bearer, or the session cookie /login sets); without one the console answers as "local" and must
 * listen on loopback (startConsole refuses anything else). Same-origin only: no CORS headers, and a request a browser
 * marks cross-site (Sec-Fetch-Site) or whose Origin is not this host is refused with 403. Every answer carries a CSP
 * without inline script (script-src 'self'), frame-ancestors 'none' and nosniff.
 * Lifecycle: startConsole() → listening; stop() idempotent (closes the SSE streams too).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { createHttpApp, sendError, type HttpTimeouts } from '../platform/http.js';
import { ConfigError, UsageError } from '../platform/errors.js';
import { bearerToken, type TokenBook } from '../platform/tokens.js';
import type { Telemetry } from '../platform/telemetry.js';
import type { Logger } from '../platform/logger.js';
import type { ConsoleState } from './state.js';
import { FaroReceiver } from './faro.js';
import type { EventStore } from '../query/store.js';
import { registerAlertRoutes } from './routes/alert.js';
import { registerSearchRoutes } from './routes/search.js';
import { registerPagePaths } from './routes/pages.js';
import { registerFaroForward, type FaroForwardOptions } from './routes/faro-forward.js';

export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export const SESSION_COOKIE = 'sw_console';
const SESSION_MS = 12 * 3_600_000;
const HEARTBEAT_MS = 10_000;
/** The user name the console gives everyone when it runs without a token book (loopback only). */
export const LOCAL_USER = 'local';

/** The built page: dist/console/ beside dist/services/ (scripts/bundle-console.mjs writes it). */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(dir: string): Map<string, Asset> {
  const files: [string, string, string][] = [
    ['/', 'index.html', 'text/html; charset=utf-8'],
    ['/assets/console.js', 'console.js', 'text/javascript; charset=utf-8'],
    ['/assets/console.css', 'console.css', 'text/css; charset=utf-8'],
  ];
  const m = new Map<string, Asset>();
  for (const [route, file, type] of files) {
    try {
      m.set(route, { type, body: readFileSync(join(dir, file)) });
    } catch (e) {
      throw new ConfigError(`console: the page is not built: ${join(dir, file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (run npm run build)`);
    }
  }
  return m;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export interface ConsoleOptions {
  state: ConsoleState;
  telemetry: Telemetry;
  /** Who may look: per-person tokens (services/platform/tokens.ts). Without it everyone is "local" (loopback only). */
  tokenBook?: TokenBook;
  logger?: Logger;
  assetsDir?: string;
  timeouts?: HttpTimeouts;
  now?: () => number;
  /** The event store the Search page asks (`--store`); the caller opens and closes it. */
  store?: EventStore;
  /** Grafana's base URL for the Alert page's dashboard link (`--grafana-url`). */
  grafanaUrl?: string;
  /** Forward accepted Faro payloads to this receiver (`--faro-forward`). */
  faroForward?: FaroForwardOptions;
}

export function consoleApp(o: ConsoleOptions): FastifyInstance {
  const assets = loadAssets(o.assetsDir ?? DEFAULT_ASSETS_DIR);
  const now = o.now ?? Date.now;
  const sessions = new Map<string, { user: string; expires: number }>();
  const faro = new FaroReceiver(o.telemetry, o.logger);
  const logins = o.telemetry.meter.createCounter('signwatch_console_logins', { description: 'console logins, by outcome' });
  const refused = o.telemetry.meter.createCounter('signwatch_console_refused', { description: 'console requests refused, by reason' });
  const streams = new Set<ServerResponse>();
  o.telemetry.exactGauge('signwatch_console_sse_clients', 'open server-sent event streams', () => [{ labels: {}, value: streams.size }]);
  o.telemetry.exactGauge('signwatch_console_transitions_applied', 'alert transitions the console has read from the alert topic', () => [{ labels: {}, value: o.state.applied }]);

  const app = createHttpApp({ ...o.timeouts, badRequestCode: 'SW_CONSOLE_BAD_REQUEST', internalCode: 'SW_CONSOLE_INTERNAL' });

  /** The person behind a request: bearer token, else session cookie; "local" without a token book. */
  const who = (req: FastifyRequest): string | undefined => {
    if (!o.tokenBook) return LOCAL_USER;
    const bearer = bearerToken(req.headers.authorization);
    if (bearer !== undefined) return o.tokenBook.identify(bearer);
    const sid = cookie(req.headers.cookie, SESSION_COOKIE);
    const s = sid === undefined ? undefined : sessions.get(sid);
    if (!s) return undefined;
    if (s.expires <= now()) {
      sessions.delete(sid!);
      return undefined;
    }
    return s.user;
  };

  const PUBLIC = new Set(['/', '/assets/console.js', '/assets/console.css', '/login', '/healthz']);

  app.addHook('onRequest', async (req, reply) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) void reply.header(k, v);
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    const crossSite = site === 'cross-site' || site === 'same-site';
    const foreignOrigin = origin !== undefined && origin !== `http://${req.headers.host ?? ''}` && origin !== `https://${req.headers.host ?? ''}`;
    if (crossSite || foreignOrigin) {
      refused.add(1, { reason: 'cross_origin' });
      return sendError(reply, 'SW_CONSOLE_FORBIDDEN', 'console: same-origin requests only');
    }
    const path = req.url.split('?')[0] ?? '/';
    if (PUBLIC.has(path)) return;
    const user = who(req);
    if (user === undefined) {
      refused.add(1, { reason: 'unauthorized' });
      return sendError(reply, 'SW_CONSOLE_UNAUTHORIZED', 'console: log in with your token (Authorization: Bearer <token>, or POST /login)');
    }
    (req as FastifyRequest & { user?: string }).user = user;
  });
  const userOf = (req: FastifyRequest) => (req as FastifyRequest & { user?: string }).user ?? LOCAL_USER;

  for (const [route, a] of assets) {
    app.get(route, (_req, reply) => reply.type(a.type).header('cache-control', 'no-cache').send(a.body));
  }
  app.get('/healthz', () => ({ ok: true }));
  registerPagePaths(app, assets.get('/')!, PUBLIC);
  registerAlertRoutes(app, { history: o.state.history, grafanaUrl: o.grafanaUrl });
  registerSearchRoutes(app, { store: o.store, now });
  registerFaroForward(app, o.faroForward, o.telemetry, o.logger);

  app.post('/login', async (req, reply) => {
    const token = (req.body as { token?: unknown } | undefined)?.token;
    if (!o.tokenBook) return { user: LOCAL_USER };
    const user = typeof token === 'string' ? o.tokenBook.identify(token) : undefined;
    if (user === undefined) {
      logins.add(1, { outcome: 'refused' });
      o.logger?.warn('console: login refused (bad token)');
      return sendError(reply, 'SW_CONSOLE_UNAUTHORIZED', 'console: unknown token');
    }
    for (const [sid, s] of sessions) if (s.expires <= now()) sessions.delete(sid);
    const sid = randomBytes(32).toString('base64url');
    sessions.set(sid, { user, expires: now() + SESSION_MS });
    logins.add(1, { outcome: 'ok' });
    o.logger?.info({ user }, 'console: login');
    void reply.header('set-cookie', `${SESSION_COOKIE}=${sid}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}`);
    return { user };
  });
  app.post('/logout', async (req, reply) => {
    const sid = cookie(req.headers.cookie, SESSION_COOKIE);
    if (sid !== undefined) sessions.delete(sid);
    void reply.header('set-cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
    return { ok: true };
  });

  app.get('/api/me', (req) => ({ user: userOf(req) }));
  app.get('/api/fleet', (req, reply) => reply.header('cache-control', 'no-store').send(o.state.snapshot(userOf(req))));

  app.get('/api/events', (req, reply) => {
    const user = userOf(req);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    const send = () => res.write(`event: fleet\ndata: ${JSON.stringify(o.state.snapshot(user))}\n\n`);
    send();
    streams.add(res);
    const unsubscribe = o.state.subscribe(send);
    // a comment line keeps the socket busier than the server's idle timeout
    const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    beat.unref();
    const done = () => {
      clearInterval(beat);
      unsubscribe();
      streams.delete(res);
    };
    req.raw.socket.setTimeout(0);
    res.on('close', done);
  });

  app.post('/collect', async (req, reply) => {
    const problem = faro.accept(req.body);
    if (problem !== null) return sendError(reply, 'SW_CONSOLE_BAD_REQUEST', `console: /collect: ${problem}`);
    return reply.code(202).send({ ok: true });
  });
  app.post('/collect/:appKey', async (req, reply) => {
    const problem = faro.accept(req.body);
    if (problem !== null) return sendError(reply, 'SW_CONSOLE_BAD_REQUEST', `console: /collect: ${problem}`);
    return reply.code(202).send({ ok: true });
  });

  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(await o.telemetry.scrape()));

  app.setNotFoundHandler((req, reply) => sendError(reply, 'SW_CONSOLE_NOT_FOUND', `console: no route ${req.method} ${req.url.split('?')[0]}`));

  app.addHook('preClose', (done) => {
    // open event streams would keep close() waiting
    for (const s of streams) s.end();
    streams.clear();
    done();
  });
  return app;
}

export interface ConsoleServer {
  readonly url: string;
  readonly app: FastifyInstance;
  stop(): Promise<void>;
}

/** Listen; refuses a non-loopback host without a token book (the console would show the fleet to anyone). */
export async function startConsole(o: ConsoleOptions & { host: string; port: number }): Promise<ConsoleServer> {
  if (!o.tokenBook && !isLoopback(o.host)) {
    throw new UsageError(`signwatch console: --listen: ${o.host} is not a loopback address: configure --token-book so that only people with a token can look`);
  }
  const app = consoleApp(o);
  await app.listen({ host: o.host, port: o.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  let stopped = false;
  return {
    url: `http://${host}:${port}`,
    app,
    async stop() {
      if (stopped) return;
      stopped = true;
      await app.close();
    },
  };
}
