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
#   mixed   small files alongside big downloads: 8 curl processes each download the big file over and
#           over (one keep-alive connection each) while 4 other curl processes fetch the 16 KiB files
#           one after the other, each on one keep-alive connection, for 6 s; the latency of each small
#           request (curl's time_total; the first request of each connection, with its handshake, and the
#           one cut short at the end left out): p50, p99 (nearest rank), mean, max in ms, and how many
#           requests they are over (a slow server gives fewer). The downloads must all still be running
#           when the probes end, and a small request taking over 30 s fails the run
#   conns   (not in the default set) h2load --h1 with keep-alive at 1,000 and at 10,000 connections on
#           64 KiB files (16 of them, round robin), 150,000 requests per level: MB/s, server CPU s/GB and
#           the server's peak RSS during that level (VmHWM, reset before it through /proc/PID/clear_refs)
#           and its peak private memory (RssAnon, sampled every 0.2 s: VmHWM also counts the pages of files a
#           server maps, page cache shared with the kernel that a server reading with sendfile or read never
#           counts, so it is not the memory a server holds for its connections).
#           The one test where failed requests do not stop the run: a server that drops connections under
#           the storm of handshakes (a handshake timeout, no descriptors left) has that counted and shown
#           beside its figures, which count the requests that succeeded
# Before the first round each server gets 3 discarded downloads of the big file (JIT). Server CPU is
# the utime+stime of its processes (/proc/PID/stat: a JVM's covers all its threads; nginx's is the master's
# plus its workers') over the client command, per decimal GB of file bytes. Peak RSS is VmHWM (/proc/PID/
# status) when the server stops: the peak over all its tests. Any failed download (h2load failed or
# non-2xx requests, curl's exit status, a short body) or a TLS session other than TLS 1.3 AES-128-GCM
# stops the run with an error rather than a figure.
#
# Open-file caches: on in both by default (OPEN_FILES=1), alike: nginx open_file_cache max=256 inactive=60s
# with open_file_cache_valid 0s, the file server's default --open-files 256 (per event loop, as nginx's is per
# worker), which also looks at the path on every request. Each then stats the path per request and keeps
# the descriptor while the file stays the same. OPEN_FILES=0 turns both off (open, fstat, close per request).
#
# Access logs: off in every server by default (ACCESS_LOG=0: nginx access_log off, the file server
# --access-log off), as a benchmark of serving files would run them. ACCESS_LOG=1 turns them on in every
# server, each to its own file, written in batches as both do it: nginx access_log ... buffer=32k
# flush=1s, the file server --access-log FILE (batches of up to 32 KiB from a thread of its own, at least
# every 20 ms). The setting is printed and recorded in files.json and files.md.
#
# Output: bench/results/files-rounds.csv (every measurement), files.csv and files.json (medians, ratios
# against nginx and plain), files.md (the table), server logs bench/results/files-<server>.log (and nginx's
# access logs files-<server>-access.log with ACCESS_LOG=1), the latency samples of `mixed` in
# files-mixed-samples.csv; charts docs/images/files-*.svg (bench/charts.py).
#
# Settings (environment; FILES_ keeps them apart from bench/run.sh's own):
#   FILES_SERVERS="nginx plain sslhandler inline offload"
#   FILES_ROUNDS=3 FILES_WARMUP=3   rounds per test (median); discarded downloads per server first
#   FILES_SIZE_MIB=1024        the big file, on tmpfs
#   FILES_C8_REQUESTS=8        h2load requests of the big file at 8 connections (one per connection)
#   FILES_TESTS="c8 curl c256 small mixed"   the tests to run, in this order (add conns for the curve)
#   FILES_C256_REQUESTS=1024 FILES_SMALL_REQUESTS=100000   fewer for a quick check of the script
#   FILES_MIXED_DOWNLOADS=8    big downloads running during the small-file latency probes
#   FILES_MIXED_PROBES=4 FILES_MIXED_SECONDS=6   probe connections, and how long they run
#   FILES_CONNS_LEVELS="1000 10000" FILES_CONNS_REQUESTS=150000   connection counts, requests per level
#   FILES_DIR=/dev/shm/ktls-bench-files   the document root (made and filled here, kept between runs)
#   ACCESS_LOG=0               1: access logs on in every server (NGINX_ACCESS_LOG is its old name)
#   OPEN_FILES=1               0: no open-file cache in any server (nginx without open_file_cache, the
#                              file server with --open-files 0)
#   FILES_SMALL_WARMUP=3       discarded runs of the small-file test per server before its rounds
#   FILES_C256_WARMUP=1        discarded runs of the 256-connection test per server before its rounds
#   FILES_JIT_SETTLED_PERCENT=5 FILES_MAX_WARMUP=12   after those, a file server gets more discarded runs of
#                              small and c256 while its JIT compiler threads took more than 5% of its CPU in
#                              the last one, up to 12 in all: the rounds measure the compiled server, as it
#                              runs after its first minutes (the connection paths these tests exercise run a
#                              few hundred times per run, so C2 reaches them only over several runs)
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
TESTS=${FILES_TESTS:-"c8 curl c256 small mixed"}
C256_REQUESTS=${FILES_C256_REQUESTS:-1024}
SMALL_REQUESTS=${FILES_SMALL_REQUESTS:-100000}
MIXED_DOWNLOADS=${FILES_MIXED_DOWNLOADS:-8}
MIXED_PROBES=${FILES_MIXED_PROBES:-4}
MIXED_SECONDS=${FILES_MIXED_SECONDS:-6}
CONNS_LEVELS=${FILES_CONNS_LEVELS:-"1000 10000"}
CONNS_REQUESTS=${FILES_CONNS_REQUESTS:-150000}
DIR=${FILES_DIR:-/dev/shm/ktls-bench-files}
ACCESS_LOG=${ACCESS_LOG:-${NGINX_ACCESS_LOG:-0}}
OPEN_FILES=${OPEN_FILES:-1}
SMALL_WARMUP=${FILES_SMALL_WARMUP:-3}
C256_WARMUP=${FILES_C256_WARMUP:-1}
MAX_WARMUP=${FILES_MAX_WARMUP:-12}
JIT_SETTLED_PERCENT=${FILES_JIT_SETTLED_PERCENT:-5}
INSTALL=${INSTALL:-1}
JAVA=${JAVA:-java}
JAVA_OPTS=${JAVA_OPTS:-}
BUILD=${BUILD:-1}
RESULTS=bench/results
JAR=examples/target/ktls-file-server.jar
SUITE=TLS_AES_128_GCM_SHA256
SMALL_FILES=16            # distinct 16 KiB files (and 64 KiB files for conns), requested round robin
mkdir -p "$RESULTS" docs/images

