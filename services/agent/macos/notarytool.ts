/**
 * notarytool output: the final status (text or `--output-format json`) and the failure classes. notarytool exits
 * 0 even when the submission is Invalid, so the outcome comes from the status, never from the exit status
 * (the research notes macos-tools.md (kept outside this repository) §4).
 */
export type NotaryOutcome = 'accepted' | 'invalid' | 'rejected' | 'error';
export type NotaryErrorClass = 'apple_api' | 'auth' | 'network' | 'keychain' | 'other';

export interface NotaryResult {
  /** Final status as printed (Accepted, Invalid, Rejected, In Progress…), when one was printed. */
  status?: string;
  submissionId?: string;
  /** The `Error: …` text, when the tool failed. */
  errorText?: string;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function parseNotaryOutput(stdout: string, stderr: string): NotaryResult {
  const out: NotaryResult = {};
  const trimmed = stdout.trim();
  if (trimmed.startsWith('{')) {
    try {
      const j = JSON.parse(trimmed) as Record<string, unknown>;
      if (typeof j.status === 'string') out.status = j.status;
      if (typeof j.id === 'string' && UUID.test(j.id)) out.submissionId = j.id;
      else if (typeof j.jobId === 'string' && UUID.test(j.jobId)) out.submissionId = j.jobId;
    } catch {
      /* fall through to the text form */
    }
  }
  if (out.status === undefined) {
    for (const line of stdout.split(/\r?\n/)) {
      const s = /^\s*status: (\w[\w ]*?)\s*$/.exec(line);
      if (s) out.status = s[1];
    }
    if (out.status === undefined) {
      // "Current status: Invalid.....Processing complete" when the final block is missing
      for (const line of stdout.split(/\r?\n/)) {
        const c = /^Current status: ([A-Za-z][A-Za-z ]*?)\.+/.exec(line);
        if (c) out.status = c[1];
      }
    }
  }
  if (out.submissionId === undefined) {
    for (const line of stdout.split(/\r?\n/)) {
      const m = /^\s*id: (\S+)\s*$/.exec(line);
      if (m && UUID.test(m[1] ?? '')) out.submissionId = m[1];
    }
  }
  for (const line of `${stderr}\n${stdout}`.split(/\r?\n/)) {
    const e = /^Error: (.*)$/.exec(line);
    if (e) {
      out.errorText = e[1];
      break;
    }
  }
  return out;
}

export function outcomeOfStatus(status: string | undefined): Exclude<NotaryOutcome, 'error'> | undefined {
  switch (status?.toLowerCase()) {
    case 'accepted':
      return 'accepted';
    case 'invalid':
      return 'invalid';
    case 'rejected':
      return 'rejected';
    default:
      return undefined;
  }
}

export interface NotaryFailure {
  class: NotaryErrorClass;
  code: string;
  /** Apple API outages and network failures only; keychain and credential failures are never retried away. */
  retryable: boolean;
}

export function classifyNotaryError(text: string): NotaryFailure {
  if (/keychain|errSecInteractionNotAllowed|User interaction is not allowed|errSecAuthFailed/i.test(text)) {
    return { class: 'keychain', code: 'keychain', retryable: false };
  }
  const http = /HTTP status code: (\d{3})/.exec(text);
  if (http) {
    const status = Number(http[1]);
    if (status === 401 || status === 403) return { class: 'auth', code: `http_${status}`, retryable: false };
    if (status === 429 || status >= 500) return { class: 'apple_api', code: `http_${status}`, retryable: true };
    return { class: 'other', code: `http_${status}`, retryable: false };
  }
  if (/Invalid credentials|Unable to authenticate|app-specific password/i.test(text)) {
    return { class: 'auth', code: 'auth', retryable: false };
  }
  if (/Internet connection appears to be offline|network connection was lost|timed out|could not connect|NSURLErrorDomain|hostname could not be found|ENOTFOUND|ECONNRESET|ECONNREFUSED/i.test(text)) {
    return { class: 'network', code: 'network', retryable: true };
  }
  return { class: 'other', code: 'unknown', retryable: false };
}

/** The `--keychain-profile NAME` (or `--keychain-profile=NAME`) a notarytool command line uses, if any. */
export function keychainProfileOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--') break;
    if (a === '--keychain-profile') return args[i + 1] || undefined;
    if (a.startsWith('--keychain-profile=')) return a.slice('--keychain-profile='.length) || undefined;
  }
  return undefined;
}
