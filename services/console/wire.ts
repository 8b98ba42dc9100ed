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

export interface WireFleet {
  /** Who is logged in ("local" when the console runs without a token book on loopback). */
  user: string;
  /** Transitions applied from the alert topic so far. */
  applied: number;
  regions: WireRegion[];
  /** Firing alerts, oldest first. */
  alerts: WireAlert[];
}