fail() { echo "files.sh: $*" >&2; exit 1; }
case $ACCESS_LOG in 0|1) ;; *) fail "ACCESS_LOG: $ACCESS_LOG (expected: 0 or 1)" ;; esac
case $OPEN_FILES in 0|1) ;; *) fail "OPEN_FILES: $OPEN_FILES (expected: 0 or 1)" ;; esac
for test in $TESTS; do
  case $test in c8|curl|c256|small|mixed|conns) ;; *) fail "unknown test: $test (FILES_TESTS)" ;; esac
done
MAX_CONNS=1000   # the small-file test
if [[ " $TESTS " == *" conns "* ]]; then
  for level in $CONNS_LEVELS; do
    [[ $level =~ ^[1-9][0-9]*$ ]] || fail "FILES_CONNS_LEVELS: $level is not a number of connections"
    [ "$CONNS_REQUESTS" -ge "$level" ] || fail "FILES_CONNS_REQUESTS=$CONNS_REQUESTS is less than $level connections"
    [ "$level" -gt "$MAX_CONNS" ] && MAX_CONNS=$level
  done
fi
# Descriptors: h2load needs one per connection; a server one per connection and, while a response is in
# flight, one for its file. Raised as far as the hard limit allows (root may raise that too); the servers
# inherit it (the JVM raises its soft limit to the hard one itself, nginx gets worker_rlimit_nofile).
NOFILE_WANTED=$((2 * MAX_CONNS + 4096))
[ "$NOFILE_WANTED" -lt 65536 ] && NOFILE_WANTED=65536
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$NOFILE_WANTED" ]; then
  ulimit -Hn "$NOFILE_WANTED" 2>/dev/null || true
