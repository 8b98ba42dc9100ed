/**
 * The base of signwatch's coded errors: a stable `code` (SW_…, or a component's own) and whether retrying can help.
 * Retries look only at `retryable` (the Collector's consumererror.NewPermanent, fastify's error catalogue).
 */
export class CodedError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
