#!/usr/bin/env bash
# Prepares the Linux guest the kernel-TLS tests boot under qemu (see docs/kernel-guest.md): installs qemu and
# busybox-static when missing, downloads Debian's kernel image package (the one linux-image-amd64 points at, or
# $KTLS_GUEST_KERNEL_PACKAGE), extracts it into a cache folder (never onto the host's /boot or /lib/modules),
# and builds a small initramfs: busybox, our init and the modules the guest needs, in dependency order.
# Idempotent: rebuilds only when the kernel package, the init, busybox or the module list change.
#
# Prints two lines on stdout, the rest goes to stderr:
#   vmlinuz=<path>
#   initramfs=<path>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${KTLS_GUEST_CACHE:-$HOME/.cache/ktls-kernel-guest}"
log() { echo "kernel-guest/prepare: $*" >&2; }

# Modules the guest loads: tls, the 9p-over-virtio transport the host's filesystem comes through, overlay (a
# writable layer over the host's /tmp), and the
# crypto the kernel's TLS asks for. The kernel asks for missing crypto with request_module(), and the guest
# has no modprobe, so the AEADs TLS 1.2/1.3 use (AES-GCM, AES-CCM, ChaCha20-Poly1305) are loaded up front.
# Dependencies are added from each module's own depends= list.
modules=(tls 9p 9pnet_virtio virtio_pci overlay
         aesni_intel ghash_clmulni_intel gcm ctr ghash_generic ccm seqiv
         chacha20poly1305 chacha_x86_64 chacha_generic poly1305_x86_64
         ${KTLS_GUEST_EXTRA_MODULES:-})

sudo=""
as_root() {
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { log "need root or sudo to run: $*"; exit 1; }
    sudo="sudo"
  fi
  $sudo "$@"
}

# 1. Tools: qemu (TCG is enough: no /dev/kvm needed) and a static busybox for the initramfs.
need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
# Debian's plain busybox package is linked dynamically; the initramfs needs busybox-static's binary.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
apt_updated=""
apt_update() {
  [ -n "$apt_updated" ] && return 0
  command -v apt-get >/dev/null 2>&1 || { log "no apt-get; install these yourself: qemu-system-x86 busybox-static"; exit 1; }
  as_root apt-get update -qq
  apt_updated=1
}
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt_update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
command -v qemu-system-x86_64 >/dev/null 2>&1 || { log "qemu-system-x86_64 still missing"; exit 1; }
busybox="$(dpkg -L busybox-static | grep -m 1 '/bin/busybox$')"
[ -x "$busybox" ] || { log "busybox-static's binary is missing"; exit 1; }

# 2. The kernel package: what the linux-image-amd64 metapackage depends on, e.g. linux-image-6.1.0-57-amd64.
kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
package="${KTLS_GUEST_KERNEL_PACKAGE:-$(kernel_package)}"
if [ -z "$package" ]; then
  apt_update
  package="$(kernel_package)"
fi
[ -n "$package" ] || { log "cannot tell which kernel linux-image-amd64 depends on (apt-cache depends linux-image-amd64)"; exit 1; }
kernel_version="${package#linux-image-}"
dir="$cache_root/$kernel_version"
mkdir -p "$dir"

deb="$(ls "$dir"/"${package}"_*.deb 2>/dev/null | head -n 1 || true)"
if [ -z "$deb" ]; then
  log "downloading $package"
  # apt-get download writes into the working directory; as root it warns that it cannot drop to _apt.
  if ! (cd "$dir" && apt-get download -q "$package" >&2 2>/dev/null); then
    apt_update
    (cd "$dir" && apt-get download -q "$package" >&2)
  fi
  deb="$(ls "$dir"/"${package}"_*.deb | head -n 1)"
fi

# 3. The initramfs, rebuilt when any input changes.
inputs="$( { basename "$deb"; sha256sum "$busybox" | cut -d' ' -f1; cat "$here/init" "${BASH_SOURCE[0]}"; echo "${modules[*]}"; } | sha256sum | cut -d' ' -f1)"
vmlinuz="$dir/vmlinuz"
initramfs="$dir/initramfs.cpio.gz"
if [ -f "$vmlinuz" ] && [ -f "$initramfs" ] && [ "$(cat "$dir/inputs.sha256" 2>/dev/null)" = "$inputs" ]; then
  echo "vmlinuz=$vmlinuz"
  echo "initramfs=$initramfs"
  exit 0
fi

log "building the initramfs for $kernel_version"
work="$(mktemp -d "$dir/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/pkg"
moddir="$work/pkg/lib/modules/$kernel_version"
[ -d "$moddir" ] || { log "$deb has no lib/modules/$kernel_version"; exit 1; }

# Module name (dashes as underscores, the way the kernel names them) -> file, compressed or not.
declare -A file_of=()
while IFS= read -r -d '' f; do
  name="${f##*/}"; name="${name%%.ko*}"; name="${name//-/_}"
  file_of[$name]="$f"
done < <(find "$moddir" -name '*.ko' -print0 -o -name '*.ko.xz' -print0 -o -name '*.ko.zst' -print0 -o -name '*.ko.gz' -print0)

# Bookworm ships plain .ko files; later Debian kernels compress them, and busybox insmod reads only plain ones.
plain() {
  case "$1" in
    *.ko.xz) xz -dc "$1" ;;
    *.ko.zst) zstd -qdc "$1" ;;
    *.ko.gz) gzip -dc "$1" ;;
    *) cat "$1" ;;
  esac
}
depends_of() { plain "${file_of[$1]}" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' ' | tr '-' '_'; }
is_builtin() { grep -q "/${1//_/[-_]}\.ko\$" "$moddir/modules.builtin" 2>/dev/null; }

# Depth-first: a module is listed after everything it depends on.
declare -A state=()
order=()
visit() {
  local m="$1" d
  [ "${state[$m]:-}" = done ] && return 0
  [ "${state[$m]:-}" = visiting ] && { log "module dependency cycle at $m"; exit 1; }
  if [ -z "${file_of[$m]:-}" ]; then
    is_builtin "$m" && { state[$m]=done; return 0; }
    log "no module $m in $package"; exit 1
  fi
  state[$m]=visiting
  for d in $(depends_of "$m"); do visit "$d"; done
  state[$m]=done
  order+=("$m")
}
for m in "${modules[@]}"; do visit "${m//-/_}"; done

root="$work/initramfs"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,host,out,modules,tmp}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$here/init" "$root/init"
: > "$root/modules/order"
for m in "${order[@]}"; do
  plain "${file_of[$m]}" > "$root/modules/$m.ko"
  echo "$m" >> "$root/modules/order"
done
echo "$kernel_version" > "$root/kernel-version"
(cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) | gzip -1 > "$work/initramfs.cpio.gz"
cp "$work/pkg/boot/vmlinuz-$kernel_version" "$work/vmlinuz"
mv "$work/vmlinuz" "$vmlinuz"
mv "$work/initramfs.cpio.gz" "$initramfs"
echo "$inputs" > "$dir/inputs.sha256"
log "modules: ${order[*]}"
echo "vmlinuz=$vmlinuz"
echo "initramfs=$initramfs"
