#!/usr/bin/env bash
# Times .ci/run the way a fresh machine runs it: a fresh clone of the committed HEAD, an empty
# Tailor cache (kernels, ccache, stock packages, KVM verdict: TAILOR_CACHE in a new temp folder)
# and the chosen kind of /dev/kvm. Apt packages already installed on this host stay installed.
#   scripts/ci-cold.sh [host|none|broken|useless] [LOG]
#     host     this machine's /dev/kvm as it is (default)
#     none|broken|useless   faked by scripts/fake-kvm.sh (needs root)
# Prints the exit status and the wall time; the whole output goes to LOG (default /tmp/tailor-ci-cold-MODE.log).
# CI_COLD_CACHE=DIR: use DIR (empty or absent) as the cache and keep it afterwards, e.g. an empty
# ~/.cache/tailor, so the cold run also warms the cache for the work that follows.
set -euo pipefail
mode=${1:-host}
log=${2:-/tmp/tailor-ci-cold-$mode.log}
case "$mode" in host|none|broken|useless) ;; *) echo "usage: $0 [host|none|broken|useless] [LOG]" >&2; exit 2 ;; esac
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/tailor-ci-cold.XXXXXX)
# mktemp makes it 0700; tests run programs as an unprivileged user (doctor --fix without root), who must reach the clone
chmod 755 "$work"
git clone -q "$repo" "$work/clone"
cache=${CI_COLD_CACHE:-$work/cache}
if [ -n "$(ls -A "$cache" 2>/dev/null)" ]; then echo "ci-cold: $cache is not empty; a cold run needs an empty cache" >&2; exit 2; fi
mkdir -p "$cache"
wrap=()
[ "$mode" = host ] || wrap=("$repo/scripts/fake-kvm.sh" "$mode" --)
start=$(date +%s)
set +e
(cd "$work/clone" && TAILOR_CACHE="$cache" "${wrap[@]}" bash .ci/run) >"$log" 2>&1
status=$?
set -e
end=$(date +%s)
echo "ci-cold: kvm=$mode commit=$(git -C "$work/clone" rev-parse --short HEAD) status=$status wall=$((end - start)) s ($(( (end - start) / 60 )) min); log: $log"
rm -rf "$work"
exit "$status"
