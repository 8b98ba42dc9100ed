/**
 * The wire contract (schemas/events.ts) as straight-line code, for the hot path (replay, processor, store
 * ingest): isEvent(json) is true exactly when the zod schema accepts json, without building zod's result or issue
 * list. It says yes or no only; the reason for a no is zod's (schemas/validate.ts). Written by hand from the zod
 * source: a change to events.ts must be made here too — test/unit/schemas/schemas.test.ts checks that this, zod
 * and the ajv validator compiled from the generated JSON Schema accept and reject the same mutated events.
 *
 * zod's semantics kept: an optional field may be absent or undefined; z.number() is finite, .int() a safe
 * integer; string lengths are code points (zod 4.6); objects are open (unknown keys accepted).
 */

type Obj = Record<string, unknown>;

// character classes (bit per class) of the ASCII range; anything above 127 is in none
const DIGIT = 1;
const UPPER_HEX = 2; // 0-9 A-F
const LOWER_HEX = 4; // 0-9 a-f
const CROCKFORD = 8; // ULID body: 0-9 A-Z without I L O U
const CLS = new Uint8Array(128);
for (let c = 48; c <= 57; c++) CLS[c] = DIGIT | UPPER_HEX | LOWER_HEX | CROCKFORD;
for (let c = 65; c <= 70; c++) CLS[c]! |= UPPER_HEX;
for (let c = 97; c <= 102; c++) CLS[c]! |= LOWER_HEX;
for (let c = 65; c <= 90; c++) if (c !== 73 && c !== 76 && c !== 79 && c !== 85) CLS[c]! |= CROCKFORD;

function all(s: string, from: number, to: number, cls: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || (CLS[c]! & cls) === 0) return false;
  }
  return true;
}

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Code points, as zod counts them: a well-formed surrogate pair is one, a lone surrogate one. */
function codePoints(s: string): number {
  const units = s.length;
  let n = units;
  for (let i = 0; i < units - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--;
      i++;
    }
  }
  return n;
}

/** zod's .min(min).max(max) on a string: its length in code points (one or two UTF-16 units each). */
function fits(s: string, min: number, max: number): boolean {
  const units = s.length;
  if (units < min || units > 2 * max) return false;
  if (units <= max && units >= 2 * min) return true;
  const n = codePoints(s);
  return n >= min && n <= max;
}

const str = (x: unknown, min: number, max: number): boolean => typeof x === 'string' && fits(x, min, max);
const optStr = (x: unknown, min: number, max: number): boolean => x === undefined || (typeof x === 'string' && fits(x, min, max));
const nonEmpty = (x: unknown): boolean => typeof x === 'string' && fits(x, 1, 1024);
const int = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);
const duration = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x <= 86_400_000;
const bool = (x: unknown): boolean => typeof x === 'boolean';
const optBool = (x: unknown): boolean => x === undefined || typeof x === 'boolean';
const oneOf = (x: unknown, a: string, b: string): boolean => x === a || x === b;

/** ^[0-9A-F]{40}$ */
export const isSha1 = (x: unknown): boolean => typeof x === 'string' && x.length === 40 && all(x, 0, 40, UPPER_HEX);

/** ^[0-7][0-9A-HJKMNP-TV-Z]{25}$ */
function isUlid(s: string): boolean {
  if (s.length !== 26) return false;
  const c = s.charCodeAt(0);
  return c >= 48 && c <= 55 && all(s, 1, 26, CROCKFORD);
}

/** ULID, or UUIDv7 ^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ */
function isEventId(x: unknown): boolean {
  if (typeof x !== 'string') return false;
  if (x.length === 26) return isUlid(x);
  if (x.length !== 36) return false;
  const v = x.charCodeAt(19);
  return (
    x.charCodeAt(8) === 45 &&
    x.charCodeAt(13) === 45 &&
    x.charCodeAt(18) === 45 &&
    x.charCodeAt(23) === 45 &&
    x.charCodeAt(14) === 55 &&
    (v === 56 || v === 57 || v === 97 || v === 98) &&
    all(x, 0, 8, LOWER_HEX) &&
    all(x, 9, 13, LOWER_HEX) &&
    all(x, 15, 18, LOWER_HEX) &&
    all(x, 20, 23, LOWER_HEX) &&
    all(x, 24, 36, LOWER_HEX)
  );
}

const d2 = (s: string, i: number): number => (s.charCodeAt(i) - 48) * 10 + (s.charCodeAt(i + 1) - 48);

/**
 * zod's iso.datetime({ precision: 3 }) (YYYY-MM-DDTHH:MM:SS.sssZ, a real calendar day, Gregorian leap years,
 * 29 February of year 0000 included) and the schema's years 1970–9999.
 */
