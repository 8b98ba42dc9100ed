/**
 * signwatch's error catalogue: every coded error a component can raise, with what it means, whether retrying can
 * help, the exit status of a command that ends on it and the HTTP status of an API that answers with it (fastify's
 * error catalogue; the Collector's consumererror.NewPermanent). Retries look only at `retryable`; the CLI maps an
 * error to its exit status only through `exit`; the HTTP servers answer `{"code","message"}` with `http`.
 *
 * Exit statuses: 2 = bad usage or bad configuration (the user must change what they typed or wrote), 1 = a runtime
 * failure (a server, file or broker did not answer or refused), 0 is success and never an error.
 *
 * No dependency: the agent's exec wrapper (started once per signing call) imports this file.
 */

export interface ErrorSpec {
  /** One line: what went wrong, for the docs and `signwatch --help`-style listings. */
  readonly what: string;
  /** Whether the same operation can succeed when tried again unchanged. A thrower may override it per instance. */
  readonly retryable: boolean;
  /** Exit status of a command that stops on this error. */
  readonly exit: 1 | 2;
  /** HTTP status of an API answer carrying this error. */
  readonly http: number;
}

const usage = (what: string): ErrorSpec => ({ what, retryable: false, exit: 2, http: 400 });
const config = (what: string): ErrorSpec => ({ what, retryable: false, exit: 2, http: 500 });
const runtime = (what: string, retryable: boolean, http = 500): ErrorSpec => ({ what, retryable, exit: 1, http });

