/**
 * `--check-config` of every component: the effective configuration (file + flags + defaults) as JSON with secrets
 * redacted. Config files hold no secret by design (passwords come from files or named environment variables), but
 * a value under a secret-looking key, or credentials inside a URL, are replaced all the same. For the SASL block it
 * says where the password would come from and whether it is there, without reading it out.
 *
 * No dependency beyond node (the agent imports it).
 */
import { accessSync, constants } from 'node:fs';

const SECRET_KEY = /^(password|passwd|secret|token|routingKey|apiKey|privateKey|key)$/i;
export const REDACTED = '[redacted]';

/**
 * Credentials inside a connection string, masked: the password of `scheme://user:password@host` (everything between
 * the user's ':' and the LAST '@', so a password holding '/', ':' or '@' is masked whole), `password=` /
 * `sslpassword=` query parameters, and libpq's `key=value` form (`host=db password=secret`).
 */
export function redactUrl(s: string): string {
  let out = s;
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([\s\S]*)$/i.exec(out);
  if (m) {
    const rest = m[2]!;
    const at = rest.lastIndexOf('@');
    const colon = rest.indexOf(':');
    if (at > 0 && colon >= 0 && colon < at) out = `${m[1]}${rest.slice(0, colon)}:${REDACTED}${rest.slice(at)}`;
    out = out.replace(/([?&;](?:ssl)?password=)[^&#]*/gi, `$1${REDACTED}`);
  } else {
    out = out.replace(/(^|\s)((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)/gi, `$1$2${REDACTED}`);
  }
  return out;
}

/** Whether a value carries a credential redactUrl would mask (a config file must not hold one). */
export function carriesPassword(s: string): boolean {
  return redactUrl(s) !== s;
}

function saslSource(sasl: Record<string, unknown>, env: NodeJS.ProcessEnv): string {
  if (typeof sasl.passwordFile === 'string') {
    try {
      accessSync(sasl.passwordFile, constants.R_OK);
      return `file ${sasl.passwordFile} (readable)`;
    } catch {
      return `file ${sasl.passwordFile} (NOT READABLE)`;
    }
  }
  const name = typeof sasl.passwordEnv === 'string' ? sasl.passwordEnv : 'SIGNWATCH_KAFKA_PASSWORD';
  return `environment variable ${name} (${env[name] ? 'set' : 'NOT SET'})`;
}

/** A deep copy with secrets replaced; `sasl` blocks gain a `password` line saying where it comes from. */
export function redactConfig(value: unknown, env: NodeJS.ProcessEnv = process.env, key = ''): unknown {
  if (typeof value === 'string') return SECRET_KEY.test(key) ? REDACTED : redactUrl(value);
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, env));
  if (value && typeof value === 'object') {
    const out = Object.create(null) as Record<string, unknown>; // keys come from the config file
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v !== undefined && typeof v !== 'object' ? REDACTED : redactConfig(v, env, k);
    if (key === 'sasl') out.password = `${REDACTED}: from ${saslSource(value as Record<string, unknown>, env)}`;
    return out;
  }
  return value;
}

/** The text `--check-config` prints. */
export function effectiveConfigText(cfg: unknown, env: NodeJS.ProcessEnv = process.env): string {
  return `${JSON.stringify(redactConfig(cfg, env), null, 2)}\n`;
}
