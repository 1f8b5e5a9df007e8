#!/usr/bin/env python3
"""A straightforward Python implementation of the CSV atomic write policy
(shared/policy/csv-atomic-write-policy.md), written independently of csvseal.

csvseal's end-to-end tests use it to prove compatibility both ways: files it
writes verify with csvseal, and files csvseal writes verify here. The
benchmark uses `validate` as the baseline.

    policy_csv.py write TARGET.csv INPUT.csv [--start-seq N] [--jsonl]
                                              (--jsonl: INPUT holds one JSON object a line)
    policy_csv.py validate FILE.csv           exit 0 valid, 1 invalid
    policy_csv.py generate N OUT [--wide] [--jsonl]
                                              an unsealed input like the policy's example
                                              (--wide: 16 columns, a trade blotter, ~430 bytes a
                                              JSON line; --jsonl: JSON Lines, string values)
"""
import csv
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List


def compute_row_checksum(row_data: Dict[str, Any], exclude_column: str = 'checksum_sha256') -> str:
    """The policy's checksum, verbatim."""
    ordered_values = []
    for key, value in sorted(row_data.items()):
        if key != exclude_column:
            ordered_values.append(str(value))
    row_string = '|'.join(ordered_values)
    return hashlib.sha256(row_string.encode('utf-8')).hexdigest()


def atomic_csv_write(target_path: str, data: List[Dict[str, Any]], headers: List[str], start_seq: int = 1) -> None:
    """The policy's five steps: temp file, write, flush+fsync, rename."""
    target_file = Path(target_path)
    temp_file = Path(str(target_file) + '.tmp')
    out_headers = ['file_seq'] + headers + ['checksum_sha256']
    rows = []
    for i, row in enumerate(data):
        full = {'file_seq': start_seq + i}
        full.update(row)
        full['checksum_sha256'] = compute_row_checksum(full)
        rows.append([full[h] for h in out_headers])
    try:
        with open(temp_file, 'x', newline='', encoding='utf-8') as f:
            writer = csv.writer(f)
            writer.writerow(out_headers)
            writer.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        if target_file.exists():
            raise FileExistsError(target_file)
        temp_file.rename(target_file)
    except BaseException:
        temp_file.unlink(missing_ok=True)
        raise


def validate_csv_integrity(file_path: str) -> bool:
    """The policy's validator. Opened with newline='' (as the csv module
    requires) so quoted fields holding CR LF keep their exact bytes."""
    try:
        with open(file_path, 'r', newline='', encoding='utf-8') as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or 'file_seq' not in reader.fieldnames \
                    or 'checksum_sha256' not in reader.fieldnames:
                raise ValueError("missing metadata column")
            prev_seq = 0
            for row in reader:
                current_seq = int(row['file_seq'])
                if current_seq <= prev_seq:
                    raise ValueError(f"Sequence violation: {current_seq} <= {prev_seq}")
                stored_checksum = row.pop('checksum_sha256')
                computed_checksum = compute_row_checksum(row)
                if stored_checksum != computed_checksum:
                    raise ValueError(f"Checksum mismatch in seq {current_seq}")
                prev_seq = current_seq
        return True
    except Exception as e:  # the policy logs and returns False
        print(f"CSV integrity validation failed: {e}", file=sys.stderr)
        return False


def generate(n: int, out: str, wide: bool = False, jsonl: bool = False) -> None:
    """Rows like the policy's example (or a wider trade blotter),
    deterministic, as CSV or as JSON Lines with the same values."""
    symbols = ['EURUSD', 'GBPUSD', 'USDJPY', 'AUDUSD', 'USDCHF']
    header = ['timestamp', 'trade_id', 'symbol', 'profit_loss']
    if wide:
        header = ['timestamp', 'trade_id', 'account', 'desk', 'trader', 'symbol', 'side',
                  'quantity', 'price', 'notional', 'currency', 'venue', 'order_type',
                  'status', 'profit_loss', 'comment']

    def row(i: int) -> List[str]:
        sec = i % 86400
        ts = f'2024-09-10T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}Z'
        pl = f'{(i * 7919 % 20001 - 10000) / 100:.2f}'
        if not wide:
            return [ts, f'TRADE_20240910_{i + 1:07d}', symbols[i % 5], pl]
        qty = 1000 * (i % 97 + 1)
        price = 1 + (i * 37 % 10000) / 10000
        return [ts, f'TRADE_20240910_{i + 1:07d}', f'ACC{i % 977:06d}',
                ['FX-SPOT', 'FX-FWD', 'RATES'][i % 3], f'trader{i % 41:03d}', symbols[i % 5],
                'BUY' if i % 2 else 'SELL', str(qty), f'{price:.5f}', f'{qty * price:.2f}',
                'USD', ['XLON', 'XNYS', 'EBS', 'REUTERS'][i % 4], ['LIMIT', 'MARKET'][i % 2],
                'FILLED', pl,
                f'booked by the overnight batch, row {i}, settlement T+2 confirmed by the back office']

    with open(out, 'w', newline='', encoding='utf-8') as f:
        if jsonl:
            for i in range(n):
                f.write(json.dumps(dict(zip(header, row(i))), separators=(',', ':')) + '\n')
            return
        w = csv.writer(f)
        w.writerow(header)
        for i in range(n):
            w.writerow(row(i))


def main(argv: List[str]) -> int:
    if len(argv) >= 3 and argv[1] == 'write':
        start = int(argv[argv.index('--start-seq') + 1]) if '--start-seq' in argv else 1
        with open(argv[3], newline='', encoding='utf-8') as f:
            if '--jsonl' in argv:
                data = [json.loads(line) for line in f if line.strip()]
                headers = list(data[0]) if data else []
            else:
                reader = csv.DictReader(f)
                headers = list(reader.fieldnames or [])
                data = list(reader)
        atomic_csv_write(argv[2], data, headers, start)
        return 0
    if len(argv) == 3 and argv[1] == 'validate':
        return 0 if validate_csv_integrity(argv[2]) else 1
    if len(argv) >= 4 and argv[1] == 'generate':
        generate(int(argv[2]), argv[3], '--wide' in argv, '--jsonl' in argv)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
