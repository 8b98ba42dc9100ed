/**
 * Notification errors: a catalogue code (services/platform/errors.ts: SW_NOTIFY_NETWORK, _TIMEOUT, _SERVER (5xx),
 * _RATE_LIMITED (429, retried after Retry-After), _REJECTED (4xx, never retried), _CONFIG), plus what the receiver
 * answered. Retries look only at `retryable` and `retryAfterMs`.
 */
import { CodedError, type ErrorCode } from '../platform/errors.js';

export type NotifyErrorCode = Extract<ErrorCode, `SW_NOTIFY_${string}`>;

export interface NotifyErrorDetails {
  status?: number;
  retryAfterMs?: number;
  /** The receiver's answer, redacted and capped (never the request). */
  body?: string;
}

export class NotifyError extends CodedError {
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly body: string | undefined;

  constructor(code: NotifyErrorCode, message: string, details: NotifyErrorDetails = {}) {
    super(code, message);
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.body = details.body;
  }
}
