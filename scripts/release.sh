#!/usr/bin/env bash
# Builds a release into dist/, every file in it listed in dist/SHA256SUMS:
#   csvseal-VERSION-x86_64-unknown-linux-gnu.tar.gz  the CLI (no debug info),
#       its bash/zsh/fish completions, its man pages, README.md
#   csvseal-VERSION-cp310-abi3-*.whl  the Python package, one wheel for
#       every CPython from 3.10 on; `pip install` needs no Rust
#   csvseal-VERSION.tgz               the npm package (gen/ and README.md in it)
#   csvseal-VERSION-web.tar.gz        the browser page as static files: serve
#       the folder and open web/index.html
# With --sign KEY (a minisign secret key), SHA256SUMS is signed too:
# SHA256SUMS.minisig, which `minisign -Vm SHA256SUMS -p KEY.pub` checks.
#
# It shares target/ and the release profile with scripts/test.sh, so after
# the tests it compiles almost nothing; from a clean clone it builds wasmtime
# once (about 7-10 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

sign_key=""
while (($#)); do
  case "$1" in
    --sign) sign_key="$(realpath "$2")"; shift 2 ;;
    *) echo "usage: scripts/release.sh [--sign MINISIGN_SECRET_KEY]" >&2; exit 2 ;;
  esac
done

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
target="x86_64-unknown-linux-gnu"
[[ "$(uname -m)-$(uname -s)" == "x86_64-Linux" ]] || {
  echo "release.sh builds the $target CLI; this machine is $(uname -m) $(uname -s)" >&2
  exit 2
}
echo "== release $version into dist/ (the first build compiles wasmtime: minutes)"
rm -rf dist
mkdir -p dist
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

echo "== CLI"
# --workspace: the features the test build resolves, so wasmtime is reused.
cargo build --locked --release --workspace --bins
cli="$stage/csvseal-$version-$target"
mkdir -p "$cli/completions" "$cli/man"
cp target/release/csvseal "$cli/"
"$cli/csvseal" completions bash >"$cli/completions/csvseal.bash"
"$cli/csvseal" completions zsh >"$cli/completions/_csvseal"
"$cli/csvseal" completions fish >"$cli/completions/csvseal.fish"
"$cli/csvseal" man --dir "$cli/man/man1" >/dev/null
cp README.md "$cli/"
tar -C "$stage" --owner=0 --group=0 -czf "dist/csvseal-$version-$target.tar.gz" "csvseal-$version-$target"

echo "== Python wheel (abi3)"
log="target/release-wheel.log"
if ! (cd bindings/python && maturin build --release --out ../../dist) >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi

echo "== npm package"
(cd bindings/js && npm run --silent build && npm pack --silent --pack-destination ../../dist >/dev/null)

echo "== browser page"
web="$stage/csvseal-$version-web"
mkdir -p "$web"
cp -r bindings/js/web bindings/js/src bindings/js/gen "$web/"
rm -f "$web/web/screenshot.png"
tar -C "$stage" --owner=0 --group=0 -czf "dist/csvseal-$version-web.tar.gz" "csvseal-$version-web"

(cd dist && sha256sum -- * >SHA256SUMS)
if [[ -n "$sign_key" ]]; then
  minisign -S -s "$sign_key" -m dist/SHA256SUMS -t "csvseal $version"
fi
echo "== dist/"
ls -l dist
