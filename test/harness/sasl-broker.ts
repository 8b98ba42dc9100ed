/**
 * A private Kafka broker with a SASL_SSL listener for integration tests (scripts/kafka.sh with
 * SIGNWATCH_KAFKA_SASL_SSL_PORT): a throw-away CA and broker certificate made by openssl at start, one SCRAM user
 * (SCRAM-SHA-256 and SCRAM-SHA-512, created with the broker's kafka-configs tool) with a random password that is only
 * ever written to 0600 files. The plaintext listener of the same broker is for the tests' own set-up (topics, seeding);
 * every component under test connects through SASL_SSL.
 *
 * Ports: SIGNWATCH_SASL_BROKER_PORT=N uses N (plaintext), N+1 (controller), N+2 (SASL_SSL); otherwise three free
 * consecutive ports are picked. SIGNWATCH_SASL_BROKER_HOME reuses a broker home (and its running broker) across runs;
 * with SIGNWATCH_SASL_BROKER_KEEP=1 stop() leaves the broker running (iterating on a test).
 * Jars: SIGNWATCH_KAFKA_LIB, else the repository's .cache/kafka/lib (scripts/kafka.sh downloads them on first use).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { connectKafka, createKafka } from '../../services/platform/kafka.js';
import { parseKafkaConnection, type SaslMechanism } from '../../services/platform/kafka-connection.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface SaslBroker {
  /** Plaintext listener, for the test's own admin and seeding. */
  readonly plaintext: string;
  /** The secured listener every component under test uses. */
  readonly saslSsl: string;
  /** The CA that signed the broker's certificate. */
  readonly caFile: string;
  readonly user: string;
  /** A 0600 file holding the user's password (what kafka.sasl.passwordFile points at). */
  readonly passwordFile: string;
  /** The password itself: only for asserting that it never shows up in logs or argv. */
  readonly password: string;
  readonly home: string;
  /** The `kafka:` block of a component connecting over SASL_SSL. */
  block(o?: { mechanism?: SaslMechanism; passwordFile?: string; caFile?: string | null; clientId?: string }): Record<string, unknown>;
  /** A client of the plaintext listener (test set-up). */
  admin(): ReturnType<typeof createKafka>;
  stop(): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function freeBase(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await portFree(base)) && (await portFree(base + 1)) && (await portFree(base + 2))) return base;
  }
  throw new Error('no three consecutive free ports found');
}

function kafkaSh(sub: 'start' | 'stop', env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(ROOT, 'scripts', 'kafka.sh'), sub], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

export async function startSaslBroker(): Promise<SaslBroker> {
  const base = process.env.SIGNWATCH_SASL_BROKER_PORT ? Number(process.env.SIGNWATCH_SASL_BROKER_PORT) : await freeBase();
  const keepHome = process.env.SIGNWATCH_SASL_BROKER_HOME !== undefined;
  const home = process.env.SIGNWATCH_SASL_BROKER_HOME ?? mkdtempSync(join(tmpdir(), 'sw-sasl-broker-'));
  mkdirSync(home, { recursive: true });
  const user = 'signwatch-it';
  const password = randomBytes(18).toString('base64url');
  const usersFile = join(home, 'scram-users');
  writeFileSync(usersFile, `${user} ${password}\n`, { mode: 0o600 });
  const passwordFile = join(home, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SIGNWATCH_KAFKA_HOME: home,
    SIGNWATCH_KAFKA_PORT: String(base),
    SIGNWATCH_KAFKA_SASL_SSL_PORT: String(base + 2),
    SIGNWATCH_KAFKA_SCRAM_USERS: usersFile,
    SIGNWATCH_KAFKA_LIB: process.env.SIGNWATCH_KAFKA_LIB ?? join(ROOT, '.cache', 'kafka', 'lib'),
  };
  const r = await kafkaSh('start', env);
  if (r.code !== 0) throw new Error(`scripts/kafka.sh start (SASL_SSL) failed (exit ${r.code}):\n${r.out}`);
  const plaintext = `127.0.0.1:${base}`;
  const saslSsl = `127.0.0.1:${base + 2}`;
  const caFile = join(home, 'tls', 'ca.pem');
  const silent = pino({ level: 'silent' });
  const b: SaslBroker = {
    plaintext,
    saslSsl,
    caFile,
    user,
    passwordFile,
    password,
    home,
    block: (o = {}) => ({
      brokers: [saslSsl],
      ...(o.clientId ? { clientId: o.clientId } : {}),
      tls: o.caFile === null ? true : { caFile: o.caFile ?? caFile },
      sasl: { mechanism: o.mechanism ?? 'scram-sha-512', username: user, passwordFile: o.passwordFile ?? passwordFile },
    }),
    admin: () => createKafka(parseKafkaConnection({ brokers: [plaintext] }, 'sw-it-sasl-admin'), silent),
    stop: async () => {
      if (process.env.SIGNWATCH_SASL_BROKER_KEEP === '1') return;
      await kafkaSh('stop', env);
      if (!keepHome) rmSync(home, { recursive: true, force: true });
    },
  };
  // the SCRAM credentials reach the broker's metadata cache a moment after kafka-configs returns: wait for a login
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await connectKafka(parseKafkaConnection(b.block(), 'sw-it-sasl-probe'), silent, { command: 'test', timeoutMs: 5000 });
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        await b.stop();
        throw e;
      }
      await new Promise((res) => setTimeout(res, 200));
    }
  }
  return b;
}

/** Every process's argv of these pids joined (from /proc/<pid>/cmdline), to assert that no secret is in it. */
export async function cmdlines(pids: readonly number[]): Promise<string> {
  const { readFileSync } = await import('node:fs');
  return pids
    .map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        return '';
      }
    })
    .join('\n');
}
