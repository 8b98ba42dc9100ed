/**
 * The release gate: a firing alert whose policy says `freezes` (default: every critical alert) freezes
 * releases of that region until it resolves. It is a pure fold over transitions, so its state can be rebuilt by
 * re-reading the alert topic from the start (apply() is idempotent and ignores alerts that do not freeze).
 * A manual override needs a person's token (a token book, services/platform/tokens.ts: the name recorded as `by` comes
 * from the book, never from the request), expires within the policy's `gate.maxOverrideTtl` (default 24 h), and is
 * audited BEFORE it takes effect: the audit line is appended and fsync'd first, and when that fails the override is
 * refused (SW_GATE_AUDIT) with the state unchanged. The single shared token of older versions still works, deprecated:
 * its overrides are audited as `by: "shared-token"` (with the name the request claimed as `claimedBy`).
 *
 * Lifecycle: none (no timers or I/O besides the audit append); construct, apply(), read state().
 */
import { appendPrivate } from '../platform/files.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TokenBook } from '../platform/tokens.js';
import { formatDuration } from '../platform/duration.js';
import type { Logger } from '../platform/logger.js';
import { REGIONS, type Region } from '../../schemas/events.js';
import { freezingAlerts } from '../engine/engine.js';
import type { Policy } from '../engine/policy.js';
import type { Registry } from '../engine/rules/index.js';
import { CodedError } from '../platform/errors.js';
import { escapeControl } from '../platform/text.js';
import { readAuditTail, type GateAuditEntry } from './gate-audit.js';
import type { Transition } from '../engine/types.js';

export interface GateReason {
  alert: string;
  dedupKey: string;
  since: string;
  summary: string;
  value: number;
  threshold: number;
  labels: Record<string, string>;
}

export interface GateOverride {
  by: string;
  reason: string;
  at: string;
  until: string;
}

export interface GateState {
  region: Region;
  frozen: boolean;
  reasons: GateReason[];
  /** When the current freeze began (earliest firing reason), null when there is none. */
  since: string | null;
  /** An active manual override: the region is open although reasons exist. */
  override: GateOverride | null;
  /**
   * Hosts of the region whose configuration differs from the fleet (firing parity_drift: wrapper checksum, secret
   * version, …), whether or not parity freezes under the policy: `gate check --require-parity` refuses on them.
   */
  parity: GateReason[];
}

export class GateError extends CodedError {}

export interface ReleaseGateOptions {
  /** Who may override: a token book (per-person tokens); the audit's `by` is the holder's name from the book. */
  tokenBook?: TokenBook;
  /**
   * Deprecated: one token shared by everyone (audited as `by: "shared-token"`). Overrides are refused when neither
   * this nor `tokenBook` is set. Never logged.
   */
  overrideToken?: string;
  logger?: Logger;
  now?: () => number;
  /** Append every override (and its removal) as one JSON line, fsync'd before the change takes effect (0600). */
  auditFile?: string;
  /** Called after a region's frozen flag changed (e.g. to set the signwatch_release_frozen gauge). */
  onChange?: (state: GateState) => void;
  /** The alert registry whose `freezes` decide (default: the built-in alerts). */
  rules?: Registry;
}

const sha = (s: string) => createHash('sha256').update(s).digest();

/** The audit's `by` for an override made with the deprecated shared token. */
export const SHARED_TOKEN_BY = 'shared-token';

const hours = (ms: number): string => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : formatDuration(ms));


/** A firing transition adds (or refreshes) its reason, a resolved one removes it. Idempotent. */
function track(into: Map<Region, Map<string, GateReason>>, region: Region, t: Transition): void {
  let m = into.get(region);
  if (t.state === 'firing') {
    if (!m) into.set(region, (m = new Map<string, GateReason>()));
    const prev = m.get(t.dedupKey);
    m.set(t.dedupKey, {
      alert: t.alert,
      dedupKey: t.dedupKey,
      since: prev && prev.since < t.at ? prev.since : t.at,
      summary: t.summary,
      value: t.value,
      threshold: t.threshold,
      labels: t.labels,
    });
  } else {
    m?.delete(t.dedupKey);
  }
}

