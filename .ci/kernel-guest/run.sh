#!/usr/bin/env bash
# Boots the kernel-TLS guest (docs/kernel-guest.md) under qemu-system-x86_64 with software emulation and runs
# one bash script in it, as root, in a chroot of this machine's filesystem (shared read-only over 9p).
#
#   run.sh <guest-script> [<out-dir>] [<arg>...]
#
# <guest-script>  absolute or relative host path; the guest runs the same path (the host's tree is its root).
# <out-dir>       host directory the guest may write, mounted at the same path inside the guest and named by
#                 $KTLS_GUEST_OUT there; default a new directory under $TMPDIR. run.sh keeps its own files in
#                 <out-dir>/.ktls-guest/ (console.log, exit-code, guest.sh).
# <arg>...        arguments for the guest script.
#
# Streams the guest's console to stdout and exits with the guest script's exit code, read from the
# "ktls-guest-exit=<rc>" line the guest's init prints; no such line (the guest crashed or hung) fails.
#
# Settings (environment):
#   KTLS_GUEST_TIMEOUT   seconds before qemu is killed and the run fails (default 600)
#   KTLS_GUEST_MEMORY    guest memory (default 3G)
#   KTLS_GUEST_CPUS      guest CPUs (default 2)
#   KTLS_GUEST_9P_CACHE  9p cache mode for the read-only host tree: loose (default), mmap or none
#   KTLS_GUEST_PASS      names of environment variables to pass to the guest script, space separated
#   KTLS_GUEST_DEFER_MODULES  modules not loaded at boot, comma separated (e.g. tls): the script loads them
#                        itself with /run/ktls-modules/busybox insmod /run/ktls-modules/<name>.ko
#   JAVA_HOME            passed on; default /usr/lib/jvm/java-17-openjdk-amd64
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "kernel-guest/run: $*" >&2; }

[ $# -ge 1 ] || { echo "usage: $0 <guest-script> [<out-dir>] [<arg>...]" >&2; exit 2; }
script="$(realpath "$1")"
[ -f "$script" ] || { log "no guest script $1"; exit 2; }
case "$script" in
  /run/*|/dev/*|/proc/*|/sys/*)
    log "the guest has its own /run, /dev, /proc and /sys, hiding the host's: put $script elsewhere"; exit 2 ;;
esac
shift
if [ $# -ge 1 ]; then
  mkdir -p "$1"
  out="$(realpath "$1")"
  shift
else
  out="$(mktemp -d "${TMPDIR:-/tmp}/ktls-guest.XXXXXX")"
fi
timeout_seconds="${KTLS_GUEST_TIMEOUT:-600}"
java_home="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"

paths="$("$here/prepare.sh")"
vmlinuz="$(sed -n 's/^vmlinuz=//p' <<<"$paths")"
initramfs="$(sed -n 's/^initramfs=//p' <<<"$paths")"

state="$out/.ktls-guest"
rm -rf "$state"
mkdir -p "$state"
echo "$out" > "$state/out-path"
{
  echo '#!/bin/bash'
  echo '# Written by .ci/kernel-guest/run.sh; the guest'"'"'s init runs it in the chroot with an empty environment.'
  printf 'export PATH=%q\n' "$java_home/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  printf 'export JAVA_HOME=%q HOME=/tmp/home TMPDIR=/tmp LANG=C.UTF-8 TERM=dumb\n' "$java_home"
  printf 'export KTLS_GUEST=1 KTLS_GUEST_OUT=%q\n' "$out"
  for name in ${KTLS_GUEST_PASS:-}; do
    [ -n "${!name+set}" ] && printf 'export %s=%q\n' "$name" "${!name}"
  done
  echo 'mkdir -p "$HOME"'
  printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
  printf 'exec /bin/bash %q' "$script"
  for arg in "$@"; do printf ' %q' "$arg"; done
  echo
} > "$state/guest.sh"

qemu=(qemu-system-x86_64
  -accel tcg,thread=multi -cpu max -smp "${KTLS_GUEST_CPUS:-2}" -m "${KTLS_GUEST_MEMORY:-3G}"
  -nodefaults -no-user-config -display none -no-reboot
  -chardev stdio,id=console,signal=off -serial chardev:console
  -kernel "$vmlinuz" -initrd "$initramfs"
  -append "console=ttyS0 quiet loglevel=4 panic=-1 ktls_9p_cache=${KTLS_GUEST_9P_CACHE:-loose} ktls_defer_modules=${KTLS_GUEST_DEFER_MODULES:-}"
  -fsdev local,id=host,path=/,security_model=none,readonly=on,multidevs=remap
  -device virtio-9p-pci,fsdev=host,mount_tag=host
  -fsdev local,id=out,path="${out//,/,,}",security_model=none
  -device virtio-9p-pci,fsdev=out,mount_tag=out
  -pidfile "$state/qemu.pid")

stop_qemu() {
  local pid
  pid="$(cat "$state/qemu.pid" 2>/dev/null || true)"
  # Only while that pid is still our qemu: the pid file outlives it.
  if [ -n "$pid" ] && grep -q '^qemu-system' "/proc/$pid/comm" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
  fi
}
trap 'stop_qemu; exit 130' INT TERM
log "booting $(basename "$vmlinuz") for $script (out: $out, timeout ${timeout_seconds}s)"
start=$SECONDS
# In the background, so that a signal to run.sh reaches the trap while qemu runs.
timeout -k 10 "$timeout_seconds" "${qemu[@]}" </dev/null 2>&1 | tee "$state/console.log" &
wait $! || true
trap - INT TERM
stop_qemu
elapsed=$((SECONDS - start))

rc="$(tr -d '\r' < "$state/console.log" | sed -n 's/^ktls-guest-exit=\([0-9][0-9]*\)$/\1/p' | tail -n 1)"
if [ -z "$rc" ]; then
  if [ "$elapsed" -ge "$timeout_seconds" ]; then
    log "the guest did not finish within ${timeout_seconds}s (KTLS_GUEST_TIMEOUT); qemu killed"
  else
    log "the guest stopped without reporting an exit code (see $state/console.log)"
  fi
  exit 124
fi
log "guest script exited with $rc after ${elapsed}s"
exit "$rc"
