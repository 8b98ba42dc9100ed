/**
 * Streaming scanner of build logs (xcodebuild, fastlane gym through xcpretty / xcbeautify, electron-builder,
 * @electron/osx-sign debug output, notarytool inside any of them): finds each signing step and each notarization
 * in the output as it streams and reports them as steps, which record-build.ts turns into `codesign` / `notarize`
 * events. Formats are the real captures in test/fixtures/build-logs (test/fixtures/build-logs/INDEX.md gives each one's source).
 *
 * Bounded whatever the log: a line longer than MAX_LINE is cut (the rest of it is skipped, not buffered), a step
 * keeps at most STEP_TEXT characters of its own output for the classifier, and at most MAX_STEPS steps are kept
 * (later ones are counted in `dropped`). Outside a step, a chunk that holds none of the trigger words is skipped
 * with native Buffer searches and no line splitting, so the scanner costs little on multi-GB logs.
 *
 * Rules (one per dialect, auto-detected per line; a CI prefix is stripped first: fastlane's `[hh:mm:ss]: ` and
 * `INFO [date]: `, a Jenkins timestamper `hh:mm:ss `, a GitHub Actions ISO time stamp, ANSI colours):
 * - xcodebuild: `CodeSign <path> (in target …)` opens a step; `Signing Identity: "<name>"` and the echoed
 *   `/usr/bin/codesign … --sign <SHA-1> [--keychain K] <path>` fill it; `Command CodeSign failed …` /
 *   `Command /usr/bin/codesign failed with exit code N` fails it (error classified from the step's own lines by the
 *   wrapper's classifier); the next step header (`<Action> … (in target …)`, `** … **`, `=== … ===`) closes it ok.
 * - xcpretty / xcbeautify (`▸ ` lines): `▸ Signing <path>` opens a step, the next `▸ ` line closes it (ok unless
 *   an error line in between classifies as a signing error).
 * - the `The following build commands failed:` list: a `CodeSign <path>` entry (indented; `▸ CodeSign` through
 *   xcpretty) fails the step of that path (xcpretty prints no codesign text), or records a failed step when none was seen.
 * - electron-builder: `• signing file=… identityName=… identityHash=…` opens a step; the next `•` line closes it ok,
 *   a `⨯` line fails it.
 * - @electron/osx-sign debug: `electron-osx-sign Signing... <path>` opens a step, `Executing... codesign --sign …`
 *   fills it; the next other debug line closes it ok; a `⨯` line fails it.
 * - notarytool: `Conducting pre-submission checks for …` opens a notarization; `  status: <S>` or `Error: …` ends it;
 *   a one-line `--output-format json` result (`{"id":…,"status":…}`) is one notarization.
 * At the end of the stream, an open signing step is ok when the build exited 0; otherwise it is failed only when its
 * own lines classify as a known signing error, else it is not reported: a build that fails outside signing never
 * records a signing failure.
 */
import { classifyCodesignStderr, parseCodesignArgs, type CodesignError } from '../macos/codesign.js';

export type Via = 'xcodebuild' | 'fastlane' | 'electron-builder';

export interface SignStep {
  kind: 'codesign';
  via: Via;
  target: string;
  /** The Xcode target name, when the header names one. */
  targetName?: string;
  identityName?: string;
  /** As printed: a 40-hex SHA-1 (upper-cased) when the log shows one. */
  identitySha1?: string;
  keychain?: string;
  outcome: 'ok' | 'fail';
  exitCode: number;
  startMs: number;
  endMs: number;
  error?: CodesignError;
}

export interface NotaryStep {
  kind: 'notarize';
  /** The wrapped build tool, or fastlane when the lines carry its prefix; absent for a script's own notarytool call. */
  via?: Via;
  /** notarytool's own lines of this submission (bounded), for parseNotaryOutput. */
  text: string;
  startMs: number;
  endMs: number;
}

export type Step = SignStep | NotaryStep;

export const MAX_LINE = 16 * 1024;
const STEP_TEXT = 64 * 1024;
export const MAX_STEPS = 10_000;

