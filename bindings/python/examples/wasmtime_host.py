#!/usr/bin/env python3
"""Your own host for csvseal's component, with wasmtime-py alone.

The `csvseal` package is the way to use csvseal from Python (fast, atomic
writes, locks). This example is for people who embed the raw component,
host/assets/csvseal_guest.wasm, in a host of their own: it instantiates it
with nothing linked (the component imports nothing), streams a file through
the `csvseal:core/verify` interface and turns the report into csvseal's
canonical JSON (tests/conformance/README.md). With a public key, it checks
the file's minisign signature (FILE.csv.minisig) through the
`csvseal:core/signature` interface too, as `csvseal verify --key` does.

    python3 wasmtime_host.py FILE.csv [SCHEMA.json]   # print the report
    python3 wasmtime_host.py --key PUBLIC_KEY FILE.csv  # and its signature
    python3 wasmtime_host.py --conformance CASES_DIR  # check the small cases

Pinned: wasmtime==50.0.1 (PyPI). wasmtime-py moves `list<u8>` slowly (well
under 1 MB/s), so keep this to small files; the package is ~1000x faster.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import component as wc

WASM = Path(__file__).resolve().parents[3] / "host" / "assets" / "csvseal_guest.wasm"
CHUNK = 64 << 10  # the WIT contract: 64 KiB to 1 MiB per call, never per row


def record(**fields: Any) -> wc.Record:
    """A WIT record: wasmtime-py takes the WIT names, hyphens and all."""
    r = wc.Record()
    for name, value in fields.items():
        setattr(r, name.replace("_", "-"), value)
    return r


class Host:
    """The component loaded once; a fresh store (memory cap, CPU deadline)
    per verification, as csvseal's own host does."""

    def __init__(self, wasm: Path = WASM, memory_mib: int = 512, call_timeout_secs: float = 30):
        config = wasmtime.Config()
        config.epoch_interruption = True
        self.engine = wasmtime.Engine(config)
        self.component = wc.Component.from_file(self.engine, str(wasm))
        self.linker = wc.Linker(self.engine)  # empty: no WASI, nothing at all
        self.memory_bytes = memory_mib << 20
        self.ticks = max(1, int(call_timeout_secs * 100))
        # One epoch tick per 10 ms bounds each call's run time.
        ticker = threading.Thread(target=self._tick, daemon=True)
        ticker.start()

    def _tick(self) -> None:
        while True:
            time.sleep(0.01)
            self.engine.increment_epoch()

    def _instance(self, interface: str) -> tuple[wasmtime.Store, Any, Any]:
        """A fresh instance: its store, `func(name)` of `interface`, and
        `call(func, *args)` within the CPU deadline."""
        store = wasmtime.Store(self.engine)
        store.set_limits(memory_size=self.memory_bytes)
        store.set_epoch_deadline(self.ticks)  # instantiation runs code too
        instance = self.linker.instantiate(store, self.component)
        iface = instance.get_export_index(store, f"csvseal:core/{interface}@0.2.0")

        def func(name: str) -> wc.Func:
            f = instance.get_func(store, instance.get_export_index(store, name, iface))
            assert f is not None, name
            return f

        def call(f: wc.Func, *args: Any) -> Any:
            store.set_epoch_deadline(self.ticks)
            result = f(store, *args)
            f.post_return(store)
            return result

        return store, func, call

    def verify(self, data: bytes, schema_json: str | None = None, *, max_errors: int = 1000,
               max_record_bytes: int = 64 << 20, max_columns: int = 100_000) -> dict[str, Any]:
        """The canonical report (a dict) for `data`."""
        store, func, call = self._instance("verify")

        # continue_after: only for verifying a later part of a file.
        options = record(schema_json=schema_json, continue_after=None, limits=record(
            max_errors=max_errors, max_record_bytes=max_record_bytes, max_columns=max_columns))
        created = call(func("[static]verifier.create"), options)
        # result<verifier, string>: wasmtime-py returns the ok or err payload.
        if isinstance(created, str):
            raise ValueError(f"the component refused the options: {created}")
        feed = func("[method]verifier.feed")
        for at in range(0, len(data), CHUNK):
            call(feed, created, data[at:at + CHUNK])
        report = call(func("[method]verifier.finish"), created)
        created.drop(store)
        return canonical(report, len(data))

    def check_signature(self, report: dict[str, Any], data: bytes, signature: str | None,
                        keys: str, file_name: str, max_errors: int = 1000) -> dict[str, Any]:
        """Adds the signature check of `data` (the file `file_name`, whose
        canonical `report` this is) to the report, as the CLI does: a
        `signature` object and, unless valid, an error at line 0, first."""
        store, func, call = self._instance("signature")
        if signature is None:
            outcome = {"status": "missing", "key_id": None, "claims": None, "blake2b": None,
                       "message": f"{file_name} has no signature ({file_name}.minisig)"}
        else:
            check = call(func("[static]signature-check.create"), signature, [keys])
            if isinstance(check, str):
                raise ValueError(f"the component refused the keys: {check}")
            feed = func("[method]signature-check.feed")
            for at in range(0, len(data), CHUNK):
                call(feed, check, data[at:at + CHUNK])
            facts = record(file_name=file_name, rows=report["rows"], first_seq=report["first_seq"],
                           last_seq=report["last_seq"])
            r = call(func("[method]signature-check.finish"), check, facts)
            check.drop(store)
            outcome = {"status": r.status, "key_id": getattr(r, "key-id"),
                       "claims": None if r.claims is None else claims(r.claims),
                       "blake2b": r.blake2b, "message": r.message}
        report["signature"] = outcome
        kind = {"missing": "signature-missing", "malformed": "signature-invalid",
                "invalid": "signature-invalid", "unknown-key": "unknown-key"}.get(outcome["status"])
        if kind is not None:
            report["valid"] = False
            report["error_count"] += 1
            report["errors"].insert(0, {"kind": kind, "line": 0, "message": outcome["message"]})
            if len(report["errors"]) > max(max_errors, 1):
                del report["errors"][max(max_errors, 1):]
                report["errors_truncated"] = True
        return report


