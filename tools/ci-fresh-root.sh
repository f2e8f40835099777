#!/usr/bin/env bash
# Runs .ci/run as CI does, on a fresh machine: a throwaway Debian bookworm root made by
# debootstrap, with only Node and npm added (copied from this machine, as CI's image has them),
# and a clean clone of this repository's HEAD. Proves that .ci/run installs everything itself.
#
#   sudo tools/ci-fresh-root.sh [ROOT_DIR]     (default /tmp/edgespec-fresh-root; ~20 min on 2 cores)
#
# Needs root, debootstrap and Debian's mirror. The log is ROOT_DIR/ci.log; exit status is .ci/run's.
set -euo pipefail
ROOT=${1:-/tmp/edgespec-fresh-root}
REPO=$(cd "$(dirname "$0")/.." && pwd)
MIRROR=${MIRROR:-http://deb.debian.org/debian}

if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"
fi
# Node and npm as a "machine with only Node and npm" has them.
cp "$(command -v node)" "$ROOT/usr/bin/node"
mkdir -p "$ROOT/usr/lib/node_modules"
rm -rf "$ROOT/usr/lib/node_modules/npm"
cp -r "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$ROOT/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/bin/npx"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The machine's network settings as CI's machine has them: its CA bundle (an egress proxy may
# re-sign TLS) and npm's user config.
cp "${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}" "$ROOT/etc/host-ca-bundle.crt"
mkdir -p "$ROOT/root"
[ -f "$HOME/.npmrc" ] && cp "$HOME/.npmrc" "$ROOT/root/.npmrc"
# git, to clone: CI's machine has it (the clone is made before .ci/run starts).
chroot "$ROOT" sh -c 'command -v git >/dev/null || (apt-get update -q && apt-get install -y -q --no-install-recommends git ca-certificates)'

rm -rf "$ROOT/src/edgespec"
mkdir -p "$ROOT/src"
git clone -q "$REPO" "$ROOT/src/edgespec"

mounts=(proc sys dev dev/pts)
cleanup() { for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -R "$ROOT/${mounts[$i]}" 2>/dev/null || umount -lR "$ROOT/${mounts[$i]}" 2>/dev/null || true; done; }
trap cleanup EXIT
mount -t proc proc "$ROOT/proc"
# Slave binds: unmounting them at the end never propagates back to this machine's /sys and /dev.
mount --rbind /sys "$ROOT/sys" && mount --make-rslave "$ROOT/sys"
mount --rbind /dev "$ROOT/dev" && mount --make-rslave "$ROOT/dev"
mount -t devpts devpts "$ROOT/dev/pts" 2>/dev/null || true

set +e
chroot "$ROOT" env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin TERM=dumb \
  NODE_EXTRA_CA_CERTS=/etc/host-ca-bundle.crt SSL_CERT_FILE=/etc/host-ca-bundle.crt \
  bash -c 'cd /src/edgespec && node --version && time bash .ci/run' 2>&1 | tee "$ROOT/ci.log"
code=${PIPESTATUS[0]}
echo "ci exit status: $code (log: $ROOT/ci.log)"
exit "$code"
