#!/usr/bin/env bash
# Rebuilds the plugin components from source (workspace plugins/) and
# installs them in tests/plugins/, where the tests load them:
#   row-rule.wasm             the worked example, examples/row-rule-plugin
#   hostile-<behaviour>.wasm  plugins/hostile, one build per feature
#   hostile-fs.wasm           plugins/hostile-fs (std, imports WASI)
#
#   scripts/build-plugins.sh          rebuild and install
#   scripts/build-plugins.sh --check  rebuild and fail if any differs by a byte
#
# Reproducible like scripts/build-component.sh: pinned toolchain, locked
# dependencies (plugins/Cargo.lock), paths remapped. One more step: cargo
# hashes a path dependency that lies outside the workspace (../guest) by its
# absolute path, and that hash reaches symbol names and so code layout. The
# sources are therefore built from a copy at a fixed path, the same on every
# machine, whatever the checkout's location.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
toolchain="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)"
rustup target add wasm32-wasip2 --toolchain "$toolchain" >/dev/null
src=/tmp/csvseal-plugin-build
lock="$src.build-lock"
# One build at a time in that fixed path (several checkouts may share it). The
# lock file is removed on exit like the copy, so a waiter that gets the lock
# on a file already unlinked takes a fresh one.
while :; do
  exec 9>"$lock"
  flock 9
  [[ "$(stat -c %i "$lock" 2>/dev/null)" == "$(stat -L -c %i /proc/self/fd/9)" ]] && break
  exec 9>&-
done
# Nothing is left in /tmp: the copy and the lock go on any exit (the build
# output is under target/plugins).
trap 'rm -rf "$src"; rm -f "$lock"' EXIT
rm -rf "$src" && mkdir -p "$src"
# The whole tree but build output, git and the npm package's node_modules:
# guest/ inherits its package fields from the root workspace.
tar -C "$root" --exclude=./target --exclude=./.git --exclude='*/target' --exclude=node_modules \
    --exclude=corpus --exclude=artifacts --exclude=./tests/plugins -cf - . | tar -C "$src" -xf -
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rustc_sysroot="$(rustc --print sysroot)"
export CARGO_TARGET_DIR="$root/target/plugins"
export RUSTFLAGS="--remap-path-prefix=$src=/csvseal --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$rustc_sysroot=/rustc"
out="$CARGO_TARGET_DIR/wasm32-wasip2/release"
dest="tests/plugins"
check="${1:-}"
mkdir -p "$dest"
status=0

build() { # package, output name, [features]
  local pkg="$1" name="$2" features="${3:-}"
  (cd "$src/plugins" && cargo build --locked --release --target wasm32-wasip2 -p "$pkg" \
     ${features:+--features "$features"} --quiet)
  local built="$out/${pkg//-/_}.wasm"
  # Only hostile-fs may import WASI (it is there to be refused for it).
  if [[ "$name" != hostile-fs ]] && grep -q 'wasi:' "$built"; then
    echo "error: $name imports WASI; it must import nothing" >&2; exit 1
  fi
  if [[ "$check" == --check ]]; then
    if cmp -s "$built" "$dest/$name.wasm"; then
      echo "up to date: $dest/$name.wasm ($(wc -c <"$built") bytes)"
    else
      echo "error: $dest/$name.wasm differs from a fresh build; run scripts/build-plugins.sh and commit it" >&2
      status=1
    fi
  else
    cp "$built" "$dest/$name.wasm"
    echo "installed $dest/$name.wasm ($(wc -c <"$built") bytes, sha256 $(sha256sum "$built" | cut -c1-16)…)"
  fi
}

build csvseal-plugin-row-rule row-rule
for b in loop-forever grow-memory flood-output trap-midway bad-checksums broken-sequence torn-row lenient lying-summary \
         ignore-start-seq drop-row alter-value; do
  build csvseal-hostile "hostile-$b" "$b"
done
build csvseal-hostile-fs hostile-fs
if ! grep -q 'wasi:filesystem' "$out/csvseal_hostile_fs.wasm"; then
  echo "error: hostile-fs does not import wasi:filesystem; the test would prove nothing" >&2; exit 1
fi
exit "$status"
