#!/usr/bin/env bash
# Installs what the tests need, from the registries, only where missing:
# the pinned Rust toolchain and the wasm32-wasip2 target, Debian packages,
# Python and npm packages. Idempotent; scripts/test.sh runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== rust: pinned toolchain, rustfmt, clippy, wasm32-wasip2"
toolchain="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)"
# Install the pinned toolchain only when missing (an install re-syncs it).
rustup run "$toolchain" rustc --version >/dev/null 2>&1 ||
  rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy
rustup component add --toolchain "$toolchain" rustfmt clippy >/dev/null 2>&1
rustup target add wasm32-wasip2 --toolchain "$toolchain" >/dev/null

# Debian packages: installed only when a command is missing.
apt_install() { # package...
  local sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
echo "== debian: strace (durable-order test)"
command -v strace >/dev/null || apt_install strace

command -v python3 >/dev/null || { echo "python3 is needed by the compatibility tests" >&2; exit 1; }

# Python packages, pinned, installed only when missing or at another version:
# maturin builds the csvseal Python package, pytest runs its tests, wasmtime
# (wasmtime-py) runs the raw-component example.
echo "== python: maturin, pytest, wasmtime (pip)"
pip_pins=(maturin==1.16.0 pytest==9.2.0 wasmtime==50.0.1)
mapfile -t missing < <(python3 - "${pip_pins[@]}" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        ok = version(name) == want
    except PackageNotFoundError:
        ok = False
    if not ok:
        print(pin)
PY
)
if ((${#missing[@]})); then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${missing[@]}"
fi