const SHA1 = /^[0-9A-Fa-f]{40}$/;
// Prefixes a CI system or fastlane puts before each line (stripped before matching).
const PREFIXES: readonly RegExp[] = [
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?/, // GitHub Actions
  /^(?:INFO|WARN|ERROR|DEBUG|SUCCESS) \[[\d\- :.]+\]: /, // fastlane logger with --verbose / CI format
  /^\[\d\d:\d\d:\d\d\]: /, // fastlane
  /^\d\d:\d\d:\d\d /, // Jenkins timestamper
];
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');
const FASTLANE_PREFIX = /^(?:\[\d\d:\d\d:\d\d\]: |(?:INFO|WARN|ERROR|DEBUG|SUCCESS) \[[\d\- :.]+\]: )/;

const XC_HEADER = /^CodeSign (.+?)(?: \(in target(?:: ([^)]*)|\s+'([^']*)'[^)]*)\))?$/;
const XC_ANY_STEP = /^[A-Z][A-Za-z0-9]+ \S.* \(in target[: ]/;
const XC_SUMMARY = /^(?:\*\* .+ \*\*|=== .+ ===|The following build commands failed:)$/;
const XC_FAILED = /^Command (?:CodeSign|\/usr\/bin\/codesign) failed with (?:a nonzero exit code|exit code (\d+))\.?$/;
const XC_IDENTITY = /^\s*Signing Identity:\s+"(.*)"\s*$/;
const XC_ECHO = /^\s*(?:\/usr\/bin\/)?codesign (--?\S.*)$/;
const PRETTY_SIGNING = /^Signing (.+?)(?: \(in target '([^']*)'[^)]*\))?$/;
const EB_SIGNING = /^\s*\u2022 signing\s+(file=.*)$/; // • (escaped: the exec bundle stays ASCII)
const EB_BULLET = /^\s*\u2022 /; // •
const EB_ERROR = /^\s*\u2a2f /; // ⨯
const OSX_SIGN = /^(?:\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT )?\s*electron-osx-sign(?::\w+)? (.*?)(?: \+\d+(?:ms|s|m|h|d))?$/;
const NOTARY_START = /^Conducting pre-submission checks for /;
const NOTARY_STATUS = /^\s*status: \w/;
const NOTARY_ERROR = /^Error: /;
const NOTARY_JSON = /^\{.*"status"\s*:\s*"[A-Za-z ]+".*\}$/;

/**
 * Parts of words at least one of which is on every line that opens a step or is a failed-commands entry: `CodeS`ign,
 * Si`gning `/si`gning `, electron-os`x-sign`, `Condu`cting pre-submission checks, `"status"`. Searched natively per
 * chunk; short needles with an uncommon first byte, because Buffer#indexOf runs at memchr speed on those (a
 * 200 MB xcodebuild log: 2–3 GB/s per needle, against 0.4–0.7 GB/s for `CodeSign ` or `electron-osx-sign`).
 */
const TRIGGERS: readonly Buffer[] = ['CodeS', 'gning ', 'x-sign', 'Condu', '"status"'].map((s) => Buffer.from(s));
const LIST_ENTRY = /^\s+CodeSign (.+?)(?: \(in target.*\))?$/;
const PRETTY_LIST_ENTRY = /^CodeSign (.+?)(?: \(in target.*\))?$/;

interface OpenSign {
  step: SignStep;
  dialect: 'xcodebuild' | 'pretty' | 'electron-builder' | 'osx-sign';
  text: string[];
  textLen: number;
  errorSeen: boolean;
}

interface Partial {
  parts: Buffer[];
  len: number;
}

interface OpenNotary {
  step: NotaryStep;
  lines: string[];
  len: number;
}

/** Unescape a shell-style word list as xcodebuild echoes it (backslash escapes, single and double quotes). */
export function shellWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
      continue;
    }
    if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** `key=value key2=value with spaces …` as electron-builder's logger prints fields. */
export function builderFields(s: string): Map<string, string> {
  const m = new Map<string, string>();
  const re = /(?:^|\s)([A-Za-z][A-Za-z0-9]*)=/g;
  const keys: { key: string; at: number; valueAt: number }[] = [];
  for (let r = re.exec(s); r; r = re.exec(s)) keys.push({ key: r[1] ?? '', at: r.index, valueAt: r.index + r[0].length });
  keys.forEach((k, i) => m.set(k.key, s.slice(k.valueAt, keys[i + 1]?.at ?? s.length).trim()));
  return m;
}

function unescapePretty(p: string): string {
  return p.replace(/\\(.)/g, '$1');
}

export interface ScannerOptions {
  /** The via of the wrapped tool (xcodebuild, fastlane, electron-builder); undefined: per dialect. */
  via?: Via;
}

