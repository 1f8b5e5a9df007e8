#!/usr/bin/env bash
# Rebuilds csvseal's logic component from guest/ and installs it where the
# host embeds it: host/assets/csvseal_guest.wasm. Then rewrites its
# precompiled form, host/assets/csvseal_guest.x86_64.cwasm (see
# host/src/sandbox/precompiled.rs), with the host's release build.
#
#   scripts/build-component.sh          rebuild and install both
#   scripts/build-component.sh --check  rebuild the component and fail if it
#                                       differs by a byte (the precompiled
#                                       file is checked by `cargo test`)
#
# The build is reproducible: pinned toolchain (rust-toolchain.toml), locked
# dependencies (Cargo.lock), paths remapped so the checkout's location and
# the cargo home leave no trace in the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
toolchain="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)"
rustup target add wasm32-wasip2 --toolchain "$toolchain" >/dev/null
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rustc_sysroot="$(rustc --print sysroot)"
export CARGO_TARGET_DIR="$root/target/component"
export RUSTFLAGS="--remap-path-prefix=$root=/csvseal --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$rustc_sysroot=/rustc"
cargo build --locked -p csvseal-guest --target wasm32-wasip2 --profile component
built="$CARGO_TARGET_DIR/wasm32-wasip2/component/csvseal_guest.wasm"
dest="host/assets/csvseal_guest.wasm"
if grep -q 'wasi:' "$built"; then
  echo "error: the component imports WASI; it must import nothing" >&2
  exit 1
fi
if [[ "${1:-}" == "--check" ]]; then
  if cmp -s "$built" "$dest"; then
    echo "component is up to date: $dest ($(wc -c <"$dest") bytes, sha256 $(sha256sum "$dest" | cut -c1-16)…)"
  else
    echo "error: $dest differs from a fresh build of guest/; run scripts/build-component.sh and commit it" >&2
    exit 1
  fi
else
  cp "$built" "$dest"
  echo "installed $dest ($(wc -c <"$dest") bytes, sha256 $(sha256sum "$dest" | cut -c1-16)…)"
  unset CARGO_TARGET_DIR RUSTFLAGS
  CSVSEAL_UPDATE_PRECOMPILED=1 cargo test --locked --release -p csvseal --lib --quiet \
    sandbox::precompiled::tests::the_committed_artifact >/dev/null
  cwasm="host/assets/csvseal_guest.x86_64.cwasm"
  echo "installed $cwasm ($(wc -c <"$cwasm") bytes, sha256 $(sha256sum "$cwasm" | cut -c1-16)…)"
fi
