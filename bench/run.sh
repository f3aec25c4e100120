#!/usr/bin/env bash
# The benchmarks, in one command, from the repository root:
#
#     bench/run.sh
#
# 1. builds the jar (mvn package, tests skipped);
# 2. the headline: bench/files.sh, the example file server in each mode against nginx (installed with
#    apt-get if missing) with h2load and curl, same certificate and files, TLS 1.3 AES-128-GCM; writes
#    bench/results/files.{csv,json,md} and docs/images/files-*.svg (settings FILES_*: see bench/files.sh);
# 3. the streaming pair, a second view: creates a 1 GiB file on tmpfs (/dev/shm) with the stream pattern and
#    runs StreamServer in each mode (plain, sslhandler, inline, offload) and StreamClient against it with
#    1 and 8 streams, TLS 1.3 AES-128-GCM, recording MB/s and the CPU seconds per GB of both processes;
# 4. runs the JMH suites of ktls-allocator and ktls-netty-handler with short settings;
# 5. writes bench/results/e2e.csv, e2e.json, jmh-allocator.json, jmh-handler.json and renders SVG charts
#    into docs/images/ (bench/charts.py, Python standard library only).
#
# Takes 22 to 27 minutes on 2 cores (the file server run 12 to 17, the streaming pair and JMH about 8).
# Settings (environment):
#   FILES=1                   0 skips the file server run (keeps bench/results/files.*)
#   DURATION=8 WARMUP=3       seconds measured / warmed up per run
#   SERVER_WARMUP=5           seconds of unrecorded traffic after each server start (JIT)
#   STREAMS="1 8"             stream counts
#   MODES="plain sslhandler inline offload"
#   FILE=/dev/shm/ktls-bench-1g.bin SIZE=1g
#   TRANSPORT=epoll           StreamServer/StreamClient --transport (epoll: plain mode is sendfile(2);
#                             io_uring's FileRegion path cost 2.4x its CPU per GB here)
#   E2E=1                     0 skips the streaming pair (keeps bench/results/e2e.*)
#   JMH=1                     0 skips the JMH suites
#   JMH_LOCK_WAIT=600         seconds to wait for another JMH run on this machine to finish
#   JMH_ARGS="-f 1 -wi 1 -i 2 -w 1s -r 1s"
#   JAVA=java                 the JVM to measure with
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8}
WARMUP=${WARMUP:-3}
SERVER_WARMUP=${SERVER_WARMUP:-5}
STREAMS=${STREAMS:-"1 8"}
MODES=${MODES:-"plain sslhandler inline offload"}
SIZE=${SIZE:-1g}
TRANSPORT=${TRANSPORT:-epoll}
JMH=${JMH:-1}
E2E=${E2E:-1}
FILES=${FILES:-1}
JMH_LOCK_WAIT=${JMH_LOCK_WAIT:-600}
JMH_ARGS=${JMH_ARGS:-"-f 1 -wi 1 -i 2 -w 1s -r 1s"}
JAVA=${JAVA:-java}
if [ -z "${FILE:-}" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then FILE=/dev/shm/ktls-bench-1g.bin; else FILE=${TMPDIR:-/tmp}/ktls-bench-1g.bin; fi
fi
RESULTS=bench/results
JAR=examples/target/ktls-file-server.jar
mkdir -p "$RESULTS" docs/images

echo "== build" >&2
mvn -B -ntp -q -DskipTests package

if [ "$FILES" = 1 ]; then
  echo "== file server against nginx (bench/files.sh)" >&2
  BUILD=0 JAVA="$JAVA" bench/files.sh
fi

server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

start_server() { # mode -> sets server_pid, port
  local mode=$1 out
  out=$(mktemp)
  local tls=()
  [ "$mode" = plain ] || tls=(--protocols TLSv1.3)
  "$JAVA" -cp "$JAR" io.ktls.examples.stream.StreamServer --mode "$mode" --file "$FILE" --size "$SIZE" \
      --port 0 --transport "$TRANSPORT" "${tls[@]}" >"$out" 2>"$RESULTS/server-$mode.log" &
  server_pid=$!
  for _ in $(seq 1 600); do
    if grep -q "listening on" "$out"; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "StreamServer --mode $mode did not start:" >&2; cat "$RESULTS/server-$mode.log" >&2; exit 1
    fi
    sleep 0.1
  done
  port=$(sed -nE 's#listening on [a-z]+://[^:]+:([0-9]+)/#\1#p' "$out")
  rm -f "$out"
  [ -n "$port" ] || { echo "no listening line from StreamServer --mode $mode" >&2; exit 1; }
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || { echo "StreamServer exited with $?" >&2; exit 1; }
  server_pid=""
}

if [ "$E2E" = 1 ]; then
summaries=$RESULTS/e2e.txt
: >"$summaries"
for mode in $MODES; do
  echo "== $mode" >&2
  start_server "$mode"
  client=()
  if [ "$mode" = plain ]; then client=(--plain); else client=(--protocols TLSv1.3 --ciphers TLS_AES_128_GCM_SHA256); fi
  # A fresh server JVM is still compiling its hot paths: give it traffic that is not recorded.
  "$JAVA" -cp "$JAR" io.ktls.examples.stream.StreamClient --port "$port" --streams 2 --duration "$SERVER_WARMUP" \
      --warmup 0 --transport "$TRANSPORT" "${client[@]}" >/dev/null 2>&1
  for streams in $STREAMS; do
    line=$("$JAVA" -cp "$JAR" io.ktls.examples.stream.StreamClient --port "$port" --streams "$streams" \
        --duration "$DURATION" --warmup "$WARMUP" --transport "$TRANSPORT" "${client[@]}")
    echo "$line" | tee -a "$summaries" >&2
    case "$mode:$line" in
      plain:*|*cipher=TLS_AES_128_GCM_SHA256*) ;;
      *) echo "expected TLS_AES_128_GCM_SHA256: $line" >&2; exit 1 ;;
    esac
  done
  stop_server
