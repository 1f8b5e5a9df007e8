#!/usr/bin/env bash
# csvseal's performance table (issue 9), all in one run: write 200k rows
# (JSON Lines and CSV, 16 and 4 columns) and verify 1M rows against the
# policy's Python on the same input; verify a tiny file with a warm and an
# empty compile cache; rows of mixed widths (issue 20: long notes among short
# rows, with the SHA-256 lane utilisation); write 10 rows against a bare C commit of the same
# bytes; verify a 1.3 GB file with its peak RSS; then the criterion benches
# (library small commit vs bare syscalls, sandboxed vs native guest code).
# Medians of interleaved runs, whole processes. Timing stays out of tests.
#
#   scripts/bench.sh                 the full table (~10 minutes on 2 cores)
#   scripts/bench.sh --quick         small sizes, 3 runs, no criterion (~1 minute)
#   scripts/bench.sh --markdown      the table as docs/performance.md prints it
#   scripts/bench.sh --update-docs   --markdown, pasted between docs/performance.md's bench
#                                    markers (--update-readme: the old name, kept working)
#   sizes: --write-rows N --verify-rows N --big-mb N --runs N --shapes wide,narrow
#          --no-criterion
#   --only mixed,verify,...  some sections only (write, verify, mixed, signing, frames,
#                            tiny, small, big, criterion); --best  the fastest run, not the median
#   frames: the Python package's DataFrame write and read (--frame-rows N), with
#           the csvseal package installed in the python3 that runs this
set -euo pipefail
cd "$(dirname "$0")/.."
update=0
args=()
for a in "$@"; do
  if [[ "$a" == --update-docs || "$a" == --update-readme ]]; then update=1; args+=(--markdown); else args+=("$a"); fi
done
cargo build --locked --release -p csvseal >&2
cargo build --locked --release -p csvseal-guest --example lane_stats >&2
mkdir -p target/bench
cc -O2 -o target/bench/bare_write scripts/bench/bare_write.c
run() {
  python3 scripts/bench/bench.py --csvseal target/release/csvseal \
    --bare target/bench/bare_write --lane-stats target/release/examples/lane_stats --command "scripts/bench.sh $*" "${args[@]}"
}
if (( update )); then
  out="$(run "$@")"
  python3 - "$out" <<'PY'
import re, sys
doc = open('docs/performance.md').read()
start, end = '<!-- bench:start -->', '<!-- bench:end -->'
if start not in doc or end not in doc:
    sys.exit('docs/performance.md has no bench markers')
before, rest = doc.split(start, 1)
_, after = rest.split(end, 1)
open('docs/performance.md', 'w').write(f'{before}{start}\n{sys.argv[1]}\n{end}{after}')
PY
  echo "docs/performance.md updated" >&2
else
  run "$@"
fi
