/**
 * The per-host daemon behind `signwatch agent run` (commands/run.ts; a launchd LaunchAgent, see
 * `agent install --print-plist`).
 * Every `intervals.scanSec` it scans keychains (cert events + state for the wrapper), every `clockSec` it probes
 * sntp, every `heartbeatSec` it sends a heartbeat (parity fingerprint, spool depth and drops); all of it goes
 * through the spool, which the ship loop drains to the ship targets every `shipMs` (Kafka by default).
 * Lifecycle: start() runs the first scan, clock probe and heartbeat at once (a rebooted host reports again with
 * no human), then the timers; stop() is idempotent, works without start(), stops the timers, lets the current
 * batch finish (bounded) and closes the ship targets. Logs are structured JSON (pino) on stdout, secrets redacted.
 */
import type { Logger } from '../platform/logger.js';
import { probeClock } from './clock.js';
import type { AgentConfig } from './config.js';
import { emitEvents, spoolDir } from './spool/emit.js';
import type { WireEvent } from './events.js';
import { heartbeatEvent, notaryProfileOf, snapshotHost, stateFrom, type HeartbeatInput } from './scan.js';
import { Shipper } from './spool/shipper.js';
import type { ShipTarget } from './spool/ship-targets.js';
import { Spool } from './spool/spool.js';
import { readState, writeState } from './state.js';

export interface DaemonOptions {
  cfg: AgentConfig;
  sinks: readonly ShipTarget[];
  log: Logger;
}

export class AgentDaemon {
  private readonly spool: Spool;
  readonly shipper: Shipper;
  private timers: NodeJS.Timeout[] = [];
  private running = false;
  private stopped = false;
  private shipLoop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastShipError: string | undefined;
  private snapshot: HeartbeatInput | undefined;

  constructor(private readonly o: DaemonOptions) {
    this.spool = new Spool({ dir: spoolDir(o.cfg), maxEvents: o.cfg.spoolMaxEvents });
    this.shipper = new Shipper(this.spool, o.sinks);
  }

  private emit(events: WireEvent[]): void {
    const r = emitEvents(this.o.cfg, events);
    if (r.errors.length) this.o.log.error({ errors: r.errors }, 'spool append failed');
    if (r.dropped) this.o.log.warn({ dropped: r.dropped }, 'spool full: dropped oldest events');
  }

  async scan(): Promise<void> {
    const now = Date.now();
    const snap = await snapshotHost(this.o.cfg, now);
    if (snap.problems.length) this.o.log.warn({ problems: snap.problems }, 'scan problems');
    this.snapshot = snap;
    try {
      writeState(this.o.cfg.dataDir, stateFrom(snap, readState(this.o.cfg.dataDir)));
    } catch (e) {
      this.o.log.error({ err: (e as Error).message }, 'cannot write state');
    }
    this.emit(snap.certs);
    this.o.log.info({ certs: snap.certs.length, identities: snap.identities.length, searchList: snap.searchList }, 'scan');
  }

  heartbeat(): void {
    const state = readState(this.o.cfg.dataDir);
    // no scan yet: no inventory (certSha1s would claim every certificate left)
    const snap = { ...(this.snapshot ?? { searchList: state.searchList, identities: [], teamIds: [] }), notaryProfile: notaryProfileOf(this.o.cfg, state) };
    let stats;
    try {
      stats = { depth: this.spool.depth(), dropped: this.spool.droppedTotal() };
    } catch (e) {
      this.o.log.error({ err: (e as Error).message }, 'spool unreadable');
    }
    this.emit([heartbeatEvent(this.o.cfg, snap, stats, Date.now())]);
  }

  async clock(): Promise<void> {
    const p = await probeClock(this.o.cfg, this.o.cfg.sntp.server);
    this.emit([p.event]); // a failed probe is an event too (outcome fail, reason): clock_unverified reads it
    if (p.event.outcome === 'ok') this.o.log.info({ offsetMs: p.event.offsetMs, server: p.event.server }, 'clock');
    else this.o.log.warn({ reason: p.event.reason, server: this.o.cfg.sntp.server }, 'sntp failed');
  }

  private async safely(name: string, f: () => Promise<void> | void): Promise<void> {
    try {
      await f();
    } catch (e) {
      this.o.log.error({ task: name, err: (e as Error).message }, 'task failed');
    }
  }

  /** First scan, clock probe and heartbeat, then the periodic timers and the ship loop. */
  async start(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    this.spool.sweepTmp();
    this.shipLoop = this.runShipLoop();
    await this.safely('scan', () => this.scan());
    await this.safely('clock', () => this.clock());
    await this.safely('heartbeat', () => this.heartbeat());
    if (this.stopped) return;
    const iv = this.o.cfg.intervals;
    const every = (sec: number, name: string, f: () => Promise<void> | void) => {
      const t = setInterval(() => void this.safely(name, f), sec * 1000);
      this.timers.push(t);
    };
    every(iv.scanSec, 'scan', () => this.scan());
    every(iv.clockSec, 'clock', () => this.clock());
    every(iv.heartbeatSec, 'heartbeat', () => this.heartbeat());
  }

  private async runShipLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let n = 0;
      try {
        n = await this.shipper.shipOnce();
        if (failures > 0) this.o.log.info({ after: failures }, 'shipping resumed');
        if (failures > 0) this.lastShipError = undefined;
        failures = 0;
      } catch (e) {
        failures++;
        this.shipFailed((e as Error).message, failures);
      }
      if (n === 0 && !this.stopped) {
        const wait = failures > 0 ? Math.min(30_000, this.o.cfg.intervals.shipMs * 2 ** Math.min(failures, 5)) : this.o.cfg.intervals.shipMs;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** One log line per distinct failure (the ship loop and drain share it), then every 30th repeat. */
  private shipFailed(err: string, failures?: number): void {
    if (err !== this.lastShipError || (failures !== undefined && failures % 30 === 0)) this.o.log.warn({ err, ...(failures !== undefined ? { failures } : {}) }, 'ship failed; events stay in the spool');
    this.lastShipError = err;
  }

  /** Ship until the spool is empty or the deadline passes (used by `run --once`). */
  async drain(deadline: number): Promise<boolean> {
    while (Date.now() < deadline) {
      try {
        if (await this.shipper.drain(deadline)) return true;
      } catch (e) {
        this.shipFailed((e as Error).message);
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(500, deadline - Date.now()))));
      }
    }
    return this.spool.depth() === 0;
  }

  async stop(graceMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.wake?.();
    if (this.shipLoop) await Promise.race([this.shipLoop, new Promise((r) => setTimeout(r, graceMs))]);
    for (const s of this.o.sinks) await s.close().catch(() => undefined);
  }
}
