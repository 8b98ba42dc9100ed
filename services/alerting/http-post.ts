/** POST a JSON body and classify the outcome for retries (network/timeout/5xx/429 retryable; other 4xx permanent). */
import { NotifyError } from './errors.js';
import { parseRetryAfter } from '../platform/backoff.js';
import { context, propagation } from '@opentelemetry/api';

export interface PostResult {
  status: number;
  body: string;
}

export async function postJson(
  url: string,
  body: unknown,
  opts: { timeoutMs: number; headers?: Record<string, string>; now?: () => number },
): Promise<PostResult> {
  let res: Response;
  // the active span (the notifier's delivery span) as W3C traceparent: the receiver can join the trace
  const trace: Record<string, string> = {};
  propagation.inject(context.active(), trace);
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'signwatch/0.1.0', ...trace, ...opts.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    if (err.name === 'TimeoutError' || err.name === 'AbortError') {
      throw new NotifyError('SW_NOTIFY_TIMEOUT', `POST ${url}: no answer within ${opts.timeoutMs} ms`);
    }
    throw new NotifyError('SW_NOTIFY_NETWORK', `POST ${url}: ${err.cause?.code ?? err.message}`);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    throw new NotifyError('SW_NOTIFY_NETWORK', `POST ${url}: reading the answer failed: ${(e as Error).message}`, { status: res.status });
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, body: text };
  const snippet = text.slice(0, 2000);
  if (res.status === 429) {
    const after = parseRetryAfter(res.headers.get('retry-after'), (opts.now ?? Date.now)());
    throw new NotifyError('SW_NOTIFY_RATE_LIMITED', `POST ${url}: 429 rate limited`, { status: 429, retryAfterMs: after, body: snippet });
  }
  if (res.status >= 500 || res.status === 408) {
    throw new NotifyError('SW_NOTIFY_SERVER', `POST ${url}: ${res.status}`, { status: res.status, body: snippet });
  }
  throw new NotifyError('SW_NOTIFY_REJECTED', `POST ${url}: ${res.status} rejected: ${snippet}`, { status: res.status, body: snippet });
}
