#!/usr/bin/env bash
# The headline benchmark: the example HTTPS file server, in each mode, against nginx, downloading the same
# files with the same certificate over TLS 1.3 AES-128-GCM, measured with real clients (h2load, curl).
# From the repository root (bench/run.sh calls it first; FILES=0 there skips it):
#
#     bench/files.sh
#
# Servers, all started at the beginning and all measured in this one run:
#   nginx        nginx from Debian (OpenSSL 3), sendfile on, worker_processes auto (one per core, as the
#                file server has one event loop per core), no kernel TLS (the default)
#   plain        ktls-file-server --mode plain: no TLS, DefaultFileRegion on epoll, i.e. sendfile(2)
#   sslhandler   ktls-file-server --mode sslhandler: Netty SslHandler (BoringSSL) + ChunkedWriteHandler +
#                HttpChunkedInput(ChunkedNioFile, 8 KiB chunks)
#   inline       ktls-file-server --mode inline: KtlsHandler sealing on the event loop
#   offload      ktls-file-server --mode offload (its default): KtlsHandler with offload workers
#
# Tests, each as 3 rounds that go through every server in turn (so a slow spell of a shared machine
# hits all of them), the median reported:
#   c8      h2load --h1 -c 8 -n 8 on one 1 GiB file                MB/s, server CPU s/GB
#   curl    curl, one download of the same file                      MB/s, server CPU s/GB
#   c256    h2load --h1 -c 256 -n 1024 on a 4 MiB file               MB/s, server CPU s/GB, peak RSS
#   small   h2load --h1 -c 1000 -n 100000 on 16 KiB files (16 of them, round robin), keep-alive:
#           req/s, server CPU us per request
# Before the first round each server gets 3 discarded downloads of the big file (JIT). Server CPU is
# the utime+stime of its processes (/proc/PID/stat: a JVM's covers all its threads; nginx's is the master's
# plus its workers') over the client command, per decimal GB of file bytes. Peak RSS is VmHWM (/proc/PID/
# status) when the server stops: the peak over all its tests. Any failed download (h2load failed or
# non-2xx requests, curl's exit status, a short body) or a TLS session other than TLS 1.3 AES-128-GCM
# stops the run with an error rather than a figure.
#
# Logging: the file server writes an access line per request to stderr (it has no option to turn that
# off), so nginx logs too (access_log to a file, unbuffered: one write per request, as the file server's
# autoflushed stderr). Set NGINX_ACCESS_LOG=0 to turn nginx's off; the setting is printed and recorded.
#
# Output: bench/results/files-rounds.csv (every measurement), files.csv and files.json (medians, ratios
# against nginx and plain), files.md (the table), server logs bench/results/files-<server>.log (and nginx's
# access log files-nginx-access.log); charts docs/images/files-*.svg (bench/charts.py).
#
# Settings (environment; FILES_ keeps them apart from bench/run.sh's own):
#   FILES_SERVERS="nginx plain sslhandler inline offload"
#   FILES_ROUNDS=3 FILES_WARMUP=3   rounds per test (median); discarded downloads per server first
#   FILES_SIZE_MIB=1024        the big file, on tmpfs
#   FILES_C8_REQUESTS=8        h2load requests of the big file at 8 connections (one per connection)
#   FILES_TESTS="c8 curl c256 small"   the tests to run, in this order
#   FILES_C256_REQUESTS=1024 FILES_SMALL_REQUESTS=100000   fewer for a quick check of the script
#   FILES_DIR=/dev/shm/ktls-bench-files   the document root (made and filled here, kept between runs)
#   NGINX_ACCESS_LOG=1         0: access_log off in nginx (the file server logs regardless)
#   INSTALL=1                  0: do not apt-get install a missing nginx or h2load (fail instead)
#   JAVA=java JAVA_OPTS=""     the JVM of the file server, and its options
#   BUILD=1                    0: use examples/target/ktls-file-server.jar as it is
set -euo pipefail
cd "$(dirname "$0")/.."

