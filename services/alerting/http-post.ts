/**
 * POST a JSON body and classify the outcome for retries (network/timeout/5xx/429 retryable; other 4xx permanent).
 *
 * A receiver's answer may echo the request (a misconfigured proxy, a debugging endpoint): what it returns is never
 * kept as is. Every secret the caller names (the routing key, the ticket token), any `routing_key`/`token`-like
 * JSON field and any bearer credential in it are replaced with [redacted] before it reaches an error, the notifier
 * log or the outbox's last_error; URLs in messages keep only their origin and path (no user info, no query).
 * Receivers must be https, except on the loopback interface (a local relay or the demo's stand-in).
 */
import { NotifyError } from './errors.js';
import { parseRetryAfter } from '../platform/backoff.js';
import { context, propagation } from '@opentelemetry/api';

export interface PostResult {
  status: number;
  body: string;
}

export const REDACTED = '[redacted]';

const SECRET_FIELD = /("(?:routing_key|routingKey|integration_key|service_key|token|access_token|api_key|apiKey|password|secret|authorization)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/** `text` with every given secret (raw or JSON-escaped), secret-looking JSON fields and bearer credentials masked. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < 4) continue; // too short to mask without destroying the text; never a real key
    for (const form of new Set([s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)])) out = out.split(form).join(REDACTED);
  }
  return out.replace(SECRET_FIELD, `$1"${REDACTED}"`).replace(BEARER, `$1 ${REDACTED}`);
}

/** The URL for messages: scheme, host and path only. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** Why `url` may not receive notifications (not https and not loopback), or undefined when it may. */
export function receiverUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && LOOPBACK.test(u.hostname)) return undefined;
  if (u.protocol === 'http:') return `must be https (plain http is allowed only on the loopback interface, not ${u.hostname})`;
  return `must be an https URL, got ${u.protocol.replace(/:$/, '')}`;
}

export async function postJson(
  url: string,
  body: unknown,
  opts: { timeoutMs: number; headers?: Record<string, string>; now?: () => number; secrets?: readonly string[] },
): Promise<PostResult> {
  const where = safeUrl(url);
  const clean = (t: string) => redactSecrets(t, opts.secrets);
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
      throw new NotifyError('SW_NOTIFY_TIMEOUT', `POST ${where}: no answer within ${opts.timeoutMs} ms`);
    }
    throw new NotifyError('SW_NOTIFY_NETWORK', `POST ${where}: ${clean(err.cause?.code ?? err.message)}`);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    throw new NotifyError('SW_NOTIFY_NETWORK', `POST ${where}: reading the answer failed: ${clean((e as Error).message)}`, { status: res.status });
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, body: clean(text.slice(0, 2000)) };
  const snippet = clean(text.slice(0, 2000));
  if (res.status === 429) {
    const after = parseRetryAfter(res.headers.get('retry-after'), (opts.now ?? Date.now)());
    throw new NotifyError('SW_NOTIFY_RATE_LIMITED', `POST ${where}: 429 rate limited`, { status: 429, retryAfterMs: after, body: snippet });
  }
  if (res.status >= 500 || res.status === 408) {
    throw new NotifyError('SW_NOTIFY_SERVER', `POST ${where}: ${res.status}`, { status: res.status, body: snippet });
  }
  throw new NotifyError('SW_NOTIFY_REJECTED', `POST ${where}: ${res.status} rejected: ${snippet}`, { status: res.status, body: snippet });
}
