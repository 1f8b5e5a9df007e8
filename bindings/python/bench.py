#!/usr/bin/env python3
"""Benchmark (not a test): the csvseal package against the policy's own
Python (tests/python/policy_csv.py) on a file like the policy's example.

    python3 bindings/python/bench.py [ROWS]      # default 1,000,000

Prints, best of 3 with the page cache warm: verify vs the policy's
validate_csv_integrity, and write vs the policy's atomic_csv_write on the
same list of dicts (csvseal's write also from the CSV file itself).
"""

from __future__ import annotations

import csv
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import csvseal

REPO = Path(__file__).resolve().parents[2]


def load_policy():
    spec = importlib.util.spec_from_file_location("policy_csv", REPO / "tests/python/policy_csv.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def best_of(n, fn, setup=lambda: None):
    times = []
    for _ in range(n):
        setup()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    rows_n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    policy = load_policy()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = tmp / "input.csv"
        policy.generate(rows_n, str(source))
        sealed = csvseal.write(tmp, "bench", source, timestamp="2024-09-10T14:30:00Z")
        size_mb = sealed.stat().st_size / 1e6
        with open(source, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            headers = list(reader.fieldnames or [])
            data = list(reader)
        print(f"{rows_n:,} rows, sealed file {size_mb:.0f} MB, Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs")

        t_policy_v = best_of(3, lambda: policy.validate_csv_integrity(str(sealed)))
        assert csvseal.verify(sealed).valid
        t_verify = best_of(3, lambda: csvseal.verify(sealed))

        out = tmp / "out"
        out.mkdir()

        def clean():
            for p in out.iterdir():
                p.unlink()

        t_policy_w = best_of(3, lambda: policy.atomic_csv_write(str(out / "p.csv"), data, headers), clean)
        t_dropin = best_of(3, lambda: csvseal.atomic_csv_write(out / "c.csv", data, headers), clean)
        t_write_rows = best_of(3, lambda: csvseal.write(out, "w", data), clean)
        t_write_path = best_of(3, lambda: csvseal.write(out, "w", source), clean)

        print(f"{'':44} {'seconds':>8} {'MB/s':>7} {'vs policy':>9}")
        for label, t, base in [
            ("policy validate_csv_integrity", t_policy_v, t_policy_v),
            ("csvseal.verify(path)", t_verify, t_policy_v),
            ("policy atomic_csv_write(list of dicts)", t_policy_w, t_policy_w),
            ("csvseal.atomic_csv_write(list of dicts)", t_dropin, t_policy_w),
            ("csvseal.write(dir, name, list of dicts)", t_write_rows, t_policy_w),
            ("csvseal.write(dir, name, csv path)", t_write_path, t_policy_w),
        ]:
            print(f"{label:44} {t:8.2f} {size_mb / t:7.0f} {base / t:8.1f}x")


if __name__ == "__main__":
    main()