export const ERRORS = {
  // ── usage and configuration (exit 2) ────────────────────────────────────────────────────────────────
  SW_USAGE: usage('bad usage of a command: an unknown flag, a missing or malformed argument'),
  SW_CONFIG_INVALID: config('a configuration file or value is invalid (the message names the key)'),
  SW_AGENT_CONFIG: config('the agent configuration file is missing or invalid (the message names the key)'),
  SW_POLICY_UNREADABLE: config('the alert policy file cannot be read'),
  SW_POLICY_YAML: config('the alert policy file is not valid YAML'),
  SW_POLICY_INVALID: config('the alert policy is invalid (the message names the file, line and key)'),
  SW_NOTIFY_CONFIG: config('the notifier configuration is invalid'),
  SW_QUERY_SERVER_CONFIG: config('the query server configuration is invalid'),
  SW_STORE_BAD_SPEC: usage('an event store spec is malformed or carries a password in argv'),
  SW_DEMO_BROKERS: usage('KAFKA_BROKERS is not a list of host:port'),
  SW_ALERTS_GENERATE: config('the policy cannot be rendered into Prometheus/Grafana rules'),
  // ── input ───────────────────────────────────────────────────────────────────────────────────────────
  SW_INPUT_UNREADABLE: runtime('an input file cannot be read', false),
  SW_IMPORT_UNREADABLE: runtime('an import file cannot be read', false),
  SW_IMPORT_STORE: runtime('the event store refused an imported batch', true),
  // ── files ───────────────────────────────────────────────────────────────────────────────────────────
  SW_FILE_UNSAFE: config('a data file or directory is unsafe: a symbolic link, not ours, or group/world-writable (the message names it)'),
  // ── Kafka ───────────────────────────────────────────────────────────────────────────────────────────
  SW_KAFKA_CONNECT: runtime('no Kafka broker of the configured list answered', true, 503),
  SW_KAFKA_AUTH: runtime('the Kafka cluster refused the SASL credentials (user name, password or mechanism)', false, 503),
  SW_KAFKA_TLS: runtime("the Kafka broker's TLS certificate is not trusted (kafka.tls.caFile) or the handshake failed", false, 503),
  SW_KAFKA_TOPICS: runtime('the Kafka topics cannot be created or described', true, 503),
  SW_KAFKA_SEND: runtime('a Kafka produce request failed', true, 503),
  SW_KAFKA_TIMEOUT: runtime('a Kafka request did not complete in time', true, 503),
  SW_PROCESSOR_START: runtime('the processor could not start', true, 503),
  SW_DEMO_KAFKA_START: runtime('the demo could not start a local Kafka broker', false),
  SW_DLQ_EXPORT: runtime('the dead-letter topic cannot be read', true, 503),
  SW_DLQ_REPLAY: runtime('dead letters cannot be re-driven into the events topic', true, 503),
  // drills (signwatch drill)
  SW_DRILL_TOKEN: { what: 'the drill command needs a token that the token book names', retryable: false, exit: 2, http: 401 },
  SW_DRILL_SEND: runtime('the drill event cannot be written to the events topic', true, 503),
  SW_DRILL_READ: runtime('the drill records cannot be read from the alert topic', true, 503),
  SW_DRILL_UNKNOWN: runtime('no drill with this id was recorded', false, 404),
  // ── agent ───────────────────────────────────────────────────────────────────────────────────────────
  SW_SPOOL_IO: runtime('the agent spool cannot be written or read (the message names the errno)', true),
  SW_SINK_SEND: runtime('the agent could not ship spooled events', true),
  SW_AGENT_SECURITY: runtime("a macOS 'security' step of a rollout command failed (the message names the step and quotes security)", false),
  SW_AGENT_REFUSED: runtime('a rollout command refused to act (no --yes, or an interactive SSH login the fleet does not allow)', false),
  // ── event store ─────────────────────────────────────────────────────────────────────────────────────
  SW_STORE: runtime('the event store failed', true),
  SW_STORE_DB: runtime('the event store database returned an error (retryable when busy or disconnected)', false),
  SW_STORE_NOT_FOUND: runtime('the event store file does not exist', false, 404),
  SW_STORE_NOT_OPEN: runtime('the event store was used before open()', false),
  SW_STORE_CLOSED: runtime('the event store was used after close()', false),
  SW_STORE_SCHEMA_TOO_NEW: runtime('the event store was written by a newer signwatch', false),
  SW_STORE_BAD_SCHEMA: usage('an event store schema name is invalid'),
  // ── HTTP APIs ───────────────────────────────────────────────────────────────────────────────────────
  SW_QUERY_BAD_REQUEST: usage('a query parameter is invalid'),
  SW_QUERY_UNAUTHORIZED: { what: 'the query API needs a valid bearer token', retryable: false, exit: 1, http: 401 },
  SW_QUERY_NOT_FOUND: { what: 'no such event or route', retryable: false, exit: 1, http: 404 },
  SW_QUERY_LISTEN: runtime('the query server cannot listen on the configured address', false),
  SW_QUERY_INTERNAL: runtime('the query server failed to answer', true),
  SW_QUERY_BUSY: runtime('the query server is answering its maximum of concurrent queries; retry shortly', true, 503),
  SW_GATE_BAD_INPUT: usage('a release-gate request is invalid'),
  SW_GATE_NO_TOKEN: { what: 'the release gate has no override token configured', retryable: false, exit: 2, http: 403 },
  SW_GATE_UNAUTHORIZED: { what: 'the release-gate override needs a valid bearer token', retryable: false, exit: 1, http: 401 },
  SW_GATE_AUDIT: runtime('the release-gate audit log cannot be written, so the change was not made', true),
  SW_GATE_FORBIDDEN: { what: "a release-gate request names someone other than its token's holder as `by`", retryable: false, exit: 1, http: 403 },
  SW_CONSOLE_BAD_REQUEST: usage('a console request is invalid'),
  SW_CONSOLE_UNAUTHORIZED: { what: 'the console needs a valid per-person token (Authorization: Bearer, or log in)', retryable: false, exit: 1, http: 401 },
  SW_CONSOLE_FORBIDDEN: { what: 'the console refuses requests from another origin', retryable: false, exit: 1, http: 403 },
  SW_CONSOLE_NOT_FOUND: { what: 'no such console page or route', retryable: false, exit: 1, http: 404 },
  SW_CONSOLE_INTERNAL: runtime('the console failed to answer', true),
  SW_CONSOLE_GATE: runtime('the release gate behind the console (gate serve) cannot be asked', true, 502),
  // ── alerting ────────────────────────────────────────────────────────────────────────────────────────
  SW_NOTIFY_REJECTED: runtime('the receiver rejected the notification (4xx): it is not retried', false),
  SW_NOTIFY_RATE_LIMITED: runtime('the receiver is rate limiting (429)', true, 503),
  SW_NOTIFY_SERVER: runtime('the receiver failed (5xx)', true, 503),
  SW_NOTIFY_TIMEOUT: runtime('the receiver did not answer in time', true, 503),
  SW_NOTIFY_NETWORK: runtime('the receiver cannot be reached', true, 503),
  // ── engine ──────────────────────────────────────────────────────────────────────────────────────────
  SW_TELEMETRY_BAD_REQUEST: usage('a request to /metrics, /healthz or /readyz is malformed'),
  SW_TELEMETRY_INTERNAL: runtime('the telemetry endpoint failed to answer', true),
  SW_ENGINE_STALLED: runtime('an alert rule reported a breakpoint in the past (a bug in the rule)', false),
  SW_ENGINE_STATE: runtime('a saved engine state (processor checkpoint) cannot be written or restored: the partition is rebuilt from the log instead', false),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export interface CodedErrorOptions {
  cause?: unknown;
  /** Overrides the catalogue's default for this instance (a database error is retryable only when busy). */
  retryable?: boolean;
}

/** An error with a catalogue code. Subclasses only narrow the code; behaviour comes from the catalogue. */
export class CodedError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly exitCode: 1 | 2;
  readonly httpStatus: number;

  constructor(code: ErrorCode, message: string, options: CodedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const spec: ErrorSpec = ERRORS[code];
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? spec.retryable;
    this.exitCode = spec.exit;
    this.httpStatus = spec.http;
  }
}

/** The one configuration error (bad file, bad key, bad value): exit 2, never retried. */
export class ConfigError extends CodedError {
  constructor(message: string, options: CodedErrorOptions & { code?: ErrorCode } = {}) {
    super(options.code ?? 'SW_CONFIG_INVALID', message, options);
  }
}

/** Bad usage of a command (exit 2): the message says what to type instead. */
export class UsageError extends CodedError {
  constructor(message: string) {
    super('SW_USAGE', message);
  }
}

export function isCodedError(e: unknown): e is CodedError {
  return e instanceof CodedError;
}

/** Whether retrying can help: the error's own flag; an uncoded error is not retried. */
export function isRetryable(e: unknown): boolean {
  return e instanceof CodedError && e.retryable;
}

/** The body every signwatch HTTP API answers an error with. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

export function errorBody(e: CodedError): ErrorBody {
  return { code: e.code, message: e.message };
}
