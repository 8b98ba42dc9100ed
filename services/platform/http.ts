/**
 * Every signwatch HTTP server (query API, release gate, console, PagerDuty stand-in) is built here: fastify with
 * the same timeouts (a client that trickles its request is cut off after `requestTimeoutMs`; an idle connection
 * after `connectionTimeoutMs`), a body limit, and one error body: `{"code": "SW_…", "message": "…"}` with the
 * catalogue's HTTP status (errors.ts). Servers bind 127.0.0.1 unless configured otherwise (their own config).
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { CodedError, ERRORS, type ErrorCode } from './errors.js';

export interface HttpServerOptions {
  /** Whole request (headers and body) must arrive within this (node's server.requestTimeout). */
  requestTimeoutMs?: number;
  /** A socket with no activity for this long is closed. */
  connectionTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  bodyLimit?: number;
  /** Code for a request fastify itself rejects (bad JSON, body too large): the API's own bad-request code. */
  badRequestCode: ErrorCode;
  /** Code for an unexpected failure. */
  internalCode: ErrorCode;
}

export const HTTP_DEFAULTS = { requestTimeoutMs: 10_000, connectionTimeoutMs: 15_000, keepAliveTimeoutMs: 5_000, bodyLimit: 64 * 1024 } as const;

export function sendError(reply: FastifyReply, code: ErrorCode, message: string, extra: Record<string, unknown> = {}): FastifyReply {
  return reply.code(ERRORS[code].http).send({ code, message, ...extra });
}

export function createHttpApp(o: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    requestTimeout: o.requestTimeoutMs ?? HTTP_DEFAULTS.requestTimeoutMs,
    connectionTimeout: o.connectionTimeoutMs ?? HTTP_DEFAULTS.connectionTimeoutMs,
    keepAliveTimeout: o.keepAliveTimeoutMs ?? HTTP_DEFAULTS.keepAliveTimeoutMs,
    bodyLimit: o.bodyLimit ?? HTTP_DEFAULTS.bodyLimit,
  });
  app.setErrorHandler(async (err, _req, reply) => {
    if (err instanceof CodedError) {
      // a retryable failure (a busy store) is 503 whatever the code's usual status
      const status = err.retryable && err.httpStatus >= 500 ? 503 : err.httpStatus;
      await reply.code(status).send({ code: err.code, message: status >= 500 ? `${ERRORS[err.code].what}` : err.message, retryable: err.retryable });
      return;
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status < 500) await sendError(reply, o.badRequestCode, (err as Error).message);
    else await sendError(reply, o.internalCode, 'internal error');
  });
  return app;
}
