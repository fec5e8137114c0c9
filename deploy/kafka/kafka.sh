#!/usr/bin/env bash
# A local single-node Apache Kafka (KRaft: one process is broker and controller) for tests and CI.
#
#   bash deploy/kafka/kafka.sh start|stop|restart|status|clean
#
# start    fetches the broker jars into lib/ (Maven Central, repo-local cache .m2/) when missing, writes
#          run/server.properties, formats run/data once, starts the broker in the background and waits
#          until it answers a metadata request. A no-op when it is already running.
# stop     SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT seconds (default 30).
# restart  stop + start on the same data (fault tests use it).
# status   exit 0 when running and answering, 3 when not running, 1 when running but not answering.
# clean    stop and delete this broker's data, log and config.
#
# Environment: KAFKA_PORT (default 9092; another port gets its own broker and data in run/port-N/),
# KAFKA_CONTROLLER_PORT (default KAFKA_PORT+1), KAFKA_RUN_DIR (default run/), KAFKA_HEAP_OPTS (default
# -Xmx512m -Xms256m), KAFKA_START_TIMEOUT and KAFKA_STOP_TIMEOUT seconds (default 90 and 30).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB="$HERE/lib"
M2="$HERE/.m2"
PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
# One broker per port, each with its own data: the default one in run/, others in run/port-N/.
if [[ "$PORT" == 9092 ]]; then DEFAULT_RUN="$HERE/run"; else DEFAULT_RUN="$HERE/run/port-$PORT"; fi
RUN="${KAFKA_RUN_DIR:-$DEFAULT_RUN}"
HOST=127.0.0.1
PIDFILE="$RUN/kafka.pid"
LOG="$RUN/kafka.log"
HEAP="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
LOG4J="-Dlog4j2.configurationFile=$HERE/log4j2.properties"

say() { echo "kafka: $*" >&2; }

# lib/ is complete only when its stamp matches the pom it was made from (a half-copied lib/ is redone).
fetch() {
  local stamp
  stamp="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
  if [[ -f "$LIB/.stamp" && "$(cat "$LIB/.stamp")" == "$stamp" ]]; then return 0; fi
  command -v mvn >/dev/null || { say "mvn is not installed (needed once to fetch the broker jars)"; exit 1; }
  say "fetching the broker jars from Maven Central into $LIB (once)"
  rm -rf "$LIB"
  local out
  out="$(mktemp)"
  if ! mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" -Dmaven.repo.local="$M2" \
    dependency:copy-dependencies -DoutputDirectory="$LIB" -DincludeScope=runtime >"$out" 2>&1; then
    cat "$out" >&2
    rm -f "$out"
    say "could not fetch the broker jars (is Maven Central reachable?)"
    exit 1
  fi
  rm -f "$out"
  echo "$stamp" >"$LIB/.stamp"
}

