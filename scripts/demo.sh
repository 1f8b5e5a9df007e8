#!/usr/bin/env bash
# The main job, from nothing: build csvseal, seal a sample of trades into an
# atomic file, verify it, then show that a one-byte change is caught.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --release -p csvseal
bin=target/release/csvseal
out="$(mktemp -d)"
cat >"$out/trades.csv" <<'CSV'
timestamp,trade_id,symbol,profit_loss
2024-09-10T14:30:00Z,TRADE_20240910_001,EURUSD,25.0
2024-09-10T14:31:00Z,TRADE_20240910_002,GBPUSD,-12.5
2024-09-10T14:32:00Z,TRADE_20240910_003,USDJPY,7.25
CSV
echo "== write"
sealed="$("$bin" write --dir "$out" --name trade_results --input "$out/trades.csv")"
echo "$sealed"
cat "$sealed"
echo "== verify"
"$bin" verify "$sealed"
echo "== verify after changing one value (expect INVALID, exit 1)"
sed -i 's/-12.5/-12.6/' "$sealed"
if "$bin" verify "$sealed"; then echo "tampering went unnoticed" >&2; exit 1; fi
echo "demo files are in $out"
