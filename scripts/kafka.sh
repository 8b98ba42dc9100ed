#!/usr/bin/env bash
# A local Apache Kafka 3.9.1 broker (KRaft, one combined broker/controller) for tests, benchmarks and the demo.
#
#   bash scripts/kafka.sh start    resolve jars (first run only), format storage (first run only), start, wait ready
#   bash scripts/kafka.sh stop     stop the broker this checkout started and wait for it to exit
#   bash scripts/kafka.sh status   exit 0 when a broker answers on 127.0.0.1:9092, 1 otherwise
#   bash scripts/kafka.sh reset    stop, then delete the broker's data (topics, offsets); jars stay cached
#   bash scripts/kafka.sh jars     only resolve the jars (first run only; what `start` does first)
#
# Listens on 127.0.0.1:9092 (controller 127.0.0.1:9093). Everything lives under .cache/kafka/ in the repo
# (override with SIGNWATCH_KAFKA_HOME): lib/ (jars from Maven Central), data/ (KRaft log dirs), logs/.
# A second, private broker (tests that stop the broker): SIGNWATCH_KAFKA_HOME=DIR SIGNWATCH_KAFKA_PORT=N
# (controller N+1) and SIGNWATCH_KAFKA_LIB=.cache/kafka/lib to reuse the cached jars; SIGNWATCH_KAFKA_EXTRA_PROPS=FILE
# appends broker properties.
#
# A secured listener (tests of TLS/SASL clients): SIGNWATCH_KAFKA_SASL_SSL_PORT=N adds SASL_SSL://127.0.0.1:N
# (SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN over TLS) next to the plaintext one, which stays for the readiness probe
# and test set-up. On first start a throw-away CA and a broker certificate (SAN 127.0.0.1, localhost) are made with
# openssl under $SIGNWATCH_KAFKA_HOME/tls/ (clients trust tls/ca.pem); the broker reads them as a PEM keystore.
# SIGNWATCH_KAFKA_SCRAM_USERS=FILE (mode 0600, lines `USER PASSWORD`) creates each user for both SCRAM mechanisms
# with the broker's own kafka-configs tool (--add-config-file: no password in any argv) once the broker is ready,
# and for PLAIN in the listener's JAAS config (the 0600 server.properties). Nothing of it is committed.
# Idempotent: `start` finds a running broker (started by this script or not) and returns at once.
# Readiness is probed with a kafkajs admin client (describeCluster + a metadata round trip), never slept for.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONF_SRC="$ROOT/scripts/kafka"
HOME_DIR="${SIGNWATCH_KAFKA_HOME:-$ROOT/.cache/kafka}"
LIB="${SIGNWATCH_KAFKA_LIB:-$HOME_DIR/lib}"
DATA="$HOME_DIR/data"
LOGS="$HOME_DIR/logs"
PIDFILE="$HOME_DIR/broker.pid"
PROPS="$HOME_DIR/server.properties"
PORT="${SIGNWATCH_KAFKA_PORT:-9092}"
CPORT="$((PORT + 1))"
BROKER="127.0.0.1:$PORT"
READY_TIMEOUT_S="${SIGNWATCH_KAFKA_READY_TIMEOUT:-90}"
HEAP="${SIGNWATCH_KAFKA_HEAP:-512m}"
SASL_SSL_PORT="${SIGNWATCH_KAFKA_SASL_SSL_PORT:-}"
SCRAM_USERS="${SIGNWATCH_KAFKA_SCRAM_USERS:-}"
TLS_DIR="$HOME_DIR/tls"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# Probe readiness with kafkajs: 0 when the broker answers describeCluster and a metadata request.
probe() {
  local timeout_ms="$1"
  (cd "$ROOT" && KAFKAJS_NO_PARTITIONER_WARNING=1 node --input-type=module -e '
    import kafkajs from "kafkajs";
    const { Kafka, logLevel } = kafkajs;
    const deadline = Date.now() + Number(process.argv[2]);
    const kafka = new Kafka({ clientId: "signwatch-kafka-probe", brokers: [process.argv[1]], logLevel: logLevel.NOTHING,
      connectionTimeout: 1000, requestTimeout: 3000, retry: { retries: 0 } });
    let ok = false;
    while (!ok && Date.now() < deadline) {
      const admin = kafka.admin();
      try {
        await admin.connect();
        const c = await admin.describeCluster();
        await admin.listTopics();
        ok = c.brokers.length > 0;
      } catch { /* not ready yet */ }
      await admin.disconnect().catch(() => {});
      if (!ok) await new Promise((r) => setTimeout(r, 300));
    }
    if (ok && process.argv[3] === "warm") {
      // first start: create __consumer_offsets and __transaction_state now (group + transaction coordinators),
      // so the first test does not spend its time on "coordinator is loading" retries
      try {
        const warm = new Kafka({ clientId: "signwatch-kafka-probe", brokers: [process.argv[1]], logLevel: logLevel.NOTHING,
          retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 500 } });
        const admin = warm.admin();
        await admin.connect();
        await admin.describeGroups(["signwatch-kafka-probe"]).catch(() => {});
        await admin.disconnect();
        const p = warm.producer({ transactionalId: "signwatch-kafka-probe", idempotent: true, maxInFlightRequests: 1 });
        await p.connect();
        await p.disconnect();
      } catch { /* best effort */ }
    }
    process.exit(ok ? 0 : 1);
  ' "$BROKER" "$timeout_ms" "${2:-}")
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

our_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  # alive and really our broker (not a recycled pid)
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
    echo "$pid"
    return 0
  fi
  return 1
}