export function isTimestamp(x: unknown): boolean {
  if (typeof x !== 'string' || x.length !== 24) return false;
  if (
    x.charCodeAt(4) !== 45 ||
    x.charCodeAt(7) !== 45 ||
    x.charCodeAt(10) !== 84 ||
    x.charCodeAt(13) !== 58 ||
    x.charCodeAt(16) !== 58 ||
    x.charCodeAt(19) !== 46 ||
    x.charCodeAt(23) !== 90
  )
    return false;
  if (!all(x, 0, 4, DIGIT) || !all(x, 5, 7, DIGIT) || !all(x, 8, 10, DIGIT) || !all(x, 11, 13, DIGIT) || !all(x, 14, 16, DIGIT) || !all(x, 17, 19, DIGIT) || !all(x, 20, 23, DIGIT)) return false;
  const year = d2(x, 0) * 100 + d2(x, 2);
  if (year < 1970) return false;
  const month = d2(x, 5);
  const day = d2(x, 8);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  if (day > days) return false;
  return d2(x, 11) <= 23 && d2(x, 14) <= 59 && d2(x, 17) <= 59;
}

const isRegion = (x: unknown): boolean => x === 'HK' || x === 'JP' || x === 'KR' || x === 'SG' || x === 'US';
const isVia = (x: unknown): boolean => x === 'xcodebuild' || x === 'fastlane' || x === 'electron-builder';
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const TEAM_ID = /^[A-Z0-9]{10}$/;
const PERSON = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

function strArray(x: unknown, max: number, min: number, maxLen: number): boolean {
  if (!Array.isArray(x) || x.length > max) return false;
  for (let i = 0; i < x.length; i++) if (!str(x[i], min, maxLen)) return false;
  return true;
}

function sha1Array(x: unknown, max: number): boolean {
  if (!Array.isArray(x) || x.length > max) return false;
  for (let i = 0; i < x.length; i++) if (!isSha1(x[i])) return false;
  return true;
}

function common(o: Obj): boolean {
  const tp = o.traceparent;
  const ps = o.parentSpanId;
  return (
    o.v === 1 &&
    isEventId(o.id) &&
    isTimestamp(o.ts) &&
    str(o.host, 1, 253) &&
    isRegion(o.region) &&
    oneOf(o.pool, 'signing', 'compile') &&
    optStr(o.correlationId, 1, 256) &&
    str(o.agent, 1, 64) &&
    (tp === undefined || (typeof tp === 'string' && TRACEPARENT.test(tp))) &&
    (ps === undefined || (typeof ps === 'string' && SPAN_ID.test(ps)))
  );
}

const isOsStatus = (x: unknown): boolean => x === null || int(x);

function codesignError(x: unknown): boolean {
  if (x === undefined) return true;
  if (!isObj(x)) return false;
  const c = x.class;
  return (
    str(x.code, 1, 128) &&
    isOsStatus(x.osStatus) &&
    (c === 'keychain' || c === 'identity' || c === 'chain' || c === 'timestamp' || c === 'bundle' || c === 'other') &&
    str(x.message, 0, 4096)
  );
}

const isNotarizeClass = (c: unknown): boolean => c === 'apple_api' || c === 'auth' || c === 'network' || c === 'keychain' || c === 'other';

function codesign(o: Obj): boolean {
  const op = o.operation;
  return (
    oneOf(o.tool, 'codesign', 'productsign') &&
    oneOf(o.outcome, 'ok', 'fail') &&
    duration(o.durationMs) &&
    int(o.exitCode) &&
    nonEmpty(o.keychain) &&
    strArray(o.partitionIds, 64, 1, 128) &&
    (o.identity === undefined || isSha1(o.identity)) &&
    str(o.invocationId, 1, 128) &&
    codesignError(o.error) &&
    (op === undefined || op === 'sign' || op === 'verify' || op === 'display' || op === 'other') &&
    (o.via === undefined || isVia(o.via)) &&
    (o.target === undefined || nonEmpty(o.target)) &&
    optStr(o.targetName, 1, 256) &&
    optStr(o.identityName, 1, 512)
  );
}

function unlock(o: Obj): boolean {
  const e = o.error;
  return (
    oneOf(o.outcome, 'ok', 'fail') &&
    duration(o.durationMs) &&
    nonEmpty(o.keychain) &&
    (e === undefined || (isObj(e) && str(e.code, 1, 128) && isOsStatus(e.osStatus) && str(e.message, 0, 4096)))
  );
}

