#!/bin/bash
# Runs inside the kernel guest (.ci/kernel-guest/run.sh, driven by KernelGuestSmokeTest): proves the guest is
# what the kernel-TLS tests need. Each check writes "ok <name>" or "fail <name>" to $KTLS_GUEST_OUT/results
# and its output to $KTLS_GUEST_OUT/<name>.log; "<name> <seconds>" lines go to $KTLS_GUEST_OUT/timings.
# Exits 1 when a check failed. Optional: $KTLS_EXAMPLES_JAR, the packaged file server, timed with --help.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

kernel_tls_module() {
  grep -q '^tls ' /proc/modules && cat /proc/net/tls_stat
}

kernel_is_the_guests() {
  uname -r
  # The host's kernel has no tls module; the guest must not be running it.
  [ "$(uname -r)" != "${KTLS_HOST_KERNEL:-}" ] && [[ "$(uname -r)" == *-amd64 ]]
}

peers() {
  curl --version && openssl version
}

# A self-signed EC certificate: RSA key generation is slow under emulation.
certificate() {
  mkdir -p /tmp/tls && cd /tmp/tls &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost -days 1 \
    -keyout key.pem -out cert.pem &&
  head -c 8388608 /dev/urandom > payload
}

# Serves /tmp/tls with `openssl s_server -WWW` on 127.0.0.1:$1 (extra s_server options after the port), fetches
# the payload with curl and compares it byte for byte. curl runs without $OPENSSL_CONF: only the server's
# side may turn on kernel TLS.
fetch_from_s_server() {
  local port="$1" pid rc
  shift
  cd /tmp/tls || return 1
  openssl s_server -accept "127.0.0.1:$port" -cert cert.pem -key key.pem -WWW "$@" > "s_server.$port.log" 2>&1 &
  pid=$!
  env -u OPENSSL_CONF curl -sS -k --retry 30 --retry-connrefused --retry-delay 1 \
    -o "fetched.$port" "https://127.0.0.1:$port/payload"
  rc=$?
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  cat "s_server.$port.log"
  [ $rc -eq 0 ] && cmp payload "fetched.$port" && echo "fetched $(stat -c %s "fetched.$port") bytes, identical"
}

loopback_tls() {
  fetch_from_s_server 8443
}

# OpenSSL 3.0 turns kernel TLS on with the KTLS option (SSL_OP_ENABLE_KTLS) from its configuration; with
# -sendfile, s_server sends the file with sendfile(2) through the kernel's TLS. TlsTxSw counts sockets whose
# TX the kernel took over in software, so it must move.
openssl_ktls_tx() {
  local before after
  cat > /tmp/tls/ktls.cnf <<'CNF'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_module
[ssl_module]
system_default = ktls
[ktls]
Options = KTLS
CNF
  before="$(tls_stat TlsTxSw)"
  OPENSSL_CONF=/tmp/tls/ktls.cnf fetch_from_s_server 8444 -sendfile || return 1
  after="$(tls_stat TlsTxSw)"
  cat /proc/net/tls_stat
  echo "TlsTxSw before $before, after $after"
  grep -q "^KTLS SENDFILE 'payload' OK" /tmp/tls/s_server.8444.log && [ "$after" -gt "$before" ]
}

java_version() {
  "$1/bin/java" -version
}

file_server_help() {
  java -jar "$KTLS_EXAMPLES_JAR" --help
}

check kernel-tls-module kernel_tls_module
check kernel kernel_is_the_guests
check peers peers
check java-17 java_version /usr/lib/jvm/java-17-openjdk-amd64
check java-25 java_version /usr/lib/jvm/temurin-25-jdk-amd64
check certificate certificate
check loopback-tls loopback_tls
check openssl-ktls-tx openssl_ktls_tx
if [ -n "${KTLS_EXAMPLES_JAR:-}" ]; then
  check file-server-help file_server_help
fi
echo "smoke: results"; sed 's/^/  /' "$out/results"
echo "smoke: timings (s)"; sed 's/^/  /' "$out/timings"
exit $failed
