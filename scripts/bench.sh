#!/usr/bin/env bash
# Times `csvseal verify` against the policy's Python validator on the same
# file, and shows peak memory does not grow with file size.
#
#   scripts/bench.sh [ROWS]     default 1000000; also runs 2x ROWS for memory
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
cargo build --locked --release -p csvseal >/dev/null
bin="$PWD/target/release/csvseal"
py="tests/python/policy_csv.py"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

measure() { # label, command...: best wall time of 3 runs and peak RSS
  local label="$1"; shift
  local best="" rss=""
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null 2>"$work/err" || {
      cat "$work/err" >&2; echo "$label failed" >&2; exit 1; }
    read -r secs kib <"$work/t"
    if [[ -z "$best" ]] || awk "BEGIN{exit !($secs < $best)}"; then best="$secs"; fi
    rss="$kib"
  done
  printf '%-44s %8.2f s %9d KiB peak\n' "$label" "$best" "$rss"
  echo "$best" >"$work/last"
}

for n in "$rows" "$((rows * 2))"; do
  python3 "$py" generate "$n" "$work/in.csv"
  sealed="$("$bin" write --dir "$work" --name bench --input "$work/in.csv" \
            --timestamp 2024-09-10T14:30:00Z)"
  size="$(du -m "$sealed" | cut -f1)"
  echo "== $n rows, $size MB: $sealed"
  "$bin" verify "$sealed" >/dev/null   # warm the page cache and the compile cache
  measure "csvseal write (seal, fsync, verify, rename)" bash -c \
    "rm -f '$work'/again_*.csv && '$bin' write --dir '$work' --name again --input '$work/in.csv'"
  rm -f "$work"/again_*.csv
  measure "csvseal verify (sandboxed)" "$bin" verify "$sealed"
  ours="$(cat "$work/last")"
  measure "python policy validate_csv_integrity" python3 "$py" validate "$sealed"
  theirs="$(cat "$work/last")"
  awk "BEGIN{printf \"speedup: %.1fx\n\", $theirs / $ours}"
  rm -f "$sealed" "$work/in.csv"
done