function notarize(o: Obj): boolean {
  const out = o.outcome;
  const e = o.error;
  const a = o.attempts;
  if (!(out === 'accepted' || out === 'invalid' || out === 'rejected' || out === 'error')) return false;
  if (!duration(o.durationMs) || !int(a) || a < 1 || a > 100 || !optStr(o.submissionId, 1, 128)) return false;
  if (e !== undefined && !(isObj(e) && isNotarizeClass(e.class) && optStr(e.code, 0, 128) && str(e.message, 0, 4096))) return false;
  const ae = o.attemptErrors;
  if (ae !== undefined) {
    if (!Array.isArray(ae) || ae.length > 100) return false;
    for (let i = 0; i < ae.length; i++) {
      const x: unknown = ae[i];
      if (!isObj(x) || !isNotarizeClass(x.class) || !optStr(x.code, 0, 128)) return false;
    }
  }
  return o.via === undefined || isVia(o.via);
}

function cert(o: Obj): boolean {
  const t = o.teamId;
  return (
    isSha1(o.sha1) &&
    str(o.subject, 1, 512) &&
    (t === undefined || (typeof t === 'string' && TEAM_ID.test(t))) &&
    str(o.certKind, 1, 128) &&
    isTimestamp(o.notAfter) &&
    nonEmpty(o.keychain) &&
    optBool(o.revoked)
  );
}

function clock(o: Obj): boolean {
  const off = o.offsetMs;
  return (
    (o.outcome === undefined || oneOf(o.outcome, 'ok', 'fail')) &&
    (off === undefined || (typeof off === 'number' && Number.isFinite(off))) &&
    str(o.server, 1, 253) &&
    optStr(o.reason, 1, 512) &&
    optStr(o.debug, 0, 16_384)
  );
}

const optCount = (x: unknown): boolean => x === undefined || (int(x) && x >= 0);

function heartbeat(o: Obj): boolean {
  const w = o.wrapperSha256;
  return (
    strArray(o.searchList, 64, 1, 1024) &&
    typeof w === 'string' &&
    SHA256.test(w) &&
    str(o.secretVersion, 1, 128) &&
    strArray(o.teamIds, 64, 1, 32) &&
    sha1Array(o.identities, 256) &&
    (o.keychain === undefined || nonEmpty(o.keychain)) &&
    optCount(o.spoolDepth) &&
    optCount(o.spoolDropped) &&
    (o.certSha1s === undefined || sha1Array(o.certSha1s, 256)) &&
    optStr(o.notaryProfile, 1, 128)
  );
}

function acl(o: Obj): boolean {
  return str(o.command, 1, 128) && nonEmpty(o.keychain) && strArray(o.partitionIds, 64, 1, 128) && bool(o.declared);
}

function session(o: Obj): boolean {
  const out = o.outcome;
  return (
    str(o.user, 1, 256) &&
    optStr(o.command, 0, 4096) &&
    (out === 'exec' || out === 'refused' || out === 'fail') &&
    strArray(o.searchListBefore, 64, 1, 1024) &&
    strArray(o.searchListAfter, 64, 1, 1024)
  );
}

function doctor(o: Obj): boolean {
  const checks = o.checks;
  if (!bool(o.ready) || !Array.isArray(checks) || checks.length < 1 || checks.length > 64 || !duration(o.durationMs)) return false;
  for (let i = 0; i < checks.length; i++) {
    const c: unknown = checks[i];
    if (!isObj(c) || !str(c.name, 1, 64) || !bool(c.ok) || !str(c.detail, 0, 1024) || !optStr(c.fix, 0, 1024)) return false;
  }
  return true;
}

function drill(o: Obj): boolean {
  const id = o.drillId;
  const by = o.by;
  const regions = o.regions;
  const t = o.timeoutMs;
  if (!oneOf(o.action, 'start', 'stop') || typeof id !== 'string' || !isUlid(id)) return false;
  if (o.sha1 !== undefined && !isSha1(o.sha1)) return false;
  if (!Array.isArray(regions) || regions.length < 1 || regions.length > 5) return false;
  for (let i = 0; i < regions.length; i++) if (!isRegion(regions[i])) return false;
  return optStr(o.note, 0, 1024) && typeof by === 'string' && PERSON.test(by) && (t === undefined || (int(t) && t > 0 && t <= 7 * 86_400_000));
}

/** True exactly when schemas/events.ts SignEvent accepts `json`. */
export function isEvent(json: unknown): boolean {
  if (!isObj(json) || !common(json)) return false;
  switch (json.type) {
    case 'codesign':
      return codesign(json);
    case 'unlock':
      return unlock(json);
    case 'notarize':
      return notarize(json);
    case 'cert':
      return cert(json);
    case 'clock':
      return clock(json);
    case 'heartbeat':
      return heartbeat(json);
    case 'acl':
      return acl(json);
    case 'session':
      return session(json);
    case 'doctor':
      return doctor(json);
    case 'drill':
      return drill(json);
    default:
      return false;
  }
}