resolve_jars() {
  if [[ -f "$LIB/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  command -v java >/dev/null || die "java not found (Java 17 is required)"
  log "first run: fetching Apache Kafka 3.9.1 and its dependencies into $LIB (from Maven Central, or the local Maven repository ~/.m2); each jar is listed as it arrives ..."
  rm -rf "$LIB.tmp"
  mkdir -p "$LIB.tmp"
  local n=0 line jar
  local -A seen=()
  # batch mode prints one "Downloaded from central: …" line per artifact fetched, then one "Copying X.jar to …" per
  # jar: list a jar when it is downloaded, or when it is copied if it was already in ~/.m2 (each jar once)
  if ! mvn -B -f "$CONF_SRC/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$LIB.tmp" -DincludeScope=runtime 2>&1 | tee "$HOME_DIR/mvn.log" |
      while IFS= read -r line; do
        if [[ "$line" == *"Downloaded from"*".jar ("* ]]; then
          line="${line%% (*}"
          jar="${line##*/}"
          n=$((n + 1))
          printf '  [%3d] %s (downloaded)\n' "$n" "$jar" >&2
          seen[$jar]=1
        elif [[ "$line" == *"Copying "*".jar to "* ]]; then
          line="${line#*Copying }"
          jar="${line%% to *}"
          if [[ -z "${seen[$jar]:-}" ]]; then
            n=$((n + 1))
            printf '  [%3d] %s (already in ~/.m2)\n' "$n" "$jar" >&2
          fi
        fi
      done; then
    die "Maven failed; see $HOME_DIR/mvn.log"
  fi
  ls "$LIB.tmp"/kafka_2.13-3.9.1.jar "$LIB.tmp"/reload4j-*.jar >/dev/null 2>&1 || die "jars missing after Maven; see $HOME_DIR/mvn.log"
  rm -rf "$LIB"
  mv "$LIB.tmp" "$LIB"
  touch "$LIB/.complete"
  local total downloaded
  total=$(find "$LIB" -name '*.jar' | wc -l)
  downloaded=$(grep -c 'Downloaded from .*\.jar (' "$HOME_DIR/mvn.log" || true)
  log "$total jars cached in $LIB: $downloaded downloaded from Maven Central, $((total - downloaded)) copied from ~/.m2"
}

# users of the SCRAM file: "USER PASSWORD" per line; blank lines and # comments skipped
read_users() {
  [[ -n "$SCRAM_USERS" ]] || return 0
  [[ -f "$SCRAM_USERS" ]] || die "SIGNWATCH_KAFKA_SCRAM_USERS: $SCRAM_USERS does not exist"
  local user pass rest
  while read -r user pass rest || [[ -n "$user" ]]; do
    [[ -z "$user" || "$user" == \#* ]] && continue
    [[ "$user" =~ ^[A-Za-z0-9._-]+$ ]] || die "SIGNWATCH_KAFKA_SCRAM_USERS: user '$user': use [A-Za-z0-9._-]"
    # the PLAIN JAAS line quotes the password, and the SCRAM value is comma-separated: keep both unambiguous
    [[ -n "$pass" && -z "$rest" && "$pass" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || die "SIGNWATCH_KAFKA_SCRAM_USERS: user '$user': expected 'USER PASSWORD' with a password of [A-Za-z0-9._~+/=-]"
    printf '%s %s\n' "$user" "$pass"
  done <"$SCRAM_USERS"
}

# a throw-away CA and a broker certificate for 127.0.0.1 / localhost, made once per broker home
make_tls() {
  [[ -f "$TLS_DIR/.complete" ]] && return 0
  command -v openssl >/dev/null || die "openssl not found (needed for the SASL_SSL listener)"
  rm -rf "$TLS_DIR"
  mkdir -p "$TLS_DIR"
  chmod 700 "$TLS_DIR"
  log "making a test CA and broker certificate in $TLS_DIR"
  (
    cd "$TLS_DIR"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 7 -keyout ca.key -out ca.pem \
      -subj "/CN=signwatch test CA $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout broker.key -out broker.csr -subj "/CN=localhost"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >broker.ext
    openssl x509 -req -sha256 -days 7 -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -extfile broker.ext -out broker.crt
    # PEM keystore (ssl.keystore.type=PEM): the PKCS#8 private key, then the certificate chain
    cat broker.key broker.crt ca.pem >broker-keystore.pem
    rm -f broker.csr broker.ext ca.srl
  ) >"$LOGS/tls.log" 2>&1 || die "openssl failed; see $LOGS/tls.log"
  touch "$TLS_DIR/.complete"
}

sasl_props() {
  local spp="$SASL_SSL_PORT" jaas="" user pass
  while read -r user pass; do
    [[ -n "$user" ]] && jaas+=" user_${user}=\"${pass}\""
  done < <(read_users)
  cat <<PROPS

# SASL_SSL listener for clients (scripts/kafka.sh, SIGNWATCH_KAFKA_SASL_SSL_PORT)
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT,SASL_SSL://127.0.0.1:$spp
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SASL_SSL://127.0.0.1:$spp
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required${jaas};
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$TLS_DIR/broker-keystore.pem
listener.name.sasl_ssl.ssl.client.auth=none
PROPS
}

# create or update the SCRAM users (both mechanisms; the broker takes one credential per user and request, so one
# kafka-configs run each), the password only in a 0600 file
add_scram_users() {
  [[ -n "$SCRAM_USERS" ]] || return 0
  local user pass mech f="$HOME_DIR/.scram-user.properties" n=0
  while read -r user pass; do
    [[ -n "$user" ]] || continue
    for mech in SCRAM-SHA-256 SCRAM-SHA-512; do
      (umask 077 && printf '%s=iterations=4096,password=%s\n' "$mech" "$pass" >"$f")
      if ! java -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j.configuration="file:$CONF_SRC/log4j.properties" -Dkafka.logs.dir="$LOGS" \
          -cp "$LIB/*" kafka.admin.ConfigCommand --bootstrap-server "$BROKER" --alter --entity-type users \
          --entity-name "$user" --add-config-file "$f" >>"$LOGS/scram.log" 2>&1; then
        rm -f "$f"
        die "creating $mech user '$user' failed; see $LOGS/scram.log"
      fi
    done
    n=$((n + 1))
  done < <(read_users)
  rm -f "$f"
  log "SCRAM users ready: $n (SCRAM-SHA-256 and SCRAM-SHA-512)"
}

write_props() {
  { sed -e "s/127\.0\.0\.1:9093/127.0.0.1:$CPORT/g" -e "s/127\.0\.0\.1:9092/127.0.0.1:$PORT/g" "$CONF_SRC/server.properties"
    printf '\nlog.dirs=%s\n' "$DATA"
    if [[ -n "$SASL_SSL_PORT" ]]; then sasl_props; fi
    # extra broker properties (later keys win), e.g. a SASL listener for a test: SIGNWATCH_KAFKA_EXTRA_PROPS=FILE
    if [[ -n "${SIGNWATCH_KAFKA_EXTRA_PROPS:-}" ]]; then printf '\n'; cat "$SIGNWATCH_KAFKA_EXTRA_PROPS"; fi
  } >"$PROPS"
  chmod 600 "$PROPS"
}

format_storage() {
  if [[ -f "$DATA/meta.properties" ]]; then return 0; fi
  mkdir -p "$DATA"
  # cluster id: 16 random bytes, URL-safe base64 without padding (what StorageTool random-uuid prints), never
  # starting with '-' (StorageTool would read it as an option; Kafka's Uuid.randomUuid() draws again too)
  local cid
  cid="$(node -e 'const c=require("node:crypto");let s;do s=c.randomBytes(16).toString("base64url");while(s.startsWith("-"));process.stdout.write(s)')"
  log "formatting KRaft storage in $DATA (cluster id $cid)"
  java -Xmx256m -Dlog4j.configuration="file:$CONF_SRC/log4j.properties" -Dkafka.logs.dir="$LOGS" \
    -cp "$LIB/*" kafka.tools.StorageTool format -t "$cid" -c "$PROPS" >"$LOGS/format.log" 2>&1 ||
    die "storage format failed; see $LOGS/format.log"
}

start() {
  mkdir -p "$HOME_DIR" "$LOGS"
  exec 9>"$HOME_DIR/.lock"
  flock -w 300 9 || die "another kafka.sh holds $HOME_DIR/.lock"
  local pid
  if pid="$(our_pid)"; then
    if probe 90000; then log "already running (pid $pid) on $BROKER"; add_scram_users; return 0; fi
    die "broker pid $pid is running but does not answer on $BROKER; see $LOGS/server.log"
  fi
  if port_open; then
    if probe 10000; then log "a broker already answers on $BROKER (not started from this checkout); using it"; return 0; fi
    die "$BROKER is taken by something that is not a ready Kafka broker"
  fi
  resolve_jars
  [[ -z "$SASL_SSL_PORT" ]] || make_tls
  write_props
  format_storage
  log "starting broker on $BROKER (logs: $LOGS/server.log)"
  # own session so the broker survives the caller's terminal / job control; stdout+stderr to a file
  setsid java -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$CONF_SRC/log4j.properties" -Dkafka.logs.dir="$LOGS" \
    -cp "$LIB/*" kafka.Kafka "$PROPS" </dev/null >"$LOGS/stdout.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PIDFILE"
  local t0=$SECONDS
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      tail -n 30 "$LOGS/stdout.log" "$LOGS/server.log" >&2 2>/dev/null || true
      die "broker exited during start-up"
    fi
    if port_open && probe 5000 warm; then
      add_scram_users
      log "ready after $((SECONDS - t0)) s (pid $pid)${SASL_SSL_PORT:+; SASL_SSL on 127.0.0.1:$SASL_SSL_PORT, CA $TLS_DIR/ca.pem}"
      return 0
    fi
    sleep 0.5
  done
  tail -n 30 "$LOGS/server.log" >&2 2>/dev/null || true
  die "broker not ready after ${READY_TIMEOUT_S} s (pid $pid still running; 'bash scripts/kafka.sh stop' to end it)"
}

stop() {
  mkdir -p "$HOME_DIR"
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PIDFILE"
    if port_open; then log "a broker on $BROKER was not started from this checkout; leaving it running"; else log "not running"; fi
    return 0
  fi
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after 60 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PIDFILE"
  log "stopped"
}

status() {
  local pid=""
  pid="$(our_pid)" || pid=""
  if port_open && probe 5000; then
    log "running on $BROKER${pid:+ (pid $pid, started from this checkout)}"
    return 0
  fi
  if [[ -n "$pid" ]]; then log "pid $pid is running but the broker does not answer yet"; else log "not running"; fi
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  jars) resolve_jars ;;
  reset) stop; rm -rf "$DATA"; log "data deleted ($DATA)" ;;
  -h | --help | help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) printf 'usage: bash scripts/kafka.sh start|stop|status|reset|jars\n' >&2; exit 2 ;;
esac
