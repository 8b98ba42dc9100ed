/** Coded notification errors: retries look only at `retryable` (and `retryAfterMs` for 429). */
export type NotifyErrorCode =
  | 'SW_NOTIFY_NETWORK' // connection refused/reset, DNS: retry
  | 'SW_NOTIFY_TIMEOUT' // no answer within timeoutMs: retry
  | 'SW_NOTIFY_SERVER' // 5xx: retry
  | 'SW_NOTIFY_RATE_LIMITED' // 429: retry after Retry-After
  | 'SW_NOTIFY_REJECTED' // 400 / other 4xx: permanent, never retried (body logged)
  | 'SW_NOTIFY_CONFIG'; // bad notifier configuration: permanent

export class NotifyError extends Error {
  constructor(
    message: string,
    readonly code: NotifyErrorCode,
    readonly retryable: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
    readonly body?: string,
  ) {
    super(message);
  }
}