/** The alert the gate tracks for `--require-parity`. */
export const PARITY_ALERT = 'parity_drift';

export class ReleaseGate {
  private readonly reasons = new Map<Region, Map<string, GateReason>>();
  private readonly parity = new Map<Region, Map<string, GateReason>>();
  private readonly overrides = new Map<Region, GateOverride>();
  private readonly tokenHash: Buffer | undefined;
  private readonly now: () => number;
  private readonly freezing: ReadonlySet<string>;

  constructor(
    private readonly policy: Readonly<Policy>,
    private readonly opts: ReleaseGateOptions = {},
  ) {
    this.tokenHash = opts.overrideToken ? sha(opts.overrideToken) : undefined;
    this.freezing = freezingAlerts(policy, opts.rules);
    this.now = opts.now ?? Date.now;
  }

  /** Does this transition's alert freeze releases under the policy? */
  freezes(t: Transition): boolean {
    // a page of the drilled certificate raised during a drill freezes only when the policy says so (drill.freezes)
    return this.freezing.has(t.alert) && (t.drillId === undefined || this.policy.drill.freezes);
  }

  apply(t: Transition): void {
    const region = t.labels.region as Region | undefined;
    if (!region || !REGIONS.includes(region)) return;
    if (t.alert === PARITY_ALERT) track(this.parity, region, t);
    if (!this.freezes(t)) return;
    const before = this.isFrozen(region);
    track(this.reasons, region, t);
    if (before !== this.isFrozen(region)) {
      this.opts.logger?.warn({ region, frozen: !before, dedupKey: t.dedupKey, at: t.at }, before ? 'release gate: region unfrozen' : 'release gate: region frozen');
      this.opts.onChange?.(this.state(region));
    }
  }

  private activeOverride(region: Region): GateOverride | null {
    const o = this.overrides.get(region);
    if (!o) return null;
    if (Date.parse(o.until) <= this.now()) {
      this.overrides.delete(region);
      return null;
    }
    return o;
  }

  private isFrozen(region: Region): boolean {
    return (this.reasons.get(region)?.size ?? 0) > 0 && this.activeOverride(region) === null;
  }

  state(region: Region): GateState {
    const reasons = [...(this.reasons.get(region)?.values() ?? [])].sort((a, b) => a.since.localeCompare(b.since));
    const override = this.activeOverride(region);
    const parity = [...(this.parity.get(region)?.values() ?? [])].sort((a, b) => a.dedupKey.localeCompare(b.dedupKey));
    return { region, frozen: reasons.length > 0 && override === null, reasons, since: reasons[0]?.since ?? null, override, parity };
  }

  states(): GateState[] {
    return REGIONS.map((r) => this.state(r));
  }

  /** The name of whoever holds `token` (book first, then the deprecated shared token), or a GateError. */
  private identify(token: string | undefined): { by: string; shared: boolean } {
    if (!this.tokenHash && !this.opts.tokenBook) throw new GateError('SW_GATE_NO_TOKEN', 'release gate: overrides are disabled (no token book or override token configured)');
    const name = this.opts.tokenBook?.identify(token);
    if (name !== undefined) return { by: name, shared: false };
    if (token && this.tokenHash && timingSafeEqual(sha(token), this.tokenHash)) return { by: SHARED_TOKEN_BY, shared: true };
    this.opts.logger?.warn('release gate: override refused (bad token)');
    throw new GateError('SW_GATE_UNAUTHORIZED', 'release gate: bad override token');
  }

  /** A request's own `by` must name the token's holder (it is never trusted on its own). */
  private checkClaim(who: { by: string; shared: boolean }, claimed: string | undefined): void {
    if (who.shared || claimed === undefined || claimed === '' || claimed === who.by) return;
    this.opts.logger?.warn({ holder: who.by }, 'release gate: override refused (by names someone else)');
    throw new GateError('SW_GATE_FORBIDDEN', `release gate: by: '${escapeControl(claimed.slice(0, 100))}' is not the holder of this token (${who.by}); leave it out or send your own name`);
  }

