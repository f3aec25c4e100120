#!/bin/bash
# Runs inside the kernel guest (.ci/kernel-guest/run.sh, driven by KernelTlsGuestIT): the example file server with
# its write keys in Linux kernel TLS, downloaded from by curl and the JDK's HttpClient, byte for byte, over TLS 1.3
# and 1.2 with AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305.
#
#   1. fallback: the tls module is not loaded yet, so the kernel refuses TCP_ULP "tls" (ENOENT); --mode auto
#      serves the same bytes from the user-space record layer and counts the refusal;
#   2. kernel, JDK 17: the module loaded, --mode kernel; every download through the kernel (TlsTxSw in
#      /proc/net/tls_stat counts each connection), and a close without close_notify (no control records before
#      JDK 22), counted as such;
#   3. kernel, JDK 25: control records through sendmsg (java.lang.foreign): curl sees the server's close_notify.
#
# Each check writes "ok <name>" or "fail <name>" to $KTLS_GUEST_OUT/results and its output to
# $KTLS_GUEST_OUT/<name>.log; "<name> <seconds>" lines go to $KTLS_GUEST_OUT/timings. Exits 1 when a check failed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
jar="${KTLS_EXAMPLES_JAR:-$repo/examples/target/ktls-file-server.jar}"
test_classes="$repo/examples/target/test-classes"
java17=/usr/lib/jvm/java-17-openjdk-amd64/bin/java
java25=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
www=/tmp/www
files=(f0 f1 f16383 f16384 f16385 f10485767)
# TLS 1.3 suites are chosen by curl's --tls13-ciphers; TLS 1.2 ones by --ciphers (the server's certificate is
# ECDSA P-256, generated at its start).
tls13_suites=(TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256)
tls12_suites=(ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305)
# Netty's default list leaves ChaCha20-Poly1305 out of TLS 1.2: name every suite the checks use.
server_ciphers="TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256"
server_ciphers+=",TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
server_ciphers+=",TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
jdk_suites="TLSv1.3:TLS_AES_128_GCM_SHA256,TLSv1.3:TLS_AES_256_GCM_SHA384,TLSv1.3:TLS_CHACHA20_POLY1305_SHA256"
jdk_suites+=",TLSv1.2:TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLSv1.2:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
jdk_suites+=",TLSv1.2:TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
server_pid=



# A counter of the server's /_stats JSON, by its dotted path (e.g. ktls.kernel.refusals.NO_TLS_MODULE).
server_stat() {
  curl -sk "https://127.0.0.1:$1/_stats" | python3 -c '
import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[key]
print(value)' "$2"
}

make_files() {
  mkdir -p "$www" &&
  for f in "${files[@]}"; do head -c "${f#f}" /dev/urandom > "$www/$f" || return 1; done &&
  ls -l "$www"
}

# start_server PORT JAVA [JAVA OPTIONS...] -- [SERVER OPTIONS...]: waits for "listening on" (JVM start-up under
# emulation takes a while).
start_server() {
  local port="$1" java="$2" jvm=() i
  shift 2
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do jvm+=("$1"); shift; done
  shift
  "$java" "${jvm[@]}" -Xmx512m -XX:TieredStopAtLevel=1 -jar "$jar" --root "$www" --host 127.0.0.1 --port "$port" --transport epoll \
    --access-log off "$@" > "$out/server-$port.log" 2>&1 &
  server_pid=$!
  for ((i = 0; i < 600; i++)); do
    grep -q 'listening on' "$out/server-$port.log" && { cat "$out/server-$port.log"; return 0; }
    kill -0 "$server_pid" 2>/dev/null || { cat "$out/server-$port.log"; return 1; }
    sleep 0.5
  done
  cat "$out/server-$port.log"
  return 1
}

stop_server() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  server_pid=
  return 0
}

# curl_file PORT FILE CURL-OPTIONS...: downloads FILE and compares it with the original.
curl_file() {
  local port="$1" file="$2"
  shift 2
  rm -f /tmp/download
  curl -sSk --http1.1 --max-time 300 "$@" -o /tmp/download "https://127.0.0.1:$port/$file" &&
  cmp "$www/$file" /tmp/download &&
  echo "curl ok: $file $*"
}

curl_every_suite() {
  local port="$1" suite f
  for suite in "${tls13_suites[@]}"; do
    for f in "${files[@]}"; do
      curl_file "$port" "$f" --tlsv1.3 --tls13-ciphers "$suite" || return 1
    done
  done
  for suite in "${tls12_suites[@]}"; do
    for f in "${files[@]}"; do
      curl_file "$port" "$f" --tlsv1.2 --tls-max 1.2 --ciphers "$suite" || return 1
    done
  done
}

jdk_every_suite() {
  "$java17" -XX:TieredStopAtLevel=1 -cp "$test_classes" io.ktls.examples.kernel.GuestDownloads "https://127.0.0.1:$1/" "$www" \
    "$jdk_suites" "${files[@]}"
}

# close_notify_seen PORT: asks for a file with "Connection: close" and reads until the server closes; true when
# the server's close_notify came first. openssl s_client (unlike curl, which may close first once the body is in)
# reads to the end, and -msg shows each record it receives.
close_notify_seen() {
  printf 'GET /f16385 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    timeout 120 openssl s_client -connect "127.0.0.1:$1" -ign_eof -msg > /tmp/s_client.log 2>&1
  grep -a '^<<< .*Alert' /tmp/s_client.log
  grep -a -q '^<<< .*Alert.*close_notify' /tmp/s_client.log
}