export class BuildLogScanner {
  readonly steps: Step[] = [];
  dropped = 0;
  private sign: OpenSign | undefined;
  private notary: OpenNotary | undefined;
  /** Per stream: the unfinished last line (its first MAX_LINE bytes) and its length so far. */
  private partial = new Map<string, Partial>();

  constructor(private readonly opts: ScannerOptions = {}) {}

  private get busy(): boolean {
    return this.sign !== undefined || this.notary !== undefined;
  }

  /** Feed one chunk of one stream (stdout and stderr keep their own partial lines) at time `now` (ms). */
  push(chunk: Buffer, now: number, stream = 'out'): void {
    let p = this.partial.get(stream);
    if (p === undefined) this.partial.set(stream, (p = { parts: [], len: 0 }));
    let start = 0;
    if (p.len > 0) {
      // finish the line the previous chunk left open (kept as bytes: a chunk may end inside a UTF-8 character)
      const nl = chunk.indexOf(10);
      if (nl < 0) return this.keepTail(p, chunk);
      this.keepTail(p, chunk.subarray(0, nl));
      this.line(this.takeTail(p), now);
      start = nl + 1;
    }
    // where each trigger word is next found in this chunk (-2: not searched yet, -1: absent)
    const next = TRIGGERS.map(() => -2);
    while (start < chunk.length) {
      if (!this.busy) {
        let first = -1;
        for (let i = 0; i < TRIGGERS.length; i++) {
          let at = next[i] ?? -2;
          if (at === -2 || (at >= 0 && at < start)) next[i] = at = chunk.indexOf(TRIGGERS[i] as Buffer, start);
          if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        if (first < 0) {
          // nothing left here can open a step: keep only the unfinished last line
          const lastNl = chunk.lastIndexOf(10);
          return this.keepTail(p, chunk.subarray(lastNl >= start ? lastNl + 1 : start));
        }
        start = first === 0 ? 0 : Math.max(start, chunk.lastIndexOf(10, first - 1) + 1);
      }
      const nl = chunk.indexOf(10, start);
      if (nl < 0) return this.keepTail(p, chunk.subarray(start));
      const piece = chunk.subarray(start, nl);
      this.line((piece.length > MAX_LINE ? piece.subarray(0, MAX_LINE) : piece).toString('utf8'), now);
      start = nl + 1;
    }
  }

  /** Keep the start of an unfinished line, up to MAX_LINE bytes (the rest of a longer line is skipped). */
  private keepTail(p: Partial, rest: Buffer): void {
    const room = MAX_LINE - p.len;
    if (rest.length === 0) return;
    if (room <= 0) {
      p.len += rest.length; // counted, not kept
      return;
    }
    // a copy: the chunk's memory is the stream's and must not be retained beyond this call
    p.parts.push(Buffer.from(rest.subarray(0, room)));
    p.len += rest.length;
  }

  private takeTail(p: Partial): string {
    const text = Buffer.concat(p.parts).toString('utf8');
    p.parts = [];
    p.len = 0;
    return text;
  }

  /** The stream ended and the build exited with `exitCode`: flush partial lines and close what is open. */
  end(exitCode: number, now: number): Step[] {
    for (const p of this.partial.values()) if (p.len > 0) this.line(this.takeTail(p), now);
    if (this.sign) {
      const o = this.sign;
      this.sign = undefined;
      if (exitCode === 0) this.closeSign(o, 'ok', now);
      else {
        const e = classifyCodesignStderr(o.text.join('\n'), 1);
        if (e.code !== 'unknown') this.closeSign(o, 'fail', now, 1, e);
      }
    }
    if (this.notary) {
      const n = this.notary;
      this.notary = undefined;
      if (n.lines.some((l) => NOTARY_STATUS.test(l) || NOTARY_ERROR.test(l))) this.closeNotary(n, now);
    }
    return this.steps;
  }

  private emit(step: Step): void {
    if (this.steps.length >= MAX_STEPS) {
      this.dropped++;
      return;
    }
    this.steps.push(step);
  }

  private via(dialectVia: Via): Via {
    return this.opts.via ?? dialectVia;
  }

  private notaryVia(fastlane: boolean): { via?: Via } {
    const via = this.opts.via ?? (fastlane ? 'fastlane' : undefined);
    return via === undefined ? {} : { via };
  }

  private closeSign(o: OpenSign, outcome: 'ok' | 'fail', now: number, exitCode = outcome === 'ok' ? 0 : 1, error?: CodesignError): void {
    o.step.outcome = outcome;
    o.step.exitCode = exitCode;
    o.step.endMs = now;
    if (error) o.step.error = error;
    this.emit(o.step);
  }

  private closeNotary(n: OpenNotary, now: number): void {
    n.step.text = n.lines.join('\n');
    n.step.endMs = now;
    this.emit(n.step);
  }

  private open(dialect: OpenSign['dialect'], via: Via, target: string, now: number, targetName?: string): OpenSign {
    const step: SignStep = { kind: 'codesign', via: this.via(via), target: target.slice(0, 1024), outcome: 'ok', exitCode: 0, startMs: now, endMs: now };
    if (targetName) step.targetName = targetName.slice(0, 256);
    return (this.sign = { step, dialect, text: [], textLen: 0, errorSeen: false });
  }

  private addText(o: OpenSign, line: string): void {
    if (o.textLen + line.length > STEP_TEXT) return;
    o.text.push(line);
    o.textLen += line.length + 1;
  }

  /** Close the open step as ok (or as failed when an error line in it classifies as a signing error). */
  private settle(now: number): void {
    const o = this.sign;
    if (!o) return;
    this.sign = undefined;
    if (o.errorSeen) {
      const e = classifyCodesignStderr(o.text.join('\n'), 1);
      if (e.code !== 'unknown') return this.closeSign(o, 'fail', now, 1, e);
    }
    this.closeSign(o, 'ok', now);
  }

  private line(raw: string, now: number): void {
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.includes(String.fromCharCode(27))) line = line.replace(ANSI, '');
    let fastlane = false;
    // a CI time stamp, then fastlane's own prefix: strip what is there, in that order
    for (let n = 0; n < 2; n++) {
      const m = PREFIXES.map((p) => p.exec(line)).find((r) => r !== null);
      if (!m) break;
      if (FASTLANE_PREFIX.test(line)) fastlane = true;
      line = line.slice(m[0].length);
    }
    let pretty = false;
    if (line.startsWith('▸ ')) {
      pretty = true;
      line = line.slice(2);
    }
    const xcVia: Via = fastlane || pretty ? 'fastlane' : 'xcodebuild';

    if (this.notary) return this.notaryLine(line, now);
    if (NOTARY_START.test(line)) {
      this.settle(now);
      this.notary = { step: { ...this.notaryVia(fastlane || pretty), kind: 'notarize', text: '', startMs: now, endMs: now }, lines: [line], len: line.length };
      return;
    }
    if (NOTARY_JSON.test(line.trim()) && /"id"\s*:/.test(line)) {
      this.emit({ ...this.notaryVia(fastlane || pretty), kind: 'notarize', text: line.trim(), startMs: now, endMs: now });
      return;
    }

    const o = this.sign;
    const osx = OSX_SIGN.exec(line);
    if (osx) return this.osxSignLine(osx[1] ?? '', now);

    const eb = EB_SIGNING.exec(line);
    if (eb) {
      this.settle(now);
      const f = builderFields(eb[1] ?? '');
      const s = this.open('electron-builder', 'electron-builder', f.get('file') ?? '', now);
      const name = f.get('identityName');
      const hash = f.get('identityHash');
      if (name && name !== 'none') s.step.identityName = name.slice(0, 512);
      if (hash && SHA1.test(hash)) s.step.identitySha1 = hash.toUpperCase();
      return;
    }
    if (o && (o.dialect === 'electron-builder' || o.dialect === 'osx-sign')) {
      if (EB_ERROR.test(line)) {
        this.addText(o, line.replace(EB_ERROR, ''));
        this.sign = undefined;
        return this.closeSign(o, 'fail', now, 1, classifyCodesignStderr(o.text.join('\n'), 1));
      }
      if (EB_BULLET.test(line) && o.dialect === 'electron-builder') return this.settle(now);
      this.addText(o, line);
      return;
    }

    // an entry of the failed-commands list at the end of an xcodebuild run: indented in xcodebuild's own output;
    // through xcpretty (`▸ CodeSign <path>`), since xcpretty prints every CodeSign step as `▸ Signing`
    const entry = (pretty ? PRETTY_LIST_ENTRY : LIST_ENTRY).exec(line);
    if (entry) {
      this.settle(now);
      return this.failedListEntry(entry[1] ?? '', xcVia, now);
    }

    if (pretty) {
      const ps = PRETTY_SIGNING.exec(line);
      if (ps) {
        this.settle(now);
        this.open('pretty', 'fastlane', unescapePretty(ps[1] ?? ''), now, ps[2]);
        return;
      }
      if (o?.dialect === 'pretty') {
        if (/^(?:\u274c|error:)/.test(line.trim())) { // ❌
          o.errorSeen = true;
          this.addText(o, line.replace(/^\s*\u274c\s*/, ''));
          return;
        }
        this.settle(now);
      }
    } else if (o?.dialect === 'pretty') {
      // raw lines between formatted ones (xcpretty passes unparsed errors through)
      this.addText(o, line);
      if (/: \S/.test(line)) o.errorSeen = true;
      return;
    }

    const h = XC_HEADER.exec(line);
    if (h) {
      this.settle(now);
      this.open('xcodebuild', xcVia, h[1] ?? '', now, h[2] ?? h[3]);
      return;
    }
    if (XC_SUMMARY.test(line) || XC_ANY_STEP.test(line)) return this.settle(now);
    if (o?.dialect !== 'xcodebuild') return;
    const id = XC_IDENTITY.exec(line);
    if (id) {
      const name = id[1] ?? '';
      if (name !== '') o.step.identityName = name.slice(0, 512);
      return;
    }
    const echo = XC_ECHO.exec(line);
    if (echo) {
      const a = parseCodesignArgs(shellWords(echo[1] ?? ''));
      if (a.sign && SHA1.test(a.sign)) o.step.identitySha1 = a.sign.toUpperCase();
      if (a.keychain) o.step.keychain = a.keychain.slice(0, 1024);
      return;
    }
    const failed = XC_FAILED.exec(line);
    if (failed) {
      this.sign = undefined;
      const exit = failed[1] !== undefined ? Number(failed[1]) : 1;
      return this.closeSign(o, 'fail', now, exit, classifyCodesignStderr(o.text.join('\n'), exit));
    }
    if (line.trim() !== '' && !/^\s+(?:cd|export) /.test(line)) this.addText(o, line);
  }

