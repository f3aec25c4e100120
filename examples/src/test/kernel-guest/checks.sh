# Sourced by the guest scripts (smoke.sh, kernel-tls.sh): named checks and their record in $KTLS_GUEST_OUT.
# check NAME COMMAND...: runs COMMAND with its output in $out/NAME.log; appends "ok NAME" or "fail NAME" to
# $out/results and "NAME SECONDS" to $out/timings; on a failure prints the log's tail and sets failed=1.
out="${KTLS_GUEST_OUT:?run this through .ci/kernel-guest/run.sh}"
: > "$out/results"
: > "$out/timings"
failed=0

check() {
  local name="$1" start rc
  shift
  start=$EPOCHREALTIME
  "$@" > "$out/$name.log" 2>&1
  rc=$?
  awk -v name="$name" -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%s %.2f\n", name, e - s }' >> "$out/timings"
  if [ $rc -eq 0 ]; then
    echo "ok $name" >> "$out/results"
  else
    echo "fail $name" >> "$out/results"
    echo "$(basename "$0" .sh): $name failed (rc $rc):"
    tail -n 40 "$out/$name.log" | sed 's/^/  | /'
    failed=1
  fi
}

# The value of one counter of /proc/net/tls_stat (0 while the tls module is not loaded).
tls_stat() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat 2>/dev/null || echo 0; }