# keyupdate_ends_connection PORT: openssl s_client asks for a KeyUpdate (its "K" command: ours, with
# update_requested). Kernel TLS cannot send our own, so the server ends the connection rather than leave the
# request unanswered: s_client must see the end long before its input does.
keyupdate_ends_connection() {
  local start=$SECONDS took rc feeder
  rm -f /tmp/keyupdate.in && mkfifo /tmp/keyupdate.in || return 1
  { echo K; sleep 100; } > /tmp/keyupdate.in &
  feeder=$!
  timeout 90 openssl s_client -connect "127.0.0.1:$1" -tls1_3 < /tmp/keyupdate.in > /tmp/keyupdate.log 2>&1
  rc=$?
  took=$((SECONDS - start))
  kill "$feeder" 2>/dev/null
  grep -a -v -E '^(    |-----|[A-Za-z0-9+/=]{40,}$)' /tmp/keyupdate.log | tail -n 6
  echo "s_client ended after ${took}s (exit $rc)"
  grep -a '^KEYUPDATE' /tmp/keyupdate.log && [ "$rc" -ne 124 ] && [ "$took" -lt 60 ] &&
  grep 'asked for a KeyUpdate' "$out/server-$1.log"
}

expect() {
  local what="$1" actual="$2" op="$3" expected="$4"
  echo "$what: $actual (expected $op $expected)"
  case "$op" in
    ==) [ "$actual" -eq "$expected" ] ;;
    '>=') [ "$actual" -ge "$expected" ] ;;
  esac
}

# 1. The kernel refuses: no tls module yet.
fallback() {
  ! grep -q '^tls ' /proc/modules || { echo "the tls module is loaded already"; return 1; }
  start_server 8441 "$java17" -- --mode auto || return 1
  curl_file 8441 f16385 --tlsv1.3 &&
  curl_file 8441 f10485767 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 &&
  expect "refusals (no tls module)" "$(server_stat 8441 ktls.kernel.refusals.NO_TLS_MODULE)" '>=' 2 &&
  expect "kernel sessions" "$(server_stat 8441 ktls.sessions.kernelTotal)" == 0 &&
  expect "records sealed in user space" "$(server_stat 8441 ktls.records.sealed)" '>=' 641
  local rc=$?
  stop_server
  return $rc
}

load_tls() {
  /run/ktls-modules/busybox insmod /run/ktls-modules/tls.ko && cat /proc/net/tls_stat
}

# 2. The kernel seals, JDK 17: no control records, so no close_notify.
kernel_jdk17() {
  local before after connections=$(( (${#tls13_suites[@]} + ${#tls12_suites[@]}) * ${#files[@]} ))
  before="$(tls_stat TlsTxSw)"
  start_server 8443 "$java17" -- --mode kernel --ciphers "$server_ciphers" || return 1
  curl_every_suite 8443 &&
  jdk_every_suite 8443 &&
  ! close_notify_seen 8443 &&
  echo "no close_notify from the server (JDK 17)" &&
  keyupdate_ends_connection 8443 &&
  after="$(tls_stat TlsTxSw)" &&
  cat /proc/net/tls_stat &&
  expect "TlsTxSw (kernel transmit sessions)" "$((after - before))" '>=' "$((connections + 1))" &&
  expect "kernel sessions" "$(server_stat 8443 ktls.sessions.kernelTotal)" '>=' "$((connections + 1))" &&
  expect "records sealed in user space" "$(server_stat 8443 ktls.records.sealed)" == 0 &&
  expect "refusals" "$(server_stat 8443 ktls.kernel.refusals.ERROR)" == 0 &&
  expect "bytes handed to the kernel" "$(server_stat 8443 ktls.kernel.bytesWritten)" '>=' \
    "$(( (${#tls13_suites[@]} + ${#tls12_suites[@]}) * 2 * $(cat "$www"/f* | wc -c) ))" &&
  expect "closes without close_notify" "$(server_stat 8443 ktls.kernel.closeNotifyUnsent)" '>=' 1
  local rc=$?
  stop_server
  return $rc
}

# 3. The kernel seals, JDK 25: close_notify goes out with sendmsg(TLS_SET_RECORD_TYPE).
kernel_jdk25() {
  start_server 8444 "$java25" --enable-native-access=ALL-UNNAMED -- --mode kernel --ciphers "$server_ciphers" || return 1
  curl_file 8444 f10485767 --tlsv1.3 &&
  close_notify_seen 8444 &&
  echo "close_notify from the server (JDK 25, sendmsg)" &&
  curl_file 8444 f16385 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-CHACHA20-POLY1305 &&
  expect "kernel sessions" "$(server_stat 8444 ktls.sessions.kernelTotal)" '>=' 2 &&
  expect "closes without close_notify" "$(server_stat 8444 ktls.kernel.closeNotifyUnsent)" == 0
  local rc=$?
  stop_server
  return $rc
}

check files make_files
check fallback fallback
check load-tls load_tls
check kernel-jdk17 kernel_jdk17
check kernel-jdk25 kernel_jdk25
cat /proc/net/tls_stat > "$out/tls_stat" 2>&1
exit $failed
