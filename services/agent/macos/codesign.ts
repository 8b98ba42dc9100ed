/**
 * codesign / productsign: read the identity and keychain from the arguments, and classify a failed run's stderr
 * into error.code / osStatus / class. Formats are the real ones in the research notes macos-tools.md (kept outside this repository) §1 and the captures in
 * services/demo/fake-macos/fixtures (one unit test per capture).
 *
 * Rules: Xcode / make / shell wrapper lines are ignored; `<path>: replacing existing signature` is information;
 * paths are split from the message on the LAST ": " (paths may contain spaces); a `Warning: unable to build chain
 * to self-signed root for signer "…"` line before errSecInternalComponent makes it a chain failure (missing
 * intermediate certificate), not a keychain-access one.
 */
import { statusByText, type KeychainErrorClass } from './secbase.js';

/** error.code of a codesign failure caused by a revoked certificate (the engine's cert_revoked rule matches it). */
export const REVOKED_CODE = 'CSSMERR_TP_CERT_REVOKED';

export interface CodesignError {
  code: string;
  osStatus: number | null;
  class: KeychainErrorClass;
  message: string;
}

export interface CodesignArgs {
  /** The -s / --sign argument as given (SHA-1, name or "-" for ad hoc). */
  sign?: string;
  keychain?: string;
  /** sign (-s), display (-d) or verify (-v without -d); `other` otherwise. */
  operation: 'sign' | 'verify' | 'display' | 'other';
}

/** getopt short options of codesign that take a value (-s identity, -r requirements, -i identifier, …). */
const SHORT_WITH_VALUE = new Set(['a', 'D', 'i', 'o', 'P', 'r', 'R', 's']);
const LONG_WITH_VALUE = new Set([
  '--sign', '--keychain', '--entitlements', '--identifier', '--requirements', '--options', '--prefix', '--detached',
  '--architecture', '--bundle-version', '--file-list', '--digest-algorithm', '--team-identifier', '--cert',
]);

export function parseCodesignArgs(args: readonly string[]): CodesignArgs {
  const out: Omit<CodesignArgs, 'operation'> = {};
  let display = false;
  let verify = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--') break;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(0, eq) : a;
      let value: string | undefined;
      if (eq >= 0) value = a.slice(eq + 1);
      else if (LONG_WITH_VALUE.has(name)) value = args[++i];
      if (name === '--sign' && value !== undefined) out.sign = value;
      if (name === '--keychain' && value !== undefined) out.keychain = value;
      if (name === '--display') display = true;
      if (name === '--verify') verify = true;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // a cluster such as -fs NAME or -fsNAME
      for (let j = 1; j < a.length; j++) {
        const ch = a[j] ?? '';
        if (ch === 'd') display = true;
        if (ch === 'v') verify = true;
        if (!SHORT_WITH_VALUE.has(ch)) continue;
        const value = j + 1 < a.length ? a.slice(j + 1) : args[++i];
        if (ch === 's' && value !== undefined) out.sign = value;
        break;
      }
    }
  }
  const operation = out.sign !== undefined ? 'sign' : display ? 'display' : verify ? 'verify' : 'other';
  return { ...out, operation };
}