SERVERS=${FILES_SERVERS:-"nginx plain sslhandler inline offload"}
ROUNDS=${FILES_ROUNDS:-3}
WARMUP=${FILES_WARMUP:-3}
SIZE_MIB=${FILES_SIZE_MIB:-1024}
C8_REQUESTS=${FILES_C8_REQUESTS:-8}
TESTS=${FILES_TESTS:-"c8 curl c256 small"}
C256_REQUESTS=${FILES_C256_REQUESTS:-1024}
SMALL_REQUESTS=${FILES_SMALL_REQUESTS:-100000}
DIR=${FILES_DIR:-/dev/shm/ktls-bench-files}
NGINX_ACCESS_LOG=${NGINX_ACCESS_LOG:-1}
INSTALL=${INSTALL:-1}
JAVA=${JAVA:-java}
JAVA_OPTS=${JAVA_OPTS:-}
BUILD=${BUILD:-1}
RESULTS=bench/results
JAR=examples/target/ktls-file-server.jar
SUITE=TLS_AES_128_GCM_SHA256
SMALL_FILES=16            # distinct 16 KiB files, requested round robin
mkdir -p "$RESULTS" docs/images

fail() { echo "files.sh: $*" >&2; exit 1; }
# 1000 connections in the small-file test: h2load needs a descriptor per connection (the JVM raises its own
# limit, nginx has worker_rlimit_nofile).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
command -v python3 >/dev/null || fail "python3 is needed for the summary"
for test in $TESTS; do
  case $test in c8|curl|c256|small) ;; *) fail "unknown test: $test (FILES_TESTS)" ;; esac
done

