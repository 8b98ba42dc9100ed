/**
 * Where each signing certificate of a region is, from what the hosts report (used by cert_expiry and cert_revoked):
 *   - a `cert` event says: this host has this certificate (as of the event's time);
 *   - a heartbeat with `certSha1s` is the host's inventory: every certificate in its keychains as of its time;
 *   - (cert_revoked) a codesign failure with CSSMERR_TP_CERT_REVOKED says: this host signs with it.
 * Per host, a certificate is removed when an inventory newer than its latest evidence there does not list it, and
 * present while its latest evidence (a report, or an inventory listing it) is newer than staleAfter. A certificate
 * is `removed` when every host that had it removed it (until a host reports it again), and present where some host
 * has it present. A replacement is another certificate of the same kind and team, expiring later, reported at or
 * after the last evidence of the old one. Silence alone is never evidence: a certificate whose hosts stopped reporting is neither removed nor
 * replaced. Evidence is applied as it arrives (in arrival order; an inventory older than a host's latest is
 * ignored). Memory: a certificate with no evidence for forgetAfter is forgotten, and so is an inventory that old.
 */
import type { CertEvent, HeartbeatEvent } from '../../schemas/events.js';
import { toMs } from './time.js';

export interface TrackedCert {
  sha1: string;
  subject: string;
  certKind: string;
  teamId: string | undefined;
  notAfter: number;
  revoked: boolean;
  /** host → the latest evidence that the host has it (a report, or an inventory listing it), and its keychain */
  hosts: Map<string, { ts: number; keychain: string | undefined }>;
  /** Every host that had it removed it (an inventory without it); cleared by a new report. */
  removed: boolean;
  lastEvidence: number;
}

export type CertReport = Pick<CertEvent, 'sha1' | 'host'> & Partial<Pick<CertEvent, 'subject' | 'certKind' | 'teamId' | 'notAfter' | 'keychain' | 'revoked'>>;

export class CertPresence {
  readonly certs = new Map<string, TrackedCert>();
  /** host → its latest inventory (heartbeat certSha1s) */
  private readonly inventory = new Map<string, { ts: number; certs: ReadonlySet<string> }>();

  constructor(
    private readonly staleAfter: number,
    private readonly forgetAfter: number,
  ) {}

  /** A report that `e.host` has the certificate at `ts`. */
  report(e: CertReport, ts: number): TrackedCert {
    let c = this.certs.get(e.sha1);
    if (!c) {
      c = { sha1: e.sha1, subject: e.subject ?? e.sha1, certKind: e.certKind ?? '', teamId: e.teamId, notAfter: e.notAfter ? toMs(e.notAfter) : Infinity, revoked: false, hosts: new Map(), removed: false, lastEvidence: -Infinity };
      this.certs.set(e.sha1, c);
    }
    if (e.notAfter !== undefined && ts >= c.lastEvidence) {
      // the newest report's facts (a certificate does not change; a corrected subject or kind may arrive)
      c.notAfter = toMs(e.notAfter);
      if (e.subject) c.subject = e.subject;
      if (e.certKind) c.certKind = e.certKind;
      if (e.teamId) c.teamId = e.teamId;
    }
    if (e.revoked) c.revoked = true;
    const inv = this.inventory.get(e.host);
    if (inv && inv.ts > ts && !inv.certs.has(e.sha1)) {
      // a newer inventory of the host already says it is gone from there
      if (c.hosts.size === 0) c.removed = true;
      return c;
    }
    const cur = c.hosts.get(e.host);
    if (!cur || cur.ts <= ts) c.hosts.set(e.host, { ts, keychain: e.keychain ?? cur?.keychain });
    c.removed = false;
    if (ts > c.lastEvidence) c.lastEvidence = ts;
    return c;
  }

  /** A heartbeat: its certSha1s (when the agent sends them) are the host's inventory. Returns whether it was applied. */
  inventoryOf(e: HeartbeatEvent, ts: number): boolean {
    if (e.certSha1s === undefined) return false;
    const cur = this.inventory.get(e.host);
    if (cur && cur.ts > ts) return false;
    const list = new Set(e.certSha1s);
    this.inventory.set(e.host, { ts, certs: list });
    for (const c of this.certs.values()) {
      const r = c.hosts.get(e.host);
      if (!r || r.ts >= ts) continue;
      if (list.has(c.sha1)) {
        r.ts = ts;
        if (ts > c.lastEvidence) c.lastEvidence = ts;
      } else {
        c.hosts.delete(e.host);
        if (c.hosts.size === 0) c.removed = true;
      }
    }
    return true;
  }

  /** Hosts where the certificate is present at t. */
  present(c: TrackedCert, t: number): string[] {
    const out: string[] = [];
    for (const [host, r] of c.hosts) if (t < r.ts + this.staleAfter) out.push(host);
    return out.sort();
  }

  /**
   * Another certificate of the same kind and team, expiring later, not revoked, that the region reported at or after
   * the last evidence of `c` (a rotation installs it while the old one leaves; its own later silence does not undo
   * the rotation).
   */
  replacement(c: TrackedCert): TrackedCert | undefined {
    let best: TrackedCert | undefined;
    for (const o of this.certs.values()) {
      if (o.sha1 === c.sha1 || o.certKind !== c.certKind || o.teamId !== c.teamId || !(o.notAfter > c.notAfter) || o.revoked) continue;
      if (o.lastEvidence >= c.lastEvidence && (!best || o.notAfter > best.notAfter)) best = o;
    }
    return best;
  }

  /** The next instant > pos at which presence may change by time alone (staleness, forgetting). */
  nextChange(pos: number): number {
    let next = Infinity;
    const consider = (b: number) => {
      if (b > pos && b < next) next = b;
    };
    for (const c of this.certs.values()) {
      for (const r of c.hosts.values()) consider(r.ts + this.staleAfter);
      consider(c.lastEvidence + this.forgetAfter);
    }
    for (const inv of this.inventory.values()) consider(inv.ts + this.forgetAfter);
    return next;
  }

  /** Forget what has had no evidence for forgetAfter at t; returns the certificates forgotten. */
  forget(t: number): TrackedCert[] {
    const gone: TrackedCert[] = [];
    for (const c of this.certs.values()) if (t >= c.lastEvidence + this.forgetAfter) gone.push(c);
    for (const c of gone) this.certs.delete(c.sha1);
    for (const [host, inv] of this.inventory) if (t >= inv.ts + this.forgetAfter) this.inventory.delete(host);
    return gone;
  }
}
