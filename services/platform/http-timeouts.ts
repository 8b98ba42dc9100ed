/**
 * The timeouts every signwatch HTTP server shares (services/platform/http.ts explains them). No dependency beyond
 * node, so a plain node:http server (the fake PagerDuty) takes them without loading fastify.
 */
import type { Server, ServerOptions } from 'node:http';

export interface HttpTimeouts {
  /** Whole request (headers and body) must arrive within this (node's server.requestTimeout). */
  requestTimeoutMs?: number;
  /** A socket with no activity for this long is closed. */
  connectionTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** Headers must arrive within this (default: the smaller of requestTimeoutMs and 10 s). */
  headersTimeoutMs?: number;
  /** How often node looks for requests past their deadline (default 1 s; node's own default is 30 s). */
  checkIntervalMs?: number;
}

export const HTTP_DEFAULTS = { requestTimeoutMs: 10_000, connectionTimeoutMs: 15_000, keepAliveTimeoutMs: 5_000, checkIntervalMs: 1_000, bodyLimit: 64 * 1024 } as const;

/** node:http server options with the request/headers deadlines and their check interval. */
export function serverTimeouts(o: HttpTimeouts = {}): ServerOptions {
  const requestTimeout = o.requestTimeoutMs ?? HTTP_DEFAULTS.requestTimeoutMs;
  // node refuses a headersTimeout longer than the requestTimeout
  const headersTimeout = Math.min(o.headersTimeoutMs ?? 10_000, requestTimeout);
  return { requestTimeout, headersTimeout, connectionsCheckingInterval: o.checkIntervalMs ?? HTTP_DEFAULTS.checkIntervalMs, keepAliveTimeout: o.keepAliveTimeoutMs ?? HTTP_DEFAULTS.keepAliveTimeoutMs };
}

/** The idle-socket and keep-alive timeouts of a plain node:http server (createServer(serverTimeouts(o), …)). */
export function applyTimeouts(server: Server, o: HttpTimeouts = {}): Server {
  server.setTimeout(o.connectionTimeoutMs ?? HTTP_DEFAULTS.connectionTimeoutMs);
  server.keepAliveTimeout = o.keepAliveTimeoutMs ?? HTTP_DEFAULTS.keepAliveTimeoutMs;
  return server;
}
