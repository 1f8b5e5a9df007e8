#!/usr/bin/env python3
"""Benchmark (not a test): DataFrames in and out of sealed files, against
the policy's own Python (tests/python/policy_csv.py) and pandas alone.

    python3 bindings/python/bench_frames.py [--rows N] [--runs R] [--json]

A frame of N rows (default 1,000,000) and 5 columns like the policy's
example (timestamp, trade_id, symbol as text; profit_loss float; quantity
int). Medians of R interleaved runs (default 3), page cache warm:
- write: ``csvseal.write(dir, name, df)`` (no schema, as the policy
  checks none) against the policy's
  ``atomic_csv_write(path, df.to_dict("records"), headers)`` (goal: 10x)
  and against ``df.to_csv(path)`` alone, which writes no checksum and
  syncs nothing (goal: faster);
- read: ``csvseal.read(path, schema)`` (verified in the same pass, typed
  columns) against the policy's ``validate_csv_integrity(path)`` followed
  by ``pd.read_csv(path)`` (goal: 3x).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import csvseal

REPO = Path(__file__).resolve().parents[2]
SCHEMA = {
    "fields": [
        {"name": "timestamp", "type": "string"},
        {"name": "trade_id", "type": "string"},
        {"name": "symbol", "type": "string"},
        {"name": "profit_loss", "type": "number"},
        {"name": "quantity", "type": "integer"},
    ]
}


def load_policy():
    spec = importlib.util.spec_from_file_location("policy_csv", REPO / "tests/python/policy_csv.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    seconds = np.arange(n) % 86_400
    stamps = pd.Timestamp("2024-09-10") + pd.to_timedelta(seconds, unit="s")
    return pd.DataFrame(
        {
            "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "trade_id": [f"TRADE_20240910_{i:07d}" for i in range(n)],
            "symbol": np.array(["EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "USDCHF"])[np.arange(n) % 5],
            "profit_loss": np.round(rng.normal(0, 100, n), 2),
            "quantity": rng.integers(1, 1_000_000, n),
        }
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", action="store_true", help="one JSON object of medians (for scripts/bench.sh)")
    a = p.parse_args()
    policy = load_policy()
    df = frame(a.rows)
    headers = list(df.columns)
    times: dict[str, list[float]] = {}

    def timed(name: str, fn, setup=lambda: None) -> None:
        setup()
        t = time.perf_counter()
        fn()
        times.setdefault(name, []).append(time.perf_counter() - t)

    with tempfile.TemporaryDirectory(dir=REPO / "target") as tmp:
        tmp = Path(tmp)
        out = tmp / "out"
        out.mkdir()

        def clean() -> None:
            for f in out.iterdir():
                f.unlink()

        sealed = csvseal.write(tmp, "sealed", df, schema=SCHEMA, timestamp="2024-09-10T14:30:00Z")
        size_mb = sealed.stat().st_size / 1e6
        for _ in range(a.runs):
            timed("policy_write", lambda: policy.atomic_csv_write(str(out / "p.csv"), df.to_dict("records"), headers), clean)
            # As the policy's write: no schema.
            timed("write", lambda: csvseal.write(out, "w", df), clean)
            timed("to_csv", lambda: df.to_csv(out / "pandas.csv", index=False), clean)
            timed("policy_read", lambda: (policy.validate_csv_integrity(str(sealed)), pd.read_csv(sealed)))
            timed("read", lambda: csvseal.read(sealed, SCHEMA))
            timed("read_pandas", lambda: csvseal.read(sealed, SCHEMA).to_pandas())
    med = {k: statistics.median(v) for k, v in times.items()}
    med["rows"] = a.rows
    med["mb"] = size_mb
    if a.json:
        print(json.dumps(med))
        return
    print(f"{a.rows:,} rows x 5 columns, sealed file {size_mb:.0f} MB, Python {sys.version.split()[0]}, "
          f"pandas {pd.__version__}, {os.cpu_count()} CPUs; medians of {a.runs}")
    for label, key, base in [
        ('policy atomic_csv_write(df.to_dict("records"))', "policy_write", "policy_write"),
        ("csvseal.write(dir, name, df)", "write", "policy_write"),
        ("df.to_csv(path) (no checksums, no fsync)", "to_csv", "write"),
        ("policy validate_csv_integrity + pd.read_csv", "policy_read", "policy_read"),
        ("csvseal.read(path, schema)", "read", "policy_read"),
        ("csvseal.read(path, schema).to_pandas()", "read_pandas", "policy_read"),
    ]:
        print(f"{label:50} {med[key]:7.2f} s {med[base] / med[key]:6.1f}x")


if __name__ == "__main__":
    main()
