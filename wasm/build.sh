#!/bin/sh
# Rebuilds the drafter kernels (wasm/src) into the committed binary wasm/pkg/edgespec_kernels.wasm
# and records what it was built from in wasm/pkg/manifest.json (checked by
# test/drafters/wasm-binary.test.ts, so a source change without a rebuild fails the tests).
#
#   wasm/build.sh           rebuild and update pkg/
#   wasm/build.sh --check   rebuild into a temporary directory and fail unless the bytes equal pkg/
#
# Uses Debian's toolchain (rustc 1.63 + libstd-rust-dev-wasm32): crates.io and wasm-pack are not
# reachable from the build machines, and the crate has no dependencies. RUSTFLAGS replaces the
# list in .cargo/config.toml, so the SIMD flag is repeated here; --remap-path-prefix keeps the
# checkout's path out of the binary, so any checkout builds the same bytes.
set -eu
cd "$(dirname "$0")"
CRATE_DIR=$(pwd)
RUSTC=${RUSTC:-/usr/bin/rustc}
CARGO=${CARGO:-/usr/bin/cargo}
export RUSTC
export RUSTFLAGS="-C target-feature=+simd128 --remap-path-prefix=$CRATE_DIR=edgespec-kernels"
NAME=edgespec_kernels.wasm

sources_sha256() {
  # sha256sum lines of every input, sorted by path (C locale), hashed again.
  { find src -name '*.rs'; echo Cargo.toml; echo Cargo.lock; echo .cargo/config.toml; echo build.sh; } \
    | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1
}

build_into() {
  CARGO_TARGET_DIR="$1" "$CARGO" build --release --locked --target wasm32-unknown-unknown -j1 >&2
  echo "$1/wasm32-unknown-unknown/release/$NAME"
}

if [ "${1:-}" = "--check" ]; then
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  BUILT=$(build_into "$TMP/target")
  if cmp -s "$BUILT" "pkg/$NAME"; then
    echo "pkg/$NAME is current ($(sha256sum "pkg/$NAME" | cut -d' ' -f1))"
  else
    echo "pkg/$NAME is stale: run wasm/build.sh and commit pkg/" >&2
    exit 1
  fi
  exit 0
fi

BUILT=$(build_into "$CRATE_DIR/target")
mkdir -p pkg
cp "$BUILT" "pkg/$NAME"
cat > pkg/manifest.json <<JSON
{
  "binary": "$NAME",
  "binarySha256": "$(sha256sum "pkg/$NAME" | cut -d' ' -f1)",
  "sourcesSha256": "$(sources_sha256)",
  "rustc": "$("$RUSTC" --version)"
}
JSON
echo "wrote pkg/$NAME ($(wc -c < "pkg/$NAME") bytes)"