fi
ulimit -n "$NOFILE_WANTED" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
[ "$NOFILE" = unlimited ] && NOFILE=1048576
if [ "$NOFILE" -lt $((2 * MAX_CONNS + 256)) ]; then
  echo "files.sh: warning: ulimit -n is $NOFILE, less than 2 per connection at $MAX_CONNS connections plus" \
       "spare; a server may run out of descriptors (raise the hard limit: ulimit -Hn, LimitNOFILE=)" >&2
fi
SOMAXCONN=$(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo 4096)
NGINX_CONNECTIONS=$((MAX_CONNS + 1024 > 4096 ? MAX_CONNS + 1024 : 4096))
[ "$NGINX_CONNECTIONS" -gt "$NOFILE" ] && NGINX_CONNECTIONS=$NOFILE
command -v python3 >/dev/null || fail "python3 is needed for the summary"

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
CLIENTS=()                   # background clients of mixed, while they run
cleanup() { # every server and background client started is stopped, however the script ends
  for p in "${CLIENTS[@]}"; do kill "$p" 2>/dev/null || true; done
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
CONNS_BYTES=65536
if [[ " $TESTS " == *" conns "* ]]; then
  for i in $(seq 1 $SMALL_FILES); do make_file "64k-$i.bin" "$CONNS_BYTES"; done
fi

# One ECDSA P-256 certificate for 127.0.0.1 and localhost, served by every TLS server; the clients that
# verify (curl) verify against it, so a server that answers with another certificate fails the run.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

access_log_file() { echo "$PWD/$RESULTS/files-$1-access.log"; }

write_nginx_conf() { # port
  local log="access_log off;"
  if [ "$ACCESS_LOG" = 1 ]; then
    : >"$(access_log_file nginx)"
    log="access_log $(access_log_file nginx) combined buffer=32k flush=1s;"
  fi
  local cache=""
  [ "$OPEN_FILES" = 1 ] && cache="open_file_cache max=256 inactive=60s; open_file_cache_valid 0s;"
  local user=""
  [ "$(id -u)" = 0 ] && user="user root;"   # the workers must read $WORK/key.pem and the document root
  cat >"$WORK/nginx.conf" <<EOF
# One worker per core, as the file server has one event loop per core. Descriptors as the file server
# gets them (the JVM raises its limit to the hard one), and room in each worker for every connection of
# the run, so descriptors, not worker_connections, are the limit, as in the file server. Not more: nginx
# allocates and touches its connection table up front, which would count in its RSS.
worker_processes auto;
worker_rlimit_nofile $NOFILE;
daemon off;
$user
pid $WORK/nginx.pid;
error_log stderr warn;
events { worker_connections $NGINX_CONNECTIONS; }
http {
    $log
    $cache
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
        # The accept queue as the file server's (Netty's default): the kernel's somaxconn.
        listen 127.0.0.1:$1 ssl backlog=$SOMAXCONN;
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
      # A handshake may take 60 s, as nginx allows (client_header_timeout): a burst of 10,000 connections on two
      # cores queues handshakes for longer than Netty's 10 s default, and both servers must wait alike.
      local tls=(--cert "$WORK/cert.pem" --key "$WORK/key.pem" --protocols TLSv1.3 --handshake-timeout 60)
      local log=(--access-log off)
      [ "$OPEN_FILES" = 1 ] || log+=(--open-files 0)
      if [ "$ACCESS_LOG" = 1 ]; then : >"$(access_log_file "$s")"; log=(--access-log "$(access_log_file "$s")"); fi
      SCHEME[$s]=https
      if [ "$s" = plain ]; then tls=(); SCHEME[$s]=http; fi
      out=$WORK/$s.out
      : >"$out"
      # shellcheck disable=SC2086
      "$JAVA" $JAVA_OPTS -jar "$JAR" --mode "$s" --transport epoll --root "$DIR" --port 0 "${tls[@]}" "${log[@]}" \
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

stat_ticks() { # /proc/.../stat file -> its utime+stime in clock ticks (nothing if it is gone)
  local line rest
  line=$(cat "$1" 2>/dev/null) || return 0
  rest=${line##*) }             # the fields after the command name, which may hold spaces
  # shellcheck disable=SC2086
  set -- $rest                  # $1 is field 3 (state): utime is field 14, stime field 15
  echo $((${12} + ${13}))
}
cpu_ticks() { # server -> utime+stime of its processes, in clock ticks
  local total=0 p
  for p in $(server_pids "$1"); do
    total=$((total + $(stat_ticks /proc/"$p"/stat) + 0))
  done
  echo "$total"
}
TICKS=$(getconf CLK_TCK)
jit_ticks() { # server -> utime+stime of its JIT compiler threads (a JVM's "C1/C2 CompilerThread"s; 0 for nginx)
  local total=0 p t
  for p in $(server_pids "$1"); do
    for t in /proc/"$p"/task/*; do
      case "$(cat "$t"/comm 2>/dev/null)" in
        C1\ CompilerThre*|C2\ CompilerThre*) total=$((total + $(stat_ticks "$t"/stat) + 0)) ;;
      esac
    done
  done
  echo "$total"
}

status_kib() { # field server -> that field of /proc/PID/status (kB) summed over the server's processes
  local total=0 v
  for p in $(server_pids "$2"); do
    v=$(sed -nE "s/^$1:\s*([0-9]+) kB/\1/p" /proc/"$p"/status 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
peak_rss_kib() { status_kib VmHWM "$1"; } # server -> VmHWM
private_kib() { status_kib RssAnon "$1"; } # server -> private anonymous memory: heap, stacks, malloc, direct buffers

# sample_private SERVER FILE: writes the largest RssAnon seen every 0.2 s to FILE until killed (the kernel keeps
# no high-water mark of it).
sample_private() {
  local s=$1 file=$2 peak=0 now
  while :; do
    now=$(private_kib "$s")
    # Renamed into place: the sampler is killed at any moment, and a half-written file would read empty.
    if [ "$now" -gt "$peak" ]; then peak=$now; echo "$peak" >"$file.new" && mv -f "$file.new" "$file"; fi
    sleep 0.2
  done
}

declare -A RUN_PEAK   # per server: the largest VmHWM read before a reset, so the whole run's peak survives
reset_peak_rss() { # server: VmHWM back to the current RSS (proc(5), clear_refs 5); 1 if the kernel refused
  local s=$1 now p
  now=$(peak_rss_kib "$s")
  if [ "$now" -gt "${RUN_PEAK[$s]:-0}" ]; then RUN_PEAK[$s]=$now; fi
  for p in $(server_pids "$s"); do
    echo 5 2>/dev/null >/proc/"$p"/clear_refs || return 1
  done
}

# --- clients ----------------------------------------------------------------------------------------------
ROWS=$RESULTS/files-rounds.csv
# peakRssKiB, failed and peakPrivateKiB: conns only; p50Ms..maxMs: mixed only (empty otherwise).
echo "server,test,round,requests,bytes,seconds,cpuSeconds,protocol,cipher,connections,peakRssKiB,p50Ms,p99Ms,meanMs,maxMs,failed,peakPrivateKiB" >"$ROWS"
SAMPLES=$RESULTS/files-mixed-samples.csv
echo "server,round,probe,seconds" >"$SAMPLES"

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
  [ "$record" = 1 ] && echo "$s,curl,$round,1,$size,$secs,$(awk -v t=$((after - before)) -v h="$TICKS" 'BEGIN{printf "%.3f", t/h}'),$proto,$cipher,1,,,,,,," >>"$ROWS"
  return 0
}

run_h2load() { # server test round connections requests bytes-per-file uri...
  local s=$1 test=$2 round=$3 conns=$4 n=$5 per=$6; shift 6
  local urls=() u out before after secs total succeeded ok2xx proto cipher rss="" private="" sampler="" now
  for u in "$@"; do urls+=("$(url "$s" "$u")"); done
  out=$WORK/h2load.out
  local tls=()
  [ "${SCHEME[$s]}" = https ] && tls=(--tls13-ciphers="$SUITE")
  local measure_rss=0
  [[ $test == conns-* ]] && reset_peak_rss "$s" && measure_rss=1
  if [ "$measure_rss" = 1 ]; then
    private_kib "$s" >"$WORK/private.peak"
    sample_private "$s" "$WORK/private.peak" &
    sampler=$!
  fi
  before=$(cpu_ticks "$s")
  h2load --h1 -c "$conns" -n "$n" "${tls[@]}" "${urls[@]}" >"$out" 2>&1 || { tail -20 "$out" >&2; fail "h2load failed against $s ($test)"; }
  after=$(cpu_ticks "$s")
  if [ "$measure_rss" = 1 ]; then
    rss=$(peak_rss_kib "$s")
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
    private=$(cat "$WORK/private.peak" 2>/dev/null || true)
    now=$(private_kib "$s")
    [ "$now" -gt "${private:-0}" ] && private=$now
  fi
  # "requests: 8 total, 8 started, 8 done, 8 succeeded, 0 failed, 0 errored, 0 timeout"
  succeeded=$(sed -nE 's/^requests: .* ([0-9]+) succeeded.*/\1/p' "$out")
  ok2xx=$(sed -nE 's/^status codes: ([0-9]+) 2xx.*/\1/p' "$out")
  local failed=""
  if [[ $test == conns-* ]] && [ -n "$succeeded" ] && [ "$succeeded" -gt 0 ] && [ "$ok2xx" = "$succeeded" ]; then
    # Thousands of connections at once may overrun a server (its handshake timeout, its descriptors):
    # that is a result, recorded with the requests that failed, not a broken run. Figures count what arrived.
    failed=$((n - succeeded))
    [ "$failed" = 0 ] || echo "files.sh: $s ($test, round $round): $failed of $n requests failed" \
        "($(sed -nE 's/^time for connect: +([^ ]+ +[^ ]+).*/connect min, max: \1/p' "$out"))" >&2
    n=$succeeded
  elif [ "$succeeded" != "$n" ] || [ "$ok2xx" != "$n" ]; then
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
  echo "$s,$test,$round,$n,$total,$secs,$(awk -v t=$((after - before)) -v h="$TICKS" 'BEGIN{printf "%.3f", t/h}'),$proto,$cipher,$conns,$rss,,,,,$failed,$private" >>"$ROWS"
}

# mixed: big downloads keep every core busy while probes time small requests. Each process below is one
# curl on one keep-alive connection, reading its URLs from a config file: the downloads repeat the big
# file, each probe goes through the 16 KiB files in turn, both far more times than they can in the time
# given, and are stopped then. A probe's -w lines are line-buffered (stdbuf), so each finished request's
# line is in the file when the probe is stopped.
write_curl_config() { # file count url...: count transfers, the urls in turn, bodies to /dev/null
  local file=$1 count=$2; shift 2
  local urls=("$@") i
  for ((i = 0; i < count; i++)); do
    printf 'url = "%s"\noutput = "/dev/null"\n' "${urls[i % ${#urls[@]}]}"
  done >"$file"
}

run_mixed() { # server round
  local s=$1 round=$2 i p loads=() probes=() before after start end proto=none cipher=none urls=() u
  # shellcheck disable=SC2207
  local tls=($(tls_client_args "$s"))
  if [ ! -f "$WORK/mixed-$s-big.conf" ]; then # once per server: the same for every round
    write_curl_config "$WORK/mixed-$s-big.conf" 20000 "$(url "$s" "$BIG")"
    for u in "${small_uris[@]}"; do urls+=("$(url "$s" "$u")"); done
    write_curl_config "$WORK/mixed-$s-probe.conf" 20000 "${urls[@]}"
  fi
  for ((i = 0; i < MIXED_DOWNLOADS; i++)); do
    curl -sS --http1.1 "${tls[@]}" -K "$WORK/mixed-$s-big.conf" >/dev/null 2>"$WORK/mixed-big-$i.err" &
    loads+=($!); CLIENTS+=($!)
  done
  sleep 1   # every download under way: connected, past the handshake, streaming
  before=$(cpu_ticks "$s"); start=$(date +%s.%N)
  for ((p = 0; p < MIXED_PROBES; p++)); do
    stdbuf -oL curl -sS --http1.1 --max-time 30 "${tls[@]}" -K "$WORK/mixed-$s-probe.conf" -v \
        -w '%{http_code} %{size_download} %{num_connects} %{time_total}\n' >"$WORK/mixed-probe-$p.out" 2>"$WORK/mixed-probe-$p.err" &
    probes+=($!); CLIENTS+=($!)
  done
  sleep "$MIXED_SECONDS"
  local failed=""
  for p in "${!probes[@]}"; do # each probe must still be running: else it failed (or ran out of URLs)
    kill -0 "${probes[$p]}" 2>/dev/null || { wait "${probes[$p]}" || true; failed="$failed probe$p(ended early: $(grep -v '^[<>{}*]' "$WORK/mixed-probe-$p.err" | tail -1))"; }
  done
  for p in "${probes[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${probes[@]}"; do wait "$p" 2>/dev/null || true; done
  after=$(cpu_ticks "$s"); end=$(date +%s.%N)
  for i in "${!loads[@]}"; do # each download must still be running: else the load fell off during the probes
    kill -0 "${loads[$i]}" 2>/dev/null || { wait "${loads[$i]}" || true; failed="$failed download$i(ended early: $(tail -1 "$WORK/mixed-big-$i.err"))"; }
  done
  for i in "${loads[@]}"; do kill "$i" 2>/dev/null || true; done
  for i in "${loads[@]}"; do wait "$i" 2>/dev/null || true; done
  CLIENTS=()
  [ -z "$failed" ] || fail "mixed against $s, round $round:$failed"
  # Every probe request: 200 with the whole file; the first of each connection (it made the connection,
  # handshake included) is left out, any other that made a new connection means keep-alive failed. A
  # line cut by the stop (fewer than 4 fields) is the request under way then: not a result.
  for ((p = 0; p < MIXED_PROBES; p++)); do
    awk -v s="$s" -v r="$round" -v p="$p" -v want="$SMALL_BYTES" '
      NF < 4 { next }
      { n++ }
      $1 != 200 || $2 != want { printf "request %d: status %s, %s of %s bytes\n", n, $1, $2, want > "/dev/stderr"; bad = 1 }
      n > 1 && $3 != 0 { printf "request %d made a new connection (no keep-alive)\n", n > "/dev/stderr"; bad = 1 }
      n > 1 { print s "," r "," p "," $4 }
      END { exit bad }' \
      "$WORK/mixed-probe-$p.out" >>"$SAMPLES" || fail "mixed against $s, round $round: probe $p failed"
  done
  local stats n
  # Nearest-rank percentiles over every probe's requests of this server and round.
  n=$(awk -F, -v s="$s" -v r="$round" '$1 == s && $2 == r' "$SAMPLES" | wc -l)
  if [ "${SCHEME[$s]}" = https ]; then # from the first probe whose handshake finished
    read -r proto cipher < <(cat "$WORK"/mixed-probe-*.err | sed -nE 's#^\* SSL connection using ([^ ]+) / ([^ ]+).*#\1 \2#p' | head -1) || true
  fi
  if [ "$n" = 0 ]; then # so slow that no probe finished a request after its first: no latency to report
    echo "files.sh: $s (mixed, round $round): no small request finished within $MIXED_SECONDS s after the first of" \
         "its connection ($(grep -l 'SSL connection using' "$WORK"/mixed-probe-*.err 2>/dev/null | wc -l) of $MIXED_PROBES probes past the handshake)" >&2
    echo "$s,mixed,$round,0,0,$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.6f", b - a}'),0,$proto,$cipher,,,,,,,," >>"$ROWS"
    return 0
  fi
  check_tls "$s" "$proto" "$cipher"
  stats=$(awk -F, -v s="$s" -v r="$round" '$1 == s && $2 == r { print $4 }' "$SAMPLES" | sort -g | awk '
    { v[NR] = $1; sum += $1 }
    function rank(q,  k) { k = int(q * NR); if (k < q * NR) k++; return v[k] }
    END { printf "%.3f,%.3f,%.3f,%.3f", rank(0.5) * 1e3, rank(0.99) * 1e3, sum / NR * 1e3, v[NR] * 1e3 }')
  echo "$s,mixed,$round,$n,$((n * SMALL_BYTES)),$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.6f", b - a}'),$(awk -v t=$((after - before)) -v h="$TICKS" 'BEGIN{printf "%.3f", t/h}'),$proto,$cipher,,,$stats,," >>"$ROWS"
}

# --- the run ----------------------------------------------------------------------------------------------
ACCESS_LOG_WORD=$([ "$ACCESS_LOG" = 1 ] && echo on || echo off)
OPEN_FILES_WORD=$([ "$OPEN_FILES" = 1 ] && echo on || echo off)
echo "== access logs: $ACCESS_LOG_WORD in every server (ACCESS_LOG=$ACCESS_LOG); open-file caches: $OPEN_FILES_WORD (OPEN_FILES=$OPEN_FILES); descriptors: ulimit -n $NOFILE" >&2
for s in $SERVERS; do
  echo "== start $s" >&2
  start_server "$s"
  for w in $(seq 1 "$WARMUP"); do run_curl "$s" "warmup$w" 0; done
done

small_uris=() conns_uris=()
for i in $(seq 1 $SMALL_FILES); do small_uris+=("16k-$i.bin"); conns_uris+=("64k-$i.bin"); done
# discarded_runs TEST COUNT CONNECTIONS REQUESTS BYTES URI...: runs an h2load test through every server and
# drops its rows, so the JVMs compile that test's path before its rounds: COUNT times, and then again for a
# server whose JIT compiler threads still took more than JIT_SETTLED_PERCENT of its CPU in its last discarded
# run, up to MAX_WARMUP runs in all (nginx, with no compiler, stops at COUNT; COUNT 0 runs none). How many
# each server needed is recorded (WARMED, in files.json and the table's header line).
declare -A WARMED
discarded_runs() {
  local test=$1 count=$2; shift 2
  local -A settled=()
  local w s before jit_before total jit limit=$MAX_WARMUP
  [ "$count" -gt "$limit" ] && limit=$count
  [ "$count" -eq 0 ] && return 0   # no discarded runs asked for: none, whatever the JIT is doing
  for w in $(seq 1 "$limit"); do
    for s in $SERVERS; do
      [ -n "${settled[$s]:-}" ] && continue
      echo "== $test warm-up $w (discarded): $s" >&2
      before=$(cpu_ticks "$s") jit_before=$(jit_ticks "$s")
      run_h2load "$s" "$test" "warmup$w" "$@"
      sed -i '$d' "$ROWS"
      total=$(($(cpu_ticks "$s") - before)) jit=$(($(jit_ticks "$s") - jit_before))
      WARMED[$test.$s]=$w
      if [ "$w" -ge "$count" ] && [ $((jit * 100)) -le $((total * JIT_SETTLED_PERCENT)) ]; then
        settled[$s]=1
      fi
    done
    [ ${#settled[@]} -eq "$(wc -w <<<"$SERVERS")" ] && break
  done
  local summary=""
  for s in $SERVERS; do summary+=" $s ${WARMED[$test.$s]}"; done
  echo "== $test: discarded runs per server:$summary" >&2
}

for test in $TESTS; do
  case $test in # the paths the big-file warm-up leaves cold
    small) discarded_runs small "$SMALL_WARMUP" 1000 "$SMALL_REQUESTS" "$SMALL_BYTES" "${small_uris[@]}" ;;
    c256) discarded_runs c256 "$C256_WARMUP" 256 "$C256_REQUESTS" "$MID_BYTES" "$MID" ;;
  esac
  for round in $(seq 1 "$ROUNDS"); do
    levels=-
    [ "$test" = conns ] && levels=$CONNS_LEVELS   # a level goes through every server before the next
    for level in $levels; do
      for s in $SERVERS; do
        echo "== $test${level#-} round $round: $s" >&2
        case $test in
          c8) run_h2load "$s" c8 "$round" 8 "$C8_REQUESTS" "$BIG_BYTES" "$BIG" ;;
          curl) run_curl "$s" "$round" ;;
          c256) run_h2load "$s" c256 "$round" 256 "$C256_REQUESTS" "$MID_BYTES" "$MID" ;;
          small) run_h2load "$s" small "$round" 1000 "$SMALL_REQUESTS" "$SMALL_BYTES" "${small_uris[@]}" ;;
          mixed) run_mixed "$s" "$round" ;;
          conns) run_h2load "$s" "conns-$level" "$round" "$level" "$CONNS_REQUESTS" "$CONNS_BYTES" "${conns_uris[@]}" ;;
        esac
        tail -1 "$ROWS" >&2
      done
    done
  done
