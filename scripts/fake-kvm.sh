#!/usr/bin/env bash
# Runs a command (as root) in a private mount namespace whose /dev/kvm is faked, to test the three
# kinds of machine Tailor meets (FIELD-NOTES.md): no device, a device that does not open, and one
# that opens but cannot run a guest. Nothing changes outside the namespace.
#   scripts/fake-kvm.sh none|broken|useless -- COMMAND...
#     none     no /dev/kvm at all
#     broken   /dev/kvm exists but open(2) fails (a char device no driver serves: ENXIO)
#     useless  /dev/kvm opens read-write but every KVM ioctl fails (a copy of /dev/null), so QEMU
#              cannot start a guest under KVM: the probe must fail and its verdict be cached
# A working KVM cannot be faked; on such a machine run the suite without this script.
set -euo pipefail
mode=${1:-}
case "$mode" in none|broken|useless) ;; *) echo "usage: $0 none|broken|useless -- COMMAND..." >&2; exit 2 ;; esac
shift
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: $0 $mode -- COMMAND..." >&2; exit 2; }
exec unshare -m --propagation private bash -euc '
  mode=$1; shift
  dev=$(mktemp -d /tmp/tailor-fake-dev.XXXXXX)
  mount -t tmpfs -o mode=755 tailor-fake-dev "$dev"
  for e in /dev/* /dev/.[!.]*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    n=${e#/dev/}
    [ "$n" = kvm ] && continue
    if [ -L "$e" ]; then cp -P "$e" "$dev/$n"
    elif [ -d "$e" ]; then mkdir "$dev/$n"; mount --rbind "$e" "$dev/$n"
    else touch "$dev/$n"; mount --bind "$e" "$dev/$n"; fi
  done
  case "$mode" in
    broken) mknod -m 666 "$dev/kvm" c 240 0 ;;
    useless) mknod -m 666 "$dev/kvm" c 1 3 ;;
  esac
  mount --move "$dev" /dev
  rmdir "$dev"
  exec "$@"
' fake-kvm "$mode" "$@"