# The broker of this run/ directory: the pid file's process if it still is that broker, else (pid file lost
# or stale) whichever process runs kafka.Kafka with this directory's server.properties.
find_pid() {
  local pid cmd
  if [[ -f "$PIDFILE" ]]; then
    pid="$(cat "$PIDFILE")"
    if [[ -n "$pid" ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $RUN/server.properties"; then
      echo "$pid"
      return 0
    fi
  fi
  for cmd in /proc/[0-9]*/cmdline; do
    if tr '\0' ' ' 2>/dev/null <"$cmd" | grep -qF "kafka.Kafka $RUN/server.properties"; then
      pid="${cmd#/proc/}"
      echo "${pid%/cmdline}"
      return 0
    fi
  done
  return 1
}

pid_alive() {
  local pid
  pid="$(find_pid)" || return 1
  echo "$pid" >"$PIDFILE"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

probe() { java -cp "$LIB/*" $LOG4J "$HERE/Probe.java" "$HOST:$PORT" "${1:-5000}" 2>/dev/null; }

write_config() {
  mkdir -p "$RUN/data"
  cat >"$RUN/server.properties" <<EOF
# Written by deploy/kafka/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CPORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CPORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$RUN/data
num.partitions=8
auto.create.topics.enable=false
delete.topic.enable=true
# One broker: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests join and leave groups constantly: no initial delay, and short sessions allowed.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# Small segments so test topics cost little disk; retention as configured per topic by the adapter.
log.segment.bytes=67108864
log.retention.hours=24
log.retention.check.interval.ms=60000
num.network.threads=2
num.io.threads=4
EOF
}

format_once() {
  if [[ -f "$RUN/data/meta.properties" ]]; then return 0; fi
  local id
  id="$(java -cp "$LIB/*" $LOG4J kafka.tools.StorageTool random-uuid)"
  say "formatting $RUN/data (cluster id $id)"
  java -cp "$LIB/*" $LOG4J kafka.tools.StorageTool format -t "$id" -c "$RUN/server.properties" >&2
}

start() {
  if pid_alive; then
    if probe >/dev/null; then
      echo "kafka ready on $HOST:$PORT (already running, pid $(cat "$PIDFILE"))"
      return 0
    fi
    say "pid $(cat "$PIDFILE") is running but not answering yet; waiting"
  else
    command -v java >/dev/null || { say "java is not installed (Java 17+ is needed)"; exit 1; }
    for p in "$PORT" "$CPORT"; do
      if port_open "$p"; then
        say "$HOST:$p is already taken by another process; set KAFKA_PORT (and KAFKA_CONTROLLER_PORT) to use other ports"
        exit 1
      fi
    done
    fetch
    write_config
    format_once
    # Keep the previous run's log for post-mortems, but do not let it grow without bound.
    if [[ -f "$LOG" ]] && (($(stat -c %s "$LOG") > 50000000)); then mv -f "$LOG" "$LOG.1"; fi
    echo "---- start $(date -u +%FT%TZ) port $PORT" >>"$LOG"
    # setsid: the broker must outlive the shell (and its Ctrl-C) that started it.
    # shellcheck disable=SC2086
    setsid java $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true $LOG4J -cp "$LIB/*" kafka.Kafka "$RUN/server.properties" \
      </dev/null >>"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
  fi
  local pid deadline=$((SECONDS + START_TIMEOUT)) why=""
  pid="$(cat "$PIDFILE")"
  while ((SECONDS < deadline)); do
    # kill -0, not pid_alive: right after the fork the child may not have exec'd java yet.
    if ! kill -0 "$pid" 2>/dev/null; then
      say "the broker exited during startup; last lines of $LOG:"
      tail -n 30 "$LOG" >&2
      rm -f "$PIDFILE"
      exit 1
    fi
    if port_open "$PORT" && why="$(probe 5000)"; then
      echo "kafka ready on $HOST:$PORT ($why, pid $(cat "$PIDFILE"))"
      return 0
    fi
    sleep 0.5
  done
  say "not ready after ${START_TIMEOUT}s (${why:-port $PORT closed}); see $LOG"
  exit 1
}

stop() {
  if ! pid_alive; then
    rm -f "$PIDFILE"
    echo "kafka not running"
    return 0
  fi
  local pid
  pid="$(cat "$PIDFILE")"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid did not stop within ${STOP_TIMEOUT}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PIDFILE"
  echo "kafka stopped"
}

status() {
  if ! pid_alive; then
    echo "kafka not running"
    return 3
  fi
  local why
  if why="$(probe 5000)"; then
    echo "kafka running on $HOST:$PORT, pid $(cat "$PIDFILE"): $why"
  else
    echo "kafka running (pid $(cat "$PIDFILE")) but not answering on $HOST:$PORT: $why"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop && start ;;
  status) status ;;
  # Only this broker's files: run/ also holds the other ports' brokers (run/port-N/).
  clean) stop && rm -rf "$RUN/data" "$RUN/server.properties" "$RUN"/kafka.* && rmdir "$RUN" 2>/dev/null; echo "removed the data, log and config in $RUN" ;;
  *) echo "usage: $0 start|stop|restart|status|clean" >&2; exit 2 ;;
esac
