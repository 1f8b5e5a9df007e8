#!/usr/bin/env bash
# Object-store write benchmark: a ~1 GiB sealed file written by
# `csvseal write --to s3://…` to a local SeaweedFS started here (temp dir,
# free ports; stopped on exit), timed with peak RSS and the CPU seconds of
# both csvseal and SeaweedFS (they share the cores). For context it also
# times the same write to a local directory, `csvseal verify` of the object
# (the store's read speed), and, if boto3 is installed, a plain multipart
# upload of the sealed file with the same part size and parallelism (the
# store's own upload ceiling on this machine, no sealing or verifying).
#
#   scripts/bench-object.sh [ROWS]     default 8300000 (~1 GiB sealed)
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-8300000}"
cargo build --locked --release -p csvseal >/dev/null
bin="$PWD/target/release/csvseal"
work="$(mktemp -d)"
weed_pid=""
cleanup() {
  if [[ -n "$weed_pid" ]]; then
    kill -TERM "$weed_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$weed_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$weed_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

read -r -a ports < <(python3 -c '
import socket
s=[socket.socket() for _ in range(8)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
export AWS_ACCESS_KEY_ID=csvsealbench AWS_SECRET_ACCESS_KEY=csvsealbenchsecret AWS_REGION=us-east-1
cat >"$work/s3.json" <<EOF
{"identities":[{"name":"bench","credentials":[{"accessKey":"$AWS_ACCESS_KEY_ID","secretKey":"$AWS_SECRET_ACCESS_KEY"}],"actions":["Admin","Read","Write","List"]}]}
EOF
mkdir -p "$work/data"
weed server -dir="$work/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
  -master.port="${ports[0]}" -master.port.grpc="${ports[1]}" \
  -volume.port="${ports[2]}" -volume.port.grpc="${ports[3]}" -volume.max=0 -volume.preStopSeconds=0 \
  -master.volumeSizeLimitMB=1024 \
  -filer -filer.port="${ports[4]}" -filer.port.grpc="${ports[5]}" -filer.localSocket="$work/filer.sock" \
  -s3 -s3.port="${ports[6]}" -s3.port.grpc="${ports[7]}" -s3.port.iceberg=0 -s3.port.lance=0 \
  -s3.config="$work/s3.json" >"$work/weed.log" 2>&1 &
weed_pid=$!
endpoint="http://127.0.0.1:${ports[6]}"
echo "a,b" >"$work/ready.csv"
for _ in $(seq 1 300); do
  "$bin" write --endpoint "$endpoint" --to s3://bench/ --name ready --input "$work/ready.csv" -q >/dev/null 2>&1 && break
  sleep 0.3
done

python3 tests/python/policy_csv.py generate "$rows" "$work/in.csv"
# CPU seconds SeaweedFS has used so far (user + system, all its threads).
weed_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$weed_pid/stat"; }
measure() { # label, command...: wall time, peak RSS and CPU of one run
  local label="$1"; shift
  local weed_before; weed_before="$(weed_cpu)"
  /usr/bin/time -f "%e %M %U %S" -o "$work/t" "$@" >"$work/out" 2>"$work/err" || {
    cat "$work/err" >&2; echo "$label failed" >&2; exit 1; }
  read -r secs kib user sys <"$work/t"
  echo "$secs" >"$work/secs"
  printf '%-52s %7.2f s %9d KiB peak RSS\n' "$label" "$secs" "$kib"
  # The two share 2 cores: throughput is CPU per byte, the client's plus
  # the store's (ARCHITECTURE.md, "Performance").
  awk -v u="$user" -v s="$sys" -v a="$weed_before" -v b="$(weed_cpu)" \
    'BEGIN{printf "  CPU: this process %.2f s, SeaweedFS %.2f s\n", u + s, b - a}'
}
rate() { awk -v b="$1" -v s="$(cat "$work/secs")" 'BEGIN{printf "  = %.0f MB/s\n", b / s / 1e6}'; }

mkdir "$work/local"
measure "csvseal write --dir (local disk)" "$bin" write --dir "$work/local" --name bench \
  --input "$work/in.csv" --timestamp 2024-09-10T14:30:00Z
sealed="$(cat "$work/out")"
size="$(stat -c %s "$sealed")"
echo "sealed file: $size bytes ($rows rows)"
rate "$size"
# A fresh SeaweedFS allocates its volumes during the first large write:
# the first run shows that, the second the steady state.
for run in 1 2; do
  measure "csvseal write --to s3:// (SeaweedFS), run $run" "$bin" write --endpoint "$endpoint" \
    --to "s3://bench/run$run/" --name bench --input "$work/in.csv" --timestamp 2024-09-10T14:30:00Z
  rate "$size"
done
measure "csvseal verify s3:// (download + verify)" "$bin" verify --endpoint "$endpoint" \
  s3://bench/run2/bench_20240910_143000.csv
rate "$size"
if python3 -c 'import boto3' 2>/dev/null; then
  measure "boto3 multipart upload, 8 MiB parts, 4 at once" python3 -c '
import sys, boto3
from boto3.s3.transfer import TransferConfig
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
s3.upload_file(sys.argv[2], "bench", "raw/upload.csv",
               Config=TransferConfig(multipart_chunksize=8 << 20, max_concurrency=4))
' "$endpoint" "$sealed"
  rate "$size"
fi
