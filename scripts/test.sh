#!/usr/bin/env bash
# Everything CI checks, in order: what the tests need (install-deps.sh), the committed
# component against a fresh build, formatting, lints, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== note: the first build compiles wasmtime (the WebAssembly runtime): it takes several"
echo "   minutes (about 7-10 on 2 cores) before the first test runs; later runs reuse target/"
scripts/install-deps.sh

echo "== component: committed bytes match a fresh reproducible build"
scripts/build-component.sh --check

echo "== plugins: the example and hostile plugins in tests/plugins/ match a fresh build"
scripts/build-plugins.sh --check

echo "== fmt"
cargo fmt --all -- --check
(cd plugins && cargo fmt --all -- --check)

echo "== clippy (host and tests, then the guest for wasm32-wasip2)"
cargo clippy --locked --workspace --all-targets --release -- -D warnings
cargo clippy --locked --workspace --release --test kill_crash -- -D warnings
CARGO_TARGET_DIR=target/component cargo clippy --locked -p csvseal-guest --target wasm32-wasip2 --profile component -- -D warnings
# One package at a time: a workspace-wide build would unify the guest's
# features (hostile-fs uses std and must not get the no_std runtime).
for p in csvseal-plugin-row-rule csvseal-hostile csvseal-hostile-fs; do
  (cd plugins && CARGO_TARGET_DIR=../target/plugins cargo clippy --locked --release --target wasm32-wasip2 -p "$p" -- -D warnings)
done

echo "== tests"
cargo test --locked --workspace --release
# The Python extension's own unit tests (Python's text forms of values):
# its lib is test = false in the workspace run, which links no interpreter.
cargo test --locked --release -p csvseal-python --lib
echo "== python package: pip install ./bindings/python on the workspace build, pytest"
# maturin builds into the workspace's target/ with its release profile, so the
# wasmtime the tests just built is reused; compiling it again would add ~7 min.
pip_log=target/pip-install-csvseal.log
python3 -m pip install -v --no-build-isolation --disable-pip-version-check \
  --root-user-action=ignore --force-reinstall --no-deps ./bindings/python >"$pip_log" 2>&1 \
  || { cat "$pip_log"; exit 1; }
if grep -E "Compiling wasmtime(-internal-cranelift)? v" "$pip_log"; then
  echo "the Python package compiled wasmtime a second time: its dependencies' features differ" >&2
  echo "from the workspace test build's (see the comments in bindings/python/Cargo.toml)" >&2
  exit 1
fi
# pytest's temporary directories go under target/, not the system temp directory.
python3 -m pytest -q --basetemp=target/pytest-tmp bindings/python/tests
echo "== kill test (CSVSEAL_KILL_ITERS=1000 for the full size)"
cargo test --locked --workspace --release --test kill_crash

echo "== npm package and browser page: gen/ re-transpiled from the committed component (pinned jco), then node --test (Node, Worker, headless Chromium)"
(cd bindings/js && npm run --silent build && npm test --silent)

echo "== release: scripts/release.sh into dist/, signed with a throwaway key, then each file installed and run as its user would (scripts/check-release.sh)"
release_key="$(mktemp -d)"
trap 'rm -rf "$release_key"' EXIT
minisign -G -W -p "$release_key/release.pub" -s "$release_key/release.key" >/dev/null
scripts/release.sh --sign "$release_key/release.key"
scripts/check-release.sh "$release_key/release.pub"
rm -rf "$release_key"