  private osxSignLine(msg: string, now: number): void {
    const signing = /^Signing\.\.\. (.+)$/.exec(msg);
    if (signing) {
      this.settle(now);
      this.open('osx-sign', 'electron-builder', signing[1] ?? '', now);
      return;
    }
    const exec = /^Executing\.\.\. codesign (.*)$/.exec(msg);
    if (exec && / --sign /.test(` ${exec[1] ?? ''}`)) {
      const args = ` ${exec[1] ?? ''}`;
      let o = this.sign;
      if (!o || o.dialect !== 'osx-sign') {
        // an invocation whose `Signing...` line we did not see: its path is the last word
        this.settle(now);
        o = this.open('osx-sign', 'electron-builder', (args.split(' ').pop() ?? '').trim(), now);
      }
      const sign = / --sign (.+?)(?= --|$)/.exec(args)?.[1]?.trim();
      const kc = / --keychain (\S+)/.exec(args)?.[1];
      if (sign !== undefined) {
        if (SHA1.test(sign)) o.step.identitySha1 = sign.toUpperCase();
        else if (sign !== '') o.step.identityName = sign.slice(0, 512);
      }
      if (kc) o.step.keychain = kc.slice(0, 1024);
      return;
    }
    this.settle(now);
  }

  private notaryLine(line: string, now: number): void {
    const n = this.notary;
    if (!n) return;
    if (n.len + line.length <= STEP_TEXT) {
      n.lines.push(line);
      n.len += line.length + 1;
    }
    if (NOTARY_STATUS.test(line) || NOTARY_ERROR.test(line)) {
      this.notary = undefined;
      this.closeNotary(n, now);
    }
  }

  private failedListEntry(path: string, via: Via, now: number): void {
    const target = unescapePretty(path);
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const s = this.steps[i];
      if (s?.kind === 'codesign' && (s.target === target || s.target === path)) {
        if (s.outcome === 'ok') {
          s.outcome = 'fail';
          s.exitCode = 1;
          s.error = classifyCodesignStderr(`CodeSign ${path}`, 1);
        }
        return;
      }
    }
    const error = classifyCodesignStderr(`CodeSign ${path}`, 1);
    this.emit({ kind: 'codesign', via: this.via(via), target: target.slice(0, 1024), outcome: 'fail', exitCode: 1, startMs: now, endMs: now, error });
  }
}
