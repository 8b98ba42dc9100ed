/**
 * What the console server sends its page (GET /api/fleet and the `fleet` server-sent event): plain data, no imports,
 * so the browser bundle (services/console/web/) and the server share one definition.
 */
export interface WireReason {
  alert: string;
  dedupKey: string;
  since: string;
  summary: string;
}

export interface WireRegion {
  region: string;
  frozen: boolean;
  since: string | null;
  reasons: WireReason[];
  override: { by: string; reason: string; until: string } | null;
}

export interface WireAlert {
  alert: string;
  dedupKey: string;
  region: string;
  severity: string;
  since: string;
  summary: string;
  value: number;
  threshold: number;
  hosts: string[];
  keychains: string[];
  errorCodes: string[];
  correlationIds: string[];
}

export interface WireFleet extends WireFleetFigures {
  /** Who is logged in ("local" when the console runs without a token book on loopback). */
  user: string;
  /** Transitions applied from the alert topic so far. */
  applied: number;
  regions: WireRegion[];
  /** Firing alerts, oldest first. */
  alerts: WireAlert[];
}

/** A region tile's figures from the processor's exact gauges (services/console/figures.ts); null: none reported. */
export interface WireFigures {
  /** Keychain-class codesign failures in the trailing window; the alert fires above `threshold`. */
  keychainFailures: { count: number; threshold: number; windowMs: number } | null;
  /** Unlock p95 in the trailing window (null with no sample); the warning needs `minSamples`. */
  unlockP95: { ms: number | null; samples: number; thresholdMs: number; minSamples: number } | null;
  /** The certificate of the region closest to notAfter (whole days); a ticket opens under `ticketDays`. */
  certExpiry: { days: number; subject: string; sha1: string; ticketDays: number } | null;
  /** Hosts silent for silentAfter or longer, out of `reporting` hosts with a heartbeat. */
  silentHosts: { hosts: string[]; reporting: number; silentAfterMs: number } | null;
  /** The region's latest drill: hosts still pending, time to green once green. */
  drill: { pendingHosts: number; timeToGreenS: number | null } | null;
  /** When the console read them. */
  at: string;
}

/** The figures part of a snapshot (absent when the console has no processor to read). */
export interface WireFleetFigures {
  figures?: Record<string, WireFigures>;
  /** Why the last read of the processor failed (the figures shown are the last good ones). */
  figuresError?: string;
}
