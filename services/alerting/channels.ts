/**
 * Delivery channels: the last hop of a notification. `send` resolves on 2xx and throws a NotifyError otherwise
 * (retryable or not). Secrets (routing key, ticket token) are held here, never stored in the outbox or logged: a
 * receiver that echoes them back has them redacted (http-post.ts). Receiver URLs must be https unless loopback.
 */
import { postJson, receiverUrlProblem, safeUrl } from './http-post.js';
import { NotifyError } from './errors.js';
import type { PagerDutyEvent } from './pagerduty-event.js';
import type { TicketPayload } from './ticket-payload.js';

export type ChannelName = 'pagerduty' | 'ticket';

export interface Channel {
  readonly name: ChannelName;
  send(payload: unknown): Promise<void>;
}

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

function checkUrl(channel: ChannelName, url: string): void {
  const why = receiverUrlProblem(url);
  if (why) throw new NotifyError('SW_NOTIFY_CONFIG', `${channel}: ${safeUrl(url)}: ${why}`);
}

export class PagerDutyChannel implements Channel {
  readonly name = 'pagerduty';
  readonly #routingKey: string;
  constructor(
    routingKey: string,
    private readonly url: string = PAGERDUTY_EVENTS_URL,
    private readonly timeoutMs = 10_000,
  ) {
    if (!routingKey) throw new NotifyError('SW_NOTIFY_CONFIG', 'pagerduty: routing key is empty (set SIGNWATCH_PD_ROUTING_KEY or a key file)');
    checkUrl('pagerduty', url);
    this.#routingKey = routingKey;
  }
  async send(payload: unknown): Promise<void> {
    const ev = payload as PagerDutyEvent;
    await postJson(this.url, { routing_key: this.#routingKey, ...ev }, { timeoutMs: this.timeoutMs, secrets: [this.#routingKey] });
  }
}

export class TicketWebhookChannel implements Channel {
  readonly name = 'ticket';
  readonly #token: string | undefined;
  constructor(
    private readonly url: string,
    token?: string,
    private readonly timeoutMs = 10_000,
  ) {
    checkUrl('ticket', url);
    this.#token = token;
  }
  async send(payload: unknown): Promise<void> {
    const p = payload as TicketPayload;
    const headers: Record<string, string> = { 'idempotency-key': `${p.key}#${p.action}` };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    try {
      await postJson(this.url, p, { timeoutMs: this.timeoutMs, headers, ...(this.#token ? { secrets: [this.#token] } : {}) });
    } catch (e) {
      // 409 Conflict: the receiver already holds this ticket in that state (idempotent upsert): success
      if (e instanceof NotifyError && e.status === 409) return;
      throw e;
    }
  }
}