# --- tools ------------------------------------------------------------------------------------------------
need_install=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_install+=(nginx)
command -v h2load >/dev/null || need_install+=(nghttp2-client)
command -v curl >/dev/null || need_install+=(curl)
command -v openssl >/dev/null || need_install+=(openssl)
if [ ${#need_install[@]} -gt 0 ]; then
  [ "$INSTALL" = 1 ] || fail "missing: ${need_install[*]} (INSTALL=0)"
  echo "== apt-get install ${need_install[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need_install[@]}" >&2
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [ "$BUILD" = 1 ]; then
  echo "== build" >&2
  mvn -B -ntp -q -o -DskipTests package || mvn -B -ntp -q -DskipTests package
fi
[ -s "$JAR" ] || fail "$JAR not found (BUILD=0?)"

# --- files, certificate, nginx.conf -----------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ktls-bench-files.XXXXXX")
declare -A PID PORT SCHEME   # per server: its process, port, http or https
cleanup() { # every server started is stopped, however the script ends
  for s in "${!PID[@]}"; do
    kill -TERM "${PID[$s]}" 2>/dev/null || true
  done
  for s in "${!PID[@]}"; do
    wait "${PID[$s]}" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$DIR"
BIG=big-${SIZE_MIB}m.bin
BIG_BYTES=$((SIZE_MIB * 1048576))
MID=4m.bin
MID_BYTES=4194304
SMALL_BYTES=16384
make_file() { # name bytes: random contents (tmpfs keeps them in memory; zeros or holes would be cheaper to send)
  local path=$DIR/$1
  if [ ! -f "$path" ] || [ "$(stat -c %s "$path")" != "$2" ]; then
    head -c "$2" /dev/urandom >"$path.tmp" && mv "$path.tmp" "$path"
  fi
}
echo "== files in $DIR" >&2
for f in "$DIR"/big-*m.bin; do   # big files of other sizes, from earlier runs: tmpfs holds them in memory
  [ -e "$f" ] && [ "$f" != "$DIR/$BIG" ] && rm -f "$f"
done
make_file "$BIG" "$BIG_BYTES"
make_file "$MID" "$MID_BYTES"
for i in $(seq 1 $SMALL_FILES); do make_file "16k-$i.bin" "$SMALL_BYTES"; done

# One ECDSA P-256 certificate for 127.0.0.1 and localhost, served by every TLS server; the clients that
# verify (curl) verify against it, so a server that answers with another certificate fails the run.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

write_nginx_conf() { # port
  local log="access_log off;"
  if [ "$NGINX_ACCESS_LOG" = 1 ]; then
    : >"$RESULTS/files-nginx-access.log"
    log="access_log $PWD/$RESULTS/files-nginx-access.log;"
  fi
  local user=""
  [ "$(id -u)" = 0 ] && user="user root;"   # the workers must read $WORK/key.pem and the document root
  cat >"$WORK/nginx.conf" <<EOF
# One worker per core, as the file server has one event loop per core.
worker_processes auto;
worker_rlimit_nofile 8192;
daemon off;
$user
pid $WORK/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    $log
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path $WORK/body;
    proxy_temp_path $WORK/proxy;
    fastcgi_temp_path $WORK/fastcgi;
    uwsgi_temp_path $WORK/uwsgi;
    scgi_temp_path $WORK/scgi;
    server {
        listen 127.0.0.1:$1 ssl;
        root $DIR;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.3;
        ssl_conf_command Ciphersuites $SUITE;
    }
}
EOF
}

# --- servers ----------------------------------------------------------------------------------------------
url() { echo "${SCHEME[$1]}://127.0.0.1:${PORT[$1]}/$2"; }

tls_client_args() { # server -> curl's TLS options
  [ "${SCHEME[$1]}" = https ] && echo "--tlsv1.3 --tls-max 1.3 --tls13-ciphers $SUITE --cacert $WORK/cert.pem"
  return 0
}

wait_ready() { # server: until it answers a HEAD of the big file with 200, at most 60 s
  local s=$1
  for _ in $(seq 1 600); do
    kill -0 "${PID[$s]}" 2>/dev/null || { cat "$RESULTS/files-$s.log" >&2; fail "$s exited while starting"; }
    # shellcheck disable=SC2046
    if [ -n "${PORT[$s]:-}" ] && curl -sf -o /dev/null --head $(tls_client_args "$s") "$(url "$s" "$BIG")" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  fail "$s did not answer within 60 s"
}

start_server() { # server
  local s=$1 out
  case "$s" in
    nginx)
      PORT[$s]=$(free_port); SCHEME[$s]=https
      write_nginx_conf "${PORT[$s]}"
      "$NGINX" -c "$WORK/nginx.conf" -p "$WORK" >"$RESULTS/files-$s.log" 2>&1 &
      PID[$s]=$!
      ;;
    plain|sslhandler|inline|offload)
      local tls=(--cert "$WORK/cert.pem" --key "$WORK/key.pem" --protocols TLSv1.3)
      SCHEME[$s]=https
      if [ "$s" = plain ]; then tls=(); SCHEME[$s]=http; fi
      out=$WORK/$s.out
      : >"$out"
      # shellcheck disable=SC2086
      "$JAVA" $JAVA_OPTS -jar "$JAR" --mode "$s" --transport epoll --root "$DIR" --port 0 "${tls[@]}" \
          >"$out" 2>"$RESULTS/files-$s.log" &
      PID[$s]=$!
      for _ in $(seq 1 600); do
        grep -q "listening on" "$out" && break
        kill -0 "${PID[$s]}" 2>/dev/null || { cat "$RESULTS/files-$s.log" >&2; fail "$s did not start"; }
        sleep 0.1
      done
      PORT[$s]=$(sed -nE 's#listening on [a-z]+://[^:]+:([0-9]+)/#\1#p' "$out")
      [ -n "${PORT[$s]}" ] || fail "no listening line from --mode $s"
      ;;
    *) fail "unknown server: $s" ;;
  esac
  wait_ready "$s"
  echo "$s: pid ${PID[$s]}, $(url "$s" "")" >&2
}

