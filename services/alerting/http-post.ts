/** POST a JSON body and classify the outcome for retries (network/timeout/5xx/429 retryable; other 4xx permanent). */
import { NotifyError } from './errors.js';
import { parseRetryAfter } from './backoff.js';

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
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'signwatch/0.1.0', ...opts.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    if (err.name === 'TimeoutError' || err.name === 'AbortError') {
      throw new NotifyError(`POST ${url}: no answer within ${opts.timeoutMs} ms`, 'SW_NOTIFY_TIMEOUT', true);
    }
    throw new NotifyError(`POST ${url}: ${err.cause?.code ?? err.message}`, 'SW_NOTIFY_NETWORK', true);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    throw new NotifyError(`POST ${url}: reading the answer failed: ${(e as Error).message}`, 'SW_NOTIFY_NETWORK', true, res.status);
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, body: text };
  const snippet = text.slice(0, 2000);
  if (res.status === 429) {
    const after = parseRetryAfter(res.headers.get('retry-after'), (opts.now ?? Date.now)());
    throw new NotifyError(`POST ${url}: 429 rate limited`, 'SW_NOTIFY_RATE_LIMITED', true, 429, after, snippet);
  }
  if (res.status >= 500 || res.status === 408) {
    throw new NotifyError(`POST ${url}: ${res.status}`, 'SW_NOTIFY_SERVER', true, res.status, undefined, snippet);
  }
  throw new NotifyError(`POST ${url}: ${res.status} rejected: ${snippet}`, 'SW_NOTIFY_REJECTED', false, res.status, undefined, snippet);
}