const WRAPPER_LINES: readonly RegExp[] = [
  /^Command .+ failed with (?:a nonzero exit code|exit code \d+)\.?$/, // Xcode 10+ and older Xcode
  /^\$ /, // a shell transcript's echo of the command
  /^make(?:\[\d+\])?: \*\*\* /,
  /^\/usr\/bin\/codesign exited with code \d+:?$/, // Xamarin
  /^(?:\/usr\/bin\/)?(?:codesign|productsign) --?\w/, // xcodebuild's echo of the invocation
  /^\s*(?:Signing Identity|Provisioning Profile):/,
  /^\*\* [A-Z ]+ FAILED \*\*$/,
];
const INFO_LINE = /: (?:replacing existing signature|signed .+|is already signed)$/;
const CHAIN_WARNING = /^Warning: unable to build chain to self-signed root for signer "(.*)"$/;
const AMBIGUOUS = /^(.*?): ambiguous \(matches /;
const XAMARIN_PREFIX = /^.* : error : /;
const BUNDLE_TEXTS = [
  /detritus not allowed$/,
  /^a sealed resource is missing or invalid$/,
  /^unsealed contents present in the bundle root$/,
  /^bundle format unrecognized, invalid, or unsuitable$/,
  /^code object is not signed at all$/,
  /^invalid or unsupported format for signature$/,
  /^code has no resources but signature indicates they must be present$/,
];

function isWrapper(line: string): boolean {
  return WRAPPER_LINES.some((r) => r.test(line));
}

function lastColonSplit(line: string): { subject: string; text: string } | undefined {
  const at = line.lastIndexOf(': ');
  if (at < 0) return undefined;
  return { subject: line.slice(0, at), text: line.slice(at + 2).trim() };
}

type Match = Omit<CodesignError, 'message'>;

function classifyText(text: string): Match | undefined {
  if (text === 'errSecInternalComponent') return { code: 'errSecInternalComponent', osStatus: -2070, class: 'keychain' };
  const sec = statusByText(text);
  if (sec) return { code: sec.name, osStatus: sec.status, class: sec.cls };
  if (text === 'no identity found') return { code: 'no_identity_found', osStatus: null, class: 'identity' };
  if (/CSSMERR_TP_CERT_EXPIRED|certificate (?:has )?expired/i.test(text)) return { code: 'certificate_expired', osStatus: null, class: 'identity' };
  // a revoked signing certificate (`<path>: CSSMERR_TP_CERT_REVOKED`, Xcode's "The signing certificate has been
  // revoked (CSSMERR_TP_CERT_REVOKED)"): an identity failure under its cssmErrorString name, which cert_revoked reads
  if (/CSSMERR_TP_CERT_REVOKED|certificate (?:has been )?revoked/i.test(text)) return { code: REVOKED_CODE, osStatus: null, class: 'identity' };
  if (/^detritus|detritus not allowed$/.test(text)) return { code: 'detritus_not_allowed', osStatus: null, class: 'bundle' };
  if (BUNDLE_TEXTS.some((r) => r.test(text))) return { code: 'bundle_invalid', osStatus: null, class: 'bundle' };
  if (/timestamp/i.test(text)) return { code: 'timestamp_error', osStatus: null, class: 'timestamp' };
  return undefined;
}

const MAX_MESSAGE = 4096;

/**
 * Classify the stderr of a codesign / productsign run that exited non-zero. Always returns an error (class
 * `other`, code `unknown` when nothing is recognised), so a failure is never dropped for want of a pattern.
 */
export function classifyCodesignStderr(stderr: string, exitCode: number): CodesignError {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.replace(XAMARIN_PREFIX, '').trimEnd())
    .filter((l) => l.trim() !== '' && !isWrapper(l));
  let chainWarning: string | undefined;
  let lastOther: string | undefined;
  for (const line of lines) {
    if (CHAIN_WARNING.test(line)) {
      chainWarning = line;
      continue;
    }
    if (INFO_LINE.test(line)) continue;
    if (AMBIGUOUS.test(line)) return { code: 'identity_ambiguous', osStatus: null, class: 'identity', message: cut(line) };
    const errorPrefixed = /^error: (.*)$/.exec(line);
    const text = errorPrefixed ? (errorPrefixed[1] ?? '') : lastColonSplit(line)?.text;
    const m = text !== undefined ? classifyText(text) : undefined;
    if (m) {
      if (chainWarning && m.code === 'errSecInternalComponent') {
        return { ...m, class: 'chain', message: cut(`${chainWarning}\n${line}`) };
      }
      return { ...m, message: cut(line) };
    }
    lastOther = line;
  }
  if (chainWarning) return { code: 'chain_incomplete', osStatus: null, class: 'chain', message: cut(chainWarning) };
  return { code: 'unknown', osStatus: null, class: 'other', message: cut(lastOther ?? `exit status ${exitCode}`) };
}

function cut(s: string): string {
  return s.length > MAX_MESSAGE ? s.slice(0, MAX_MESSAGE) : s;
}