server_pids() { # server -> the process and, for nginx, its workers
  local p=${PID[$1]}
  echo "$p"
  cat /proc/"$p"/task/*/children 2>/dev/null || true
}

cpu_ticks() { # server -> utime+stime of its processes, in clock ticks
  local total=0 line rest
  for p in $(server_pids "$1"); do
    line=$(cat /proc/"$p"/stat 2>/dev/null) || continue
    rest=${line##*) }             # the fields after the command name, which may hold spaces
    # shellcheck disable=SC2086
    set -- $rest                  # $1 is field 3 (state): utime is field 14, stime field 15
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}
TICKS=$(getconf CLK_TCK)

peak_rss_kib() { # server -> VmHWM summed over its processes
  local total=0 v
  for p in $(server_pids "$1"); do
    v=$(sed -nE 's/^VmHWM:\s*([0-9]+) kB/\1/p' /proc/"$p"/status 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# --- clients ----------------------------------------------------------------------------------------------
ROWS=$RESULTS/files-rounds.csv
echo "server,test,round,requests,bytes,seconds,cpuSeconds,protocol,cipher" >"$ROWS"

check_tls() { # server protocol cipher: the session must be TLS 1.3 AES-128-GCM on every TLS server
  [ "${SCHEME[$1]}" = http ] && return 0
  [ "$2" = TLSv1.3 ] && [ "$3" = "$SUITE" ] || fail "$1 negotiated '$2' '$3', expected TLSv1.3 $SUITE"
}

run_curl() { # server round [record]: one download of the big file
  local s=$1 round=$2 record=${3:-1} before after out err code size secs proto cipher
  out=$WORK/curl.out; err=$WORK/curl.err
  before=$(cpu_ticks "$s")
  # shellcheck disable=SC2046
  if ! curl -sS -v --fail --http1.1 -o /dev/null $(tls_client_args "$s") \
      -w '%{http_code} %{size_download} %{time_total}\n' "$(url "$s" "$BIG")" >"$out" 2>"$err"; then
    grep -v '^[<>{}*] \?$' "$err" | tail -5 >&2
    fail "curl failed against $s"
  fi
  after=$(cpu_ticks "$s")
  read -r code size secs <"$out"
  [ "$code" = 200 ] && [ "$size" = "$BIG_BYTES" ] || fail "curl against $s: status $code, $size of $BIG_BYTES bytes"
  proto=none; cipher=none
  if [ "${SCHEME[$s]}" = https ]; then
    read -r proto cipher < <(sed -nE 's#^\* SSL connection using ([^ ]+) / ([^ ]+).*#\1 \2#p' "$err" | head -1)
  fi
  check_tls "$s" "$proto" "$cipher"
  [ "$record" = 1 ] && echo "$s,curl,$round,1,$size,$secs,$(awk -v t=$((after - before)) -v h="$TICKS" 'BEGIN{printf "%.3f", t/h}'),$proto,$cipher" >>"$ROWS"
  return 0
}

run_h2load() { # server test round connections requests bytes-per-file uri...
  local s=$1 test=$2 round=$3 conns=$4 n=$5 per=$6; shift 6
  local urls=() u out before after secs total succeeded ok2xx proto cipher
  for u in "$@"; do urls+=("$(url "$s" "$u")"); done
  out=$WORK/h2load.out
  local tls=()
  [ "${SCHEME[$s]}" = https ] && tls=(--tls13-ciphers="$SUITE")
  before=$(cpu_ticks "$s")
  h2load --h1 -c "$conns" -n "$n" "${tls[@]}" "${urls[@]}" >"$out" 2>&1 || { tail -20 "$out" >&2; fail "h2load failed against $s ($test)"; }
  after=$(cpu_ticks "$s")
  # "requests: 8 total, 8 started, 8 done, 8 succeeded, 0 failed, 0 errored, 0 timeout"
  succeeded=$(sed -nE 's/^requests: .* ([0-9]+) succeeded.*/\1/p' "$out")
  ok2xx=$(sed -nE 's/^status codes: ([0-9]+) 2xx.*/\1/p' "$out")
  if [ "$succeeded" != "$n" ] || [ "$ok2xx" != "$n" ]; then
    grep -E '^(requests|status codes|traffic):' "$out" >&2
    fail "$s ($test, round $round): $succeeded of $n requests succeeded, $ok2xx with 2xx"
  fi
  # "finished in 8.12s, ..." (h2load writes ms or us below a second)
  secs=$(sed -nE 's/^finished in ([0-9.]+)(s|ms|us),.*/\1 \2/p' "$out" | awk '{ f = $2 == "s" ? 1 : $2 == "ms" ? 1e-3 : 1e-6; printf "%.6f", $1 * f }')
  [ -n "$secs" ] || { cat "$out" >&2; fail "no 'finished in' line from h2load"; }
  proto=none; cipher=none
  if [ "${SCHEME[$s]}" = https ]; then
    proto=$(sed -nE 's/^TLS Protocol: (.*)/\1/p' "$out" | head -1)
    cipher=$(sed -nE 's/^Cipher: (.*)/\1/p' "$out" | head -1)
  fi
  check_tls "$s" "$proto" "$cipher"
  total=$((n * per))
  echo "$s,$test,$round,$n,$total,$secs,$(awk -v t=$((after - before)) -v h="$TICKS" 'BEGIN{printf "%.3f", t/h}'),$proto,$cipher" >>"$ROWS"
}