done

declare -A RSS
for s in $SERVERS; do # the whole run's peak: the larger of the current VmHWM and any read before a reset
  RSS[$s]=$(peak_rss_kib "$s")
  if [ "${RUN_PEAK[$s]:-0}" -gt "${RSS[$s]}" ]; then RSS[$s]=${RUN_PEAK[$s]}; fi
done
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
discarded=""
for test in small c256; do
  line=""
  for s in $SERVERS; do [ -n "${WARMED[$test.$s]:-}" ] && line+="${line:+, }$s ${WARMED[$test.$s]}"; done
  [ -n "$line" ] && discarded+="${discarded:+; }$test: $line"
done
python3 bench/files_summary.py "$ROWS" "$RESULTS" \
    --meta jvm="$jvm" cpus="$(nproc)" cpuModel="$(sed -nE 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1)" \
        kernel="$(uname -r)" loadAverageAtEnd="$(cut -d' ' -f1-3 /proc/loadavg)" date="$(date -u +%FT%TZ)" \
        nginx="$nginx_version ($ssl_lib)" h2load="$(h2load --version 2>&1 | head -1)" \
        curl="$(curl --version | head -1 | cut -d' ' -f1-2,5)" fileBytes="$BIG_BYTES" rounds="$ROUNDS" \
        warmupDownloads="$WARMUP" c8Requests="$C8_REQUESTS" c256Requests="$C256_REQUESTS" \
        smallRequests="$SMALL_REQUESTS" smallWarmup="$SMALL_WARMUP" c256Warmup="$C256_WARMUP" jitSettledPercent="$JIT_SETTLED_PERCENT" maxWarmup="$MAX_WARMUP" discardedRuns="$discarded" accessLog="$ACCESS_LOG_WORD" openFiles="$OPEN_FILES_WORD" mixedDownloads="$MIXED_DOWNLOADS" \
        mixedProbes="$MIXED_PROBES" mixedSeconds="$MIXED_SECONDS" connsRequests="$CONNS_REQUESTS" \
        connsFileBytes="$CONNS_BYTES" nofile="$NOFILE" somaxconn="$SOMAXCONN" javaOpts="$JAVA_OPTS" \
    --rss "${rss_args[@]}"
cat "$RESULTS/files.md"
python3 bench/charts.py "$RESULTS" docs/images
echo "results: $RESULTS/files.{csv,json,md}, charts: docs/images/files-*.svg" >&2
