/**
 * Wire contract v1: one JSON event per Kafka message (topic `events.v1`, key = region).
 *
 * This zod source is the only definition. `npm run generate` writes the JSON Schema in
 * schemas/json/ for producers in other languages, and a test fails when those files drift.
 * Rules of evolution: fields may be added (objects are open: unknown keys are accepted and kept),
 * none removed or renamed without a v2 topic.
 */
import { z } from 'zod';
import { formatIssues } from '../services/platform/validation.js';
import { escapeControl } from '../services/platform/text.js';

export const REGIONS = ['HK', 'JP', 'KR', 'SG', 'US'] as const;
export const Region = z.enum(REGIONS);
export type Region = z.infer<typeof Region>;

export const Pool = z.enum(['signing', 'compile']);

/** ULID (26 Crockford base32 chars) or UUIDv7: both sort by creation time. The dedup key. */
export const EventId = z
  .string()
  .regex(
    /^(?:[0-7][0-9A-HJKMNP-TV-Z]{25}|[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$/,
    'must be a ULID or a UUIDv7',
  );

/** RFC 3339, UTC, millisecond precision: 2026-11-26T02:10:00.000Z; years 1970–9999 (before is a schema error). */
export const Timestamp = z.iso.datetime({ precision: 3 }).regex(/^(?:19[7-9][0-9]|[2-9][0-9]{3})-/, 'must be in the years 1970–9999');

const NonEmpty = z.string().min(1).max(1024);
const Sha1 = z.string().regex(/^[0-9A-F]{40}$/, 'must be 40 upper-case hex digits (SHA-1)');
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (SHA-256)');
const Duration = z.number().int().nonnegative().max(86_400_000);

const common = {
  v: z.literal(1),
  id: EventId,
  ts: Timestamp,
  host: z.string().min(1).max(253),
  region: Region,
  pool: Pool,
  correlationId: z.string().min(1).max(256).optional(),
  agent: z.string().min(1).max(64),
  /**
   * W3C trace context of the call that produced the event (`00-<trace id>-<span id>-<flags>`): `agent exec`'s
   * own span, in the CI job's trace when it ran with `TRACEPARENT`, else in a trace it started.
   */
  traceparent: z.string().regex(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, 'must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)').optional(),
  /** The span the call ran under (the CI job's, from `TRACEPARENT`), when it had one. */
  parentSpanId: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex digits').optional(),
};

/** Which build tool's log a codesign / notarize event was read from (agent exec scanning a build). */
export const BuildVia = z.enum(['xcodebuild', 'fastlane', 'electron-builder']);

export const CodesignErrorClass = z.enum(['keychain', 'identity', 'chain', 'timestamp', 'bundle', 'other']);
export type CodesignErrorClass = z.infer<typeof CodesignErrorClass>;

export const CodesignError = z.looseObject({
  code: z.string().min(1).max(128),
  osStatus: z.number().int().nullable(),
  class: CodesignErrorClass,
  message: z.string().max(4096),
});

export const CodesignEvent = z.looseObject({
  ...common,
  type: z.literal('codesign'),
  tool: z.enum(['codesign', 'productsign']),
  outcome: z.enum(['ok', 'fail']),
  durationMs: Duration,
  exitCode: z.number().int(),
  keychain: NonEmpty,
  partitionIds: z.array(z.string().min(1).max(128)).max(64),
  identity: Sha1.optional(),
  invocationId: z.string().min(1).max(128),
  error: CodesignError.optional(),
  /** What the call did (from its arguments): sign, verify (`--verify`), display (`-d`), other. Checks (verify, display) never count toward the keychain page. */
  operation: z.enum(['sign', 'verify', 'display', 'other']).optional(),
  /** The build tool whose log showed this signing step (agent exec scanning xcodebuild / fastlane / electron-builder output); absent for a direct call. */
  via: BuildVia.optional(),
  /** What the step signed, as the build log names it (path, or file name for xcbeautify). */
  target: NonEmpty.optional(),
  /** The Xcode target of the step, when the log names it. */
  targetName: z.string().min(1).max(256).optional(),
  /** The identity's name as the build log printed it (`Signing Identity:`, `identityName=`, `--sign <name>`). */
  identityName: z.string().min(1).max(512).optional(),
});

export const UnlockError = z.looseObject({
  code: z.string().min(1).max(128),
  osStatus: z.number().int().nullable(),
  message: z.string().max(4096),
});

export const UnlockEvent = z.looseObject({
  ...common,
  type: z.literal('unlock'),
  outcome: z.enum(['ok', 'fail']),
  durationMs: Duration,
  keychain: NonEmpty,
  error: UnlockError.optional(),
});

export const NotarizeErrorClass = z.enum(['apple_api', 'auth', 'network', 'keychain', 'other']);
export type NotarizeErrorClass = z.infer<typeof NotarizeErrorClass>;

export const NotarizeEvent = z.looseObject({
  ...common,
  type: z.literal('notarize'),
  outcome: z.enum(['accepted', 'invalid', 'rejected', 'error']),
  durationMs: Duration,
  attempts: z.number().int().min(1).max(100),
  submissionId: z.string().min(1).max(128).optional(),
  error: z
    .looseObject({ class: NotarizeErrorClass, code: z.string().max(128).optional(), message: z.string().max(4096) })
    .optional(),
  /** Every failed attempt before the last, in order (retries that later succeeded still show an Apple outage). */
  attemptErrors: z.array(z.looseObject({ class: NotarizeErrorClass, code: z.string().max(128).optional() })).max(100).optional(),
  /** The build tool whose log showed this notarization; absent for notarytool run directly. */
  via: BuildVia.optional(),
});

export const CertEvent = z.looseObject({
  ...common,
  type: z.literal('cert'),
  sha1: Sha1,
  subject: z.string().min(1).max(512),
  teamId: z.string().regex(/^[A-Z0-9]{10}$/, 'must be a 10-character Apple team ID').optional(),
  certKind: z.string().min(1).max(128),
  notAfter: Timestamp,
  keychain: NonEmpty,
  /** The trust evaluation said revoked (security find-identity: CSSMERR_TP_CERT_REVOKED). */
  revoked: z.boolean().optional(),
});

export const ClockEvent = z.looseObject({
  ...common,
  type: z.literal('clock'),
  /** ok (default when absent): offsetMs is the measured offset; fail: sntp gave no offset, `reason` says why. */
  outcome: z.enum(['ok', 'fail']).optional(),
  offsetMs: z.number().finite().optional(),
  server: z.string().min(1).max(253),
  reason: z.string().min(1).max(512).optional(),
  /** `sntp -d` output (agent clock --debug), capped: the block the article asks for after upgrades. */
  debug: z.string().max(16_384).optional(),
});

export const HeartbeatEvent = z.looseObject({
  ...common,
  type: z.literal('heartbeat'),
  searchList: z.array(NonEmpty).max(64),
  wrapperSha256: Sha256,
  secretVersion: z.string().min(1).max(128),
  teamIds: z.array(z.string().min(1).max(32)).max(64),
  identities: z.array(Sha1).max(256),
  /** Default keychain used for signing (parity: the same path in every region). */
  keychain: NonEmpty.optional(),
  /** Events waiting in the agent's spool, and events the spool had to drop since start. */
  spoolDepth: z.number().int().nonnegative().optional(),
  spoolDropped: z.number().int().nonnegative().optional(),
  /** SHA-1 of every Apple signing certificate in the host's keychains (valid or not): a certificate absent here has left the host. */
  certSha1s: z.array(Sha1).max(256).optional(),
  /** The App Store Connect / notarytool service account (keychain profile) label the host uses (per region). */
  notaryProfile: z.string().min(1).max(128).optional(),
});

export const AclEvent = z.looseObject({
  ...common,
  type: z.literal('acl'),
  command: z.string().min(1).max(128),
  keychain: NonEmpty,
  partitionIds: z.array(z.string().min(1).max(128)).max(64),
  declared: z.boolean(),
});

/** `agent ssh-command` (the sshd ForceCommand): one per SSH session, before the original command runs. */
export const SessionEvent = z.looseObject({
  ...common,
  type: z.literal('session'),
  user: z.string().min(1).max(256),
  /** SSH_ORIGINAL_COMMAND with password / token values replaced by ***; absent for an interactive login. */
  command: z.string().max(4096).optional(),
  /** exec: the command ran; refused: an interactive shell without `fleet.allowInteractiveSsh`; fail: the search list could not be set. */
  outcome: z.enum(['exec', 'refused', 'fail']),
  searchListBefore: z.array(NonEmpty).max(64),
  searchListAfter: z.array(NonEmpty).max(64),
});

export const DoctorCheck = z.looseObject({
  name: z.string().min(1).max(64),
  ok: z.boolean(),
  detail: z.string().max(1024),
  /** What to do when it failed. */
  fix: z.string().max(1024).optional(),
});

/** `agent doctor`: every production-readiness check of a host; ready only when all passed. */
export const DoctorEvent = z.looseObject({
  ...common,
  type: z.literal('doctor'),
  ready: z.boolean(),
  checks: z.array(DoctorCheck).min(1).max(64),
  durationMs: Duration,
});

/**
 * The quarterly revoke-one-certificate drill (`signwatch drill start|stop`): one copy per drilled region, keyed by
 * that region (`region`), all with the same `drillId`; `regions` lists every region of the drill. `host` is the
 * machine the command ran on, `pool` the pool the drill measures (signing), `by` the person named by the token
 * book. The engine's tracking of a drilled region is defined in docs/engine.md ("Drills").
 */
export const DrillEvent = z.looseObject({
  ...common,
  type: z.literal('drill'),
  action: z.enum(['start', 'stop']),
  drillId: z.string().regex(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/, 'must be a ULID'),
  /** start: the certificate revoked (a start without it is ignored); a stop names the drill by its id only. */
  sha1: Sha1.optional(),
  regions: z.array(Region).min(1).max(REGIONS.length),
  note: z.string().max(1024).optional(),
  by: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'must be a person name of the token book'),
  /** start: the region is red when not green this long after the start (ms; at most 7 days). */
  timeoutMs: z.number().int().positive().max(7 * 86_400_000).optional(),
});

export const SignEvent = z.discriminatedUnion('type', [
  CodesignEvent,
  UnlockEvent,
  NotarizeEvent,
  CertEvent,
  ClockEvent,
  HeartbeatEvent,
  AclEvent,
  SessionEvent,
  DoctorEvent,
  DrillEvent,
]);

export type SignEvent = z.infer<typeof SignEvent>;
export type CodesignEvent = z.infer<typeof CodesignEvent>;
export type UnlockEvent = z.infer<typeof UnlockEvent>;
export type NotarizeEvent = z.infer<typeof NotarizeEvent>;
export type CertEvent = z.infer<typeof CertEvent>;
export type ClockEvent = z.infer<typeof ClockEvent>;
export type HeartbeatEvent = z.infer<typeof HeartbeatEvent>;
export type AclEvent = z.infer<typeof AclEvent>;
export type SessionEvent = z.infer<typeof SessionEvent>;
export type DoctorEvent = z.infer<typeof DoctorEvent>;
export type DrillEvent = z.infer<typeof DrillEvent>;
export type EventType = SignEvent['type'];

/** The one wording of a bad region, in the CLI and the HTTP APIs (gate, query): `"XX" is not one of HK, JP, …`. */
export function badRegion(v: string): string {
  return `${JSON.stringify(v)} is not one of ${Region.options.join(', ')}`;
}
export const EVENT_TYPES: readonly EventType[] = ['codesign', 'unlock', 'notarize', 'cert', 'clock', 'heartbeat', 'acl', 'session', 'doctor', 'drill'];

/** A validation failure in words a person can act on: "line 12: region: Invalid option…". */
export function describeIssues(error: z.ZodError): string {
  return formatIssues(error, '', 5, '; ');
}

export type ParseResult = { ok: true; event: SignEvent } | { ok: false; reason: string };

/** Parse one wire message: size limit → JSON → `validate`. Never throws: bad input is a value, with its reason. */
export function parseEvent(text: string, maxBytes = 64 * 1024, validate: (json: unknown) => ParseResult = validateEvent): ParseResult {
  if (text.length > maxBytes) return { ok: false, reason: `oversized: ${text.length} bytes > ${maxBytes}` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // the parser quotes the bad text: its control bytes (ESC…) are escaped so the reason is safe to print
    return { ok: false, reason: `not JSON: ${escapeControl((e as Error).message)}` };
  }
  const r = validate(json);
  // a schema reason may quote an input value (an unknown type name): escaped for the same reason
  return r.ok ? r : { ok: false, reason: escapeControl(r.reason) };
}

export function validateEvent(json: unknown): ParseResult {
  const r = SignEvent.safeParse(json);
  if (!r.success) return { ok: false, reason: `schema: ${envelopeProblem(json) ?? describeIssues(r.error)}` };
  return { ok: true, event: r.data };
}

/**
 * What is wrong with the envelope, said first and alone (the rest of an event of another version or type is not
 * worth listing): `v: unsupported event version 2 (this signwatch reads version 1)`, `type: unknown event type
 * "x" (…)`. Undefined when the envelope is fine and the issue is inside.
 */
export function envelopeProblem(json: unknown): string | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return `(root): an event is a JSON object, got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}`;
  const o = json as Record<string, unknown>;
  if (!('v' in o)) return 'v: missing event version (this signwatch reads version 1)';
  if (o.v !== 1) return `v: unsupported event version ${JSON.stringify(o.v)} (this signwatch reads version 1)`;
  if (!('type' in o)) return `type: missing event type (one of ${EVENT_TYPES.join(', ')})`;
  if (!(EVENT_TYPES as readonly unknown[]).includes(o.type)) return `type: unknown event type ${JSON.stringify(o.type)} (one of ${EVENT_TYPES.join(', ')})`;
  return undefined;
}
