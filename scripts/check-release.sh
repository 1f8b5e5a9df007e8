#!/usr/bin/env bash
# Checks what scripts/release.sh put in dist/, as a user of each file would:
# - SHA256SUMS lists every file and matches (and its signature, given the
#   public key: scripts/check-release.sh KEY.pub);
# - the CLI archive holds a binary of at most 40 MB that runs, its
#   completions and man pages;
# - the wheel installs into a clean venv with no index and no Rust, in under
#   a minute, and every ```python block of bindings/python/README.md runs
#   with it, each in a fresh empty directory (the release's CLI on PATH, as
#   for a user who installed both: the signing example makes its key with
#   `csvseal keygen`);
# - the npm tarball installs into a clean `npm init` project and every ```js
#   block of bindings/js/README.md runs as an .mjs file there;
# - the browser page's archive holds the page and what it imports.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
pub="${1:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "check-release: $*" >&2; exit 1; }

echo "== SHA256SUMS"
(cd dist && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match dist/"
for f in dist/*; do
  case "$(basename "$f")" in SHA256SUMS | SHA256SUMS.minisig) continue ;; esac
  grep -q " $(basename "$f")\$" dist/SHA256SUMS || fail "$(basename "$f") is not in SHA256SUMS"
done
if [[ -n "$pub" ]]; then
  minisign -Vm dist/SHA256SUMS -p "$pub" -q || fail "SHA256SUMS.minisig does not verify"
fi

echo "== CLI archive"
tar -C "$work" -xzf dist/csvseal-*-x86_64-unknown-linux-gnu.tar.gz
cli="$(echo "$work"/csvseal-*-x86_64-unknown-linux-gnu)"
size=$(stat -c %s "$cli/csvseal")
echo "csvseal binary: $((size / 1024 / 1024)) MB"
((size <= 40 * 1024 * 1024)) || fail "the CLI is $size bytes, over 40 MB"
"$cli/csvseal" --version >/dev/null || fail "the CLI does not run"
for f in completions/csvseal.bash completions/_csvseal completions/csvseal.fish man/man1/csvseal.1 man/man1/csvseal-write.1 README.md; do
  [[ -s "$cli/$f" ]] || fail "the CLI archive lacks $f"
done

# Every ```LANG block of a Markdown file, one file each: OUT/1.EXT, OUT/2.EXT...
blocks() {
  python3 - "$1" "$2" "$3" "$4" <<'PY'
import pathlib, re, sys
md, lang, out, ext = sys.argv[1:]
text = pathlib.Path(md).read_text()
found = re.findall(r"^```" + lang + r"[ \t]*\n(.*?)^```", text, re.S | re.M)
pathlib.Path(out).mkdir(parents=True)
for i, body in enumerate(found, 1):
    pathlib.Path(out, f"{i}.{ext}").write_text(body)
print(len(found))
PY
}

echo "== wheel: a clean venv, no index"
python3 -m venv "$work/venv"
start=$(date +%s)
"$work/venv/bin/pip" install --quiet --no-index --disable-pip-version-check dist/*.whl
took=$(($(date +%s) - start))
echo "pip install dist/*.whl: ${took} s"
((took < 60)) || fail "installing the wheel took ${took} s"
n=$(blocks bindings/python/README.md python "$work/py" py)
((n > 0)) || fail "bindings/python/README.md has no python example"
for f in "$work"/py/*.py; do
  d="$(mktemp -d "$work/run.XXXX")"
  (cd "$d" && PATH="$cli:$PATH" "$work/venv/bin/python" "$f") >"$d.log" 2>&1 || { cat "$d.log"; fail "python example $(basename "$f") failed with the wheel"; }
done
echo "$n python examples ran"

echo "== npm tarball: a clean project"
mkdir "$work/npm"
(cd "$work/npm" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "$root"/dist/csvseal-*.tgz) \
  || fail "npm install of the tarball failed"
[[ -s "$work/npm/node_modules/csvseal/README.md" ]] || fail "the npm tarball has no README.md"
[[ -d "$work/npm/node_modules/csvseal/gen" ]] || fail "the npm tarball has no gen/"
n=$(blocks bindings/js/README.md js "$work/js" mjs)
((n > 0)) || fail "bindings/js/README.md has no js example"
for f in "$work"/js/*.mjs; do
  d="$(mktemp -d "$work/npm/run.XXXX")"
  cp "$f" "$d/example.mjs"
  (cd "$d" && node example.mjs) >"$d.log" 2>&1 || { cat "$d.log"; fail "js example $(basename "$f") failed with the tarball"; }
done
echo "$n js examples ran"

echo "== browser page"
tar -C "$work" -xzf dist/csvseal-*-web.tar.gz
web="$(echo "$work"/csvseal-*-web)"
for f in web/index.html web/app.js src/index.js gen/csvseal_guest.js; do
  [[ -s "$web/$f" ]] || fail "the browser page lacks $f"
done
echo "release checked"