  /**
   * Record the change before it is made: one JSON line appended and fsync'd (file created 0600, never through a
   * symlink). A failure is SW_GATE_AUDIT and the caller must not make the change.
   */
  private audit(entry: Record<string, unknown>): void {
    if (this.opts.auditFile) {
      try {
        // the platform's one way to write our files: 0600, O_NOFOLLOW, ours only (services/platform/files.ts)
        appendPrivate(this.opts.auditFile, `${JSON.stringify(entry)}\n`, { fsync: true });
      } catch (e) {
        const why = e instanceof CodedError ? e.message : ((e as NodeJS.ErrnoException).code ?? (e as Error).message);
        this.opts.logger?.error({ auditFile: this.opts.auditFile, err: why, action: entry.action, region: entry.region }, 'release gate: audit write failed: change refused');
        throw new GateError('SW_GATE_AUDIT', `release gate: the audit log cannot be written (${why}), so the ${String(entry.action)} was not made`);
      }
    }
    this.opts.logger?.warn(entry, `release gate: ${String(entry.action)}`);
  }

  /**
   * The audit trail, newest first (the last `limit` lines of the audit file, gate-audit.ts), for a person with a
   * token (the same check as an override). `enabled` is false when the gate keeps no audit file.
   */
  auditTrail(token: string | undefined, limit = 100): { enabled: boolean; entries: GateAuditEntry[] } {
    this.identify(token);
    if (!this.opts.auditFile) return { enabled: false, entries: [] };
    try {
      return { enabled: true, entries: readAuditTail(this.opts.auditFile, limit) };
    } catch (e) {
      throw new GateError('SW_GATE_AUDIT', `release gate: the audit log cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }

  /** Longest override the policy allows (`gate.maxOverrideTtl`, default 24 h). */
  get maxOverrideTtlMs(): number {
    return this.policy.gate.maxOverrideTtl;
  }

  /**
   * Open a frozen region for `ttlMs` (default 1 h, at most the policy's gate.maxOverrideTtl). Needs a person's token;
   * `by` is taken from the token book (a request `by` naming someone else is refused). Audited first.
   */
  override(region: Region, token: string | undefined, o: { by?: string; reason: string; ttlMs?: number }): GateState {
    const who = this.identify(token);
    this.checkClaim(who, o.by);
    if (!o.reason.trim()) throw new GateError('SW_GATE_BAD_INPUT', 'release gate: an override needs a "reason"');
    const ttlMs = o.ttlMs ?? 3_600_000;
    const max = this.maxOverrideTtlMs;
    if (ttlMs <= 0) throw new GateError('SW_GATE_BAD_INPUT', 'release gate: ttl: must be longer than 0');
    if (ttlMs > max) throw new GateError('SW_GATE_BAD_INPUT', `release gate: ttl: ${formatDuration(ttlMs)} is longer than the maximum ${hours(max)} (policy gate.maxOverrideTtl)`);
    const at = this.now();
    const ov: GateOverride = { by: who.by, reason: o.reason, at: new Date(at).toISOString(), until: new Date(at + ttlMs).toISOString() };
    const entry: Record<string, unknown> = { action: 'override', region, ...ov, reasons: this.state(region).reasons.map((r) => r.dedupKey) };
    if (who.shared && o.by) entry.claimedBy = o.by;
    this.audit(entry);
    const before = this.isFrozen(region);
    this.overrides.set(region, ov);
    if (before !== this.isFrozen(region)) this.opts.onChange?.(this.state(region));
    return this.state(region);
  }

  /** Remove a region's override. Needs a person's token (`by` from the book, as for override()); audited first. */
  clearOverride(region: Region, token: string | undefined, by?: string): GateState {
    const who = this.identify(token);
    this.checkClaim(who, by);
    const had = this.activeOverride(region) !== null;
    const entry: Record<string, unknown> = { action: 'override-cleared', region, by: who.by, at: new Date(this.now()).toISOString(), had };
    if (who.shared && by) entry.claimedBy = by;
    this.audit(entry);
    const before = this.isFrozen(region);
    this.overrides.delete(region);
    if (before !== this.isFrozen(region)) this.opts.onChange?.(this.state(region));
    return this.state(region);
  }
}