done

# e2e.txt (key=value lines) -> e2e.csv and e2e.json, with the JVM and machine recorded next to them.
jvm=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -nE 's/^ *java.runtime.version = //p')
cpus=$(nproc)
cpu_model=$(sed -nE 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1)
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "mode,streams,seconds,bytes,MBps,serverCpuSecPerGB,clientCpuSecPerGB,protocol,cipher"
  while read -r line; do
    declare -A kv=()
    for pair in $line; do kv[${pair%%=*}]=${pair#*=}; done
    echo "${kv[mode]},${kv[streams]},${kv[seconds]},${kv[bytes]},${kv[MBps]},${kv[serverCpuSecPerGB]},${kv[clientCpuSecPerGB]},${kv[protocol]},${kv[cipher]}"
    unset kv
  done <"$summaries"
} >"$RESULTS/e2e.csv"
{
  echo "{\"jvm\":\"$jvm\",\"cpus\":$cpus,\"cpuModel\":\"$cpu_model\",\"loadAverageAtEnd\":\"$loadavg\",\"file\":\"$FILE\",\"durationSeconds\":$DURATION,\"runs\":["
  first=1
  while IFS=, read -r mode streams seconds bytes mbps scpu ccpu protocol cipher; do
    [ "$mode" = mode ] && continue
    [ $first = 1 ] || echo ","
    first=0
    printf '{"mode":"%s","streams":%s,"seconds":%s,"bytes":%s,"MBps":%s,"serverCpuSecPerGB":%s,"clientCpuSecPerGB":%s,"protocol":"%s","cipher":"%s"}' \
      "$mode" "$streams" "$seconds" "$bytes" "$mbps" "$scpu" "$ccpu" "$protocol" "$cipher"
  done <"$RESULTS/e2e.csv"
  echo "]}"
} >"$RESULTS/e2e.json"
rm -f "$summaries"
fi

if [ "$JMH" = 1 ]; then
  echo "== JMH (ktls-allocator, ktls-netty-handler): $JMH_ARGS" >&2
  # One reactor run: each module runs the benchmarks of its own that match. The handler's record sealing
  # is limited to AES-128-GCM (the suite of the end-to-end run) to keep the whole run short.
  regex='io\.ktls\.(allocator\.benchmarks\..*|handler\.benchmarks\.RecordSealBenchmark\.(seal|sslHandlerWrap)$|handler\.offload\..*)'
  params="-p suiteAtProvider=TLS_AES_128_GCM_SHA256@SunJCE,TLS_AES_128_GCM_SHA256@AmazonCorrettoCryptoProvider -p sslSuite=TLS_AES_128_GCM_SHA256"
  # JMH refuses to start while another JMH run holds /tmp/jmh.lock (an fcntl lock): wait for it rather
  # than measure two benchmarks against each other, and try again (up to 3 times) if another run took the
  # lock between the two modules.
  jmh_lock_free() {
    command -v python3 >/dev/null 2>&1 || return 0
    python3 -c 'import fcntl, sys
f = open("/tmp/jmh.lock", "a")
try:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    sys.exit(1)' 2>/dev/null
  }
  jmh_failed=1
  for attempt in 1 2 3; do
    waited=0
    until jmh_lock_free; do
      if [ "$waited" -ge "$JMH_LOCK_WAIT" ]; then echo "another JMH run still holds /tmp/jmh.lock" >&2; break; fi
      [ "$waited" = 0 ] && echo "waiting for another JMH run to finish" >&2
      sleep 10; waited=$((waited + 10))
    done
    rm -f ktls-allocator/target/jmh-result.json ktls-netty-handler/target/jmh-result.json
    mvn -B -ntp -q -Pjmh -DskipTests verify -pl ktls-netty-handler -am -Djmh.args="$JMH_ARGS $params $regex" \
        && jmh_failed=0
    # Keep what each module produced, even when the other one failed.
    [ -s ktls-allocator/target/jmh-result.json ] && cp ktls-allocator/target/jmh-result.json "$RESULTS/jmh-allocator.json"
    # The handler's test class path holds the allocator's test jar, so its JMH run sees (and runs) the
    # allocator's benchmarks too: keep only its own.
    command -v python3 >/dev/null && [ -s ktls-netty-handler/target/jmh-result.json ] && python3 -c 'import json, sys
entries = [e for e in json.load(open(sys.argv[1])) if e["benchmark"].startswith("io.ktls.handler.")]
json.dump(entries, open(sys.argv[2], "w"), indent=2)' ktls-netty-handler/target/jmh-result.json "$RESULTS/jmh-handler.json"
    [ "$jmh_failed" = 0 ] && break
    echo "JMH attempt $attempt failed" >&2
  done
  [ "$jmh_failed" = 0 ] || echo "JMH failed: the end-to-end results are still charted" >&2
fi

echo "== charts" >&2
if command -v python3 >/dev/null 2>&1; then
  python3 bench/charts.py "$RESULTS" docs/images
else
  echo "python3 not found: charts not rendered (results are in $RESULTS)" >&2
fi
echo "results: $RESULTS, charts: docs/images" >&2
exit "${jmh_failed:-0}"