def claims(c: Any) -> dict[str, Any]:
    """WIT signed-claims as the CLI's JSON spells them."""
    prev = c.previous
    return {"file_name": getattr(c, "file-name"), "rows": c.rows, "first_seq": getattr(c, "first-seq"),
            "last_seq": getattr(c, "last-seq"), "blake2b": c.blake2b,
            "previous": None if prev is None else {"file_name": getattr(prev, "file-name"),
                                                   "blake2b": prev.blake2b}}


def canonical(r: Any, size: int) -> dict[str, Any]:
    """The WIT verify-report as `csvseal verify --json` spells it: snake_case,
    `seq`/`column` only when known, and `bytes` (the host counts them)."""
    def error(e: Any) -> dict[str, Any]:
        d = {"kind": e.kind, "line": e.line, "message": e.message}
        if e.seq is not None:
            d["seq"] = e.seq
        if e.column is not None:
            d["column"] = e.column
        return d

    return {
        "valid": r.valid,
        "rows": r.rows,
        "first_seq": getattr(r, "first-seq"),
        "last_seq": getattr(r, "last-seq"),
        "columns": list(r.columns),
        "gaps": [{"line": g.line, "after": g.after, "next": g.next} for g in r.gaps],
        "gap_count": getattr(r, "gap-count"),
        "errors": [error(e) for e in r.errors],
        "error_count": getattr(r, "error-count"),
        "errors_truncated": getattr(r, "errors-truncated"),
        "warnings": list(r.warnings),
        "bytes": size,
    }


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def conformance(cases: Path, host: Host, max_input: int = 64 << 10) -> int:
    """Runs the conformance cases whose input is at most `max_input` bytes."""
    ran, failed = 0, []
    for case in sorted(p for p in cases.iterdir() if p.is_dir()):
        data = (case / "input.csv").read_bytes()
        if len(data) > max_input:
            continue
        schema = case / "schema.json"
        opts = json.loads((case / "options.json").read_text()) if (case / "options.json").exists() else {}
        limits = {"max_errors": opts.pop("max_errors", 1000),
                  "max_record_bytes": opts.pop("max_record_mib", 64) << 20}
        assert not opts, f"{case.name}: unknown options {opts}"
        report = host.verify(data, schema.read_text() if schema.exists() else None, **limits)
        if (case / "keys.pub").exists():
            sig = case / "input.csv.minisig"
            report = host.check_signature(report, data, sig.read_text() if sig.exists() else None,
                                          (case / "keys.pub").read_text(), "input.csv", limits["max_errors"])
        got = to_json(report)
        ran += 1
        if got.encode() != (case / "expected.json").read_bytes():
            failed.append(case.name)
            print(f"MISMATCH {case.name}: {got}", file=sys.stderr)
    print(f"{ran - len(failed)} of {ran} conformance cases match (inputs up to {max_input} bytes)")
    return 1 if failed or ran == 0 else 0


def main(argv: list[str]) -> int:
    host = Host()
    if len(argv) == 3 and argv[1] == "--conformance":
        return conformance(Path(argv[2]), host)
    if len(argv) == 4 and argv[1] == "--key":
        path = Path(argv[3])
        data = path.read_bytes()
        sig = path.with_name(path.name + ".minisig")
        report = host.check_signature(host.verify(data), data, sig.read_text() if sig.exists() else None,
                                      Path(argv[2]).read_text(), path.name)
        sys.stdout.write(to_json(report))
        return 0 if report["valid"] else 1
    if len(argv) in (2, 3) and not argv[1].startswith("-"):
        schema = Path(argv[2]).read_text() if len(argv) == 3 else None
        report = host.verify(Path(argv[1]).read_bytes(), schema)
        sys.stdout.write(to_json(report))
        return 0 if report["valid"] else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
