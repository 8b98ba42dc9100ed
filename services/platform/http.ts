/**
 * Every signwatch HTTP server (query API, release gate, console, /metrics, the PagerDuty stand-in) gets its timeouts
 * here: a client that trickles its request is cut off once `requestTimeoutMs` has passed since it began (node's
 * server.requestTimeout, checked every `checkIntervalMs`: node's own default check runs only every 30 s), its headers
 * after `headersTimeoutMs`, and an idle connection after `connectionTimeoutMs`. The fastify servers (createHttpApp)
 * also share a body limit and one error body: `{"code": "SW_…", "message": "…"}` with the catalogue's HTTP status
 * (errors.ts); a plain node:http server (the fake PagerDuty) takes the same timeouts with
 * `serverTimeouts()` + `applyTimeouts()`. Servers bind 127.0.0.1 unless configured otherwise (their own config).
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { CodedError, ERRORS, type ErrorCode } from './errors.js';
import { HTTP_DEFAULTS, serverTimeouts, type HttpTimeouts } from './http-timeouts.js';

export { HTTP_DEFAULTS, applyTimeouts, serverTimeouts, type HttpTimeouts } from './http-timeouts.js';

export interface HttpServerOptions extends HttpTimeouts {
  bodyLimit?: number;
  /** Code for a request fastify itself rejects (bad JSON, body too large): the API's own bad-request code. */
  badRequestCode: ErrorCode;
  /** Code for an unexpected failure. */
  internalCode: ErrorCode;
}

export function sendError(reply: FastifyReply, code: ErrorCode, message: string, extra: Record<string, unknown> = {}): FastifyReply {
  return reply.code(ERRORS[code].http).send({ code, message, ...extra });
}

export function createHttpApp(o: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    http: serverTimeouts(o),
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