# --- the run ----------------------------------------------------------------------------------------------
echo "== nginx access log: $([ "$NGINX_ACCESS_LOG" = 1 ] && echo on || echo off); file server access log: on (always)" >&2
for s in $SERVERS; do
  echo "== start $s" >&2
  start_server "$s"
  for w in $(seq 1 "$WARMUP"); do run_curl "$s" "warmup$w" 0; done
done

small_uris=()
for i in $(seq 1 $SMALL_FILES); do small_uris+=("16k-$i.bin"); done
for test in $TESTS; do
  for round in $(seq 1 "$ROUNDS"); do
    for s in $SERVERS; do
      echo "== $test round $round: $s" >&2
      case $test in
        c8) run_h2load "$s" c8 "$round" 8 "$C8_REQUESTS" "$BIG_BYTES" "$BIG" ;;
        curl) run_curl "$s" "$round" ;;
        c256) run_h2load "$s" c256 "$round" 256 "$C256_REQUESTS" "$MID_BYTES" "$MID" ;;
        small) run_h2load "$s" small "$round" 1000 "$SMALL_REQUESTS" "$SMALL_BYTES" "${small_uris[@]}" ;;
      esac
      tail -1 "$ROWS" >&2
    done
  done
done

declare -A RSS
for s in $SERVERS; do RSS[$s]=$(peak_rss_kib "$s"); done
for s in $SERVERS; do
  kill -TERM "${PID[$s]}"
  status=0
  wait "${PID[$s]}" || status=$?
  unset "PID[$s]"
  [ "$status" = 0 ] || fail "$s exited with status $status after SIGTERM (log: $RESULTS/files-$s.log)"
done

# --- summary ----------------------------------------------------------------------------------------------
rss_args=()
for s in $SERVERS; do rss_args+=("$s=${RSS[$s]}"); done
jvm=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -nE 's/^ *java.runtime.version = //p')
nginx_version=$("$NGINX" -v 2>&1 | sed -nE 's#.*nginx/##p')
ssl_lib=$("$NGINX" -V 2>&1 | sed -nE 's/^built with (.*)/\1/p')
python3 bench/files_summary.py "$ROWS" "$RESULTS" \
    --meta jvm="$jvm" cpus="$(nproc)" cpuModel="$(sed -nE 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1)" \
        kernel="$(uname -r)" loadAverageAtEnd="$(cut -d' ' -f1-3 /proc/loadavg)" date="$(date -u +%FT%TZ)" \
        nginx="$nginx_version ($ssl_lib)" h2load="$(h2load --version 2>&1 | head -1)" \
        curl="$(curl --version | head -1 | cut -d' ' -f1-2,5)" fileBytes="$BIG_BYTES" rounds="$ROUNDS" \
        warmupDownloads="$WARMUP" c8Requests="$C8_REQUESTS" c256Requests="$C256_REQUESTS" \
        smallRequests="$SMALL_REQUESTS" nginxAccessLog="$([ "$NGINX_ACCESS_LOG" = 1 ] && echo on || echo off)" \
        fileServerAccessLog=on javaOpts="$JAVA_OPTS" \
    --rss "${rss_args[@]}"
cat "$RESULTS/files.md"
python3 bench/charts.py "$RESULTS" docs/images
echo "results: $RESULTS/files.{csv,json,md}, charts: docs/images/files-*.svg" >&2
