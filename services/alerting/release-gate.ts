/**
 * The release gate: a firing alert whose policy says `freezes` (default: every critical alert) freezes
 * releases of that region until it resolves. It is a pure fold over transitions, so its state can be rebuilt by
 * re-reading the alert topic from the start (apply() is idempotent and ignores alerts that do not freeze).
 * A manual override needs the override token, expires (ttl), and is logged (pino warn + optional audit file).
 *
 * Lifecycle: none (no timers or I/O besides the optional audit append); construct, apply(), read state().
 */
import { appendFileSync } from 'node:fs';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../platform/logger.js';
import { REGIONS, type Region } from '../../schemas/events.js';
import { freezingAlerts } from '../engine/engine.js';
import type { Policy } from '../engine/policy.js';
import type { Registry } from '../engine/rules/index.js';
import { CodedError } from '../platform/errors.js';
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
  /** The override token; overrides are refused when unset. Never logged. */
  overrideToken?: string;
  logger?: Logger;
  now?: () => number;
  /** Append every override (and its removal) as one JSON line. */
  auditFile?: string;
  /** Called after a region's frozen flag changed (e.g. to set the signwatch_release_frozen gauge). */
  onChange?: (state: GateState) => void;
  /** The alert registry whose `freezes` decide (default: the built-in alerts). */
  rules?: Registry;
}

const sha = (s: string) => createHash('sha256').update(s).digest();

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

  private checkToken(token: string | undefined): void {
    if (!this.tokenHash) throw new GateError('SW_GATE_NO_TOKEN', 'release gate: overrides are disabled (no override token configured)');
    if (!token || !timingSafeEqual(sha(token), this.tokenHash)) {
      this.opts.logger?.warn('release gate: override refused (bad token)');
      throw new GateError('SW_GATE_UNAUTHORIZED', 'release gate: bad override token');
    }
  }

  private audit(entry: Record<string, unknown>): void {
    this.opts.logger?.warn(entry, `release gate: ${String(entry.action)}`);
    if (this.opts.auditFile) appendFileSync(this.opts.auditFile, `${JSON.stringify(entry)}\n`);
  }

  /** Open a frozen region for `ttlMs` (default 1 h). Needs the token; logged. */
  override(region: Region, token: string | undefined, o: { by: string; reason: string; ttlMs?: number }): GateState {
    this.checkToken(token);
    if (!o.by.trim() || !o.reason.trim()) throw new GateError('SW_GATE_BAD_INPUT', 'release gate: an override needs "by" and "reason"');
    const at = this.now();
    const ov: GateOverride = { by: o.by, reason: o.reason, at: new Date(at).toISOString(), until: new Date(at + (o.ttlMs ?? 3_600_000)).toISOString() };
    const before = this.isFrozen(region);
    this.overrides.set(region, ov);
    this.audit({ action: 'override', region, ...ov, reasons: this.state(region).reasons.map((r) => r.dedupKey) });
    if (before !== this.isFrozen(region)) this.opts.onChange?.(this.state(region));
    return this.state(region);
  }

  clearOverride(region: Region, token: string | undefined, by: string): GateState {
    this.checkToken(token);
    const before = this.isFrozen(region);
    const had = this.overrides.delete(region);
    this.audit({ action: 'override-cleared', region, by, at: new Date(this.now()).toISOString(), had });
    if (before !== this.isFrozen(region)) this.opts.onChange?.(this.state(region));
    return this.state(region);
  }
}
