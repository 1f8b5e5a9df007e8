"""verify(): typed errors with line and kind for bad input, never a crash;
streaming in constant memory; the GIL released while it works."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest

import csvseal
from conftest import HOSTILE, REPO, run_python


def hostile_cases() -> list[tuple[str, str, int, str | None]]:
    """file, kind, line and the column ("-": none; absent: not checked)."""
    rows = []
    for line in (HOSTILE / "expected.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            name, kind, at, *column = line.split("\t")
            rows.append((name, kind, int(at), column[0] if column else "*"))
    assert len(rows) >= 40
    return rows


@pytest.mark.parametrize("name,kind,line,column", hostile_cases())
def test_hostile_file_gives_its_located_error(name, kind, line, column):
    r = csvseal.verify(HOSTILE / name)
    assert not r.valid
    located = [(e.kind, e.line, e.column) for e in r.errors]
    assert any(
        (k, at) == (csvseal.ErrorKind(kind), line) and column in ("*", c or "-")
        for k, at, c in located
    ), located


def test_hostile_files_never_crash_the_interpreter():
    """All of them, and a 100 MB field over a 1 MiB record cap, in a child
    interpreter that must exit normally."""
    code = f"""
import csvseal, pathlib
for p in sorted(pathlib.Path({str(HOSTILE)!r}).glob("*.csv")):
    for src in (p, p.read_bytes(), open(p, "rb")):
        assert not csvseal.verify(src).valid, p
big = b"file_seq,a,checksum_sha256\\r\\n1," + b"x" * (100 << 20) + b",0\\r\\n"
r = csvseal.verify(big, max_record_mib=1)
assert [e.kind.value for e in r.errors] == ["limit"], r.errors
print("survived")
"""
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "survived"


def test_bad_schema_is_a_schema_error(tmp_path):
    data = (REPO / "tests/conformance/cases/valid-basic/input.csv").read_bytes()
    with pytest.raises(csvseal.SchemaError) as e:
        csvseal.verify(data, {"fields": [{"name": "price", "type": "money"}]})
    assert "unknown type" in str(e.value) and isinstance(e.value, ValueError)
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    with pytest.raises(csvseal.SchemaError) as e:
        csvseal.verify(data, bad)
    assert e.value.path == bad
    with pytest.raises(csvseal.IoError) as e:
        csvseal.verify(data, tmp_path / "missing.json")
    assert e.value.errno == 2 and isinstance(e.value, OSError)


def test_schema_as_dict_or_path_gives_the_same_report(tmp_path):
    case = REPO / "tests/conformance/cases/schema-constraints"
    schema = json.loads((case / "schema.json").read_text())
    assert csvseal.verify(case / "input.csv", schema) == csvseal.verify(
        case / "input.csv", case / "schema.json"
    )


def test_unreadable_sources_are_typed_errors(tmp_path):
    with pytest.raises(csvseal.IoError) as e:
        csvseal.verify(tmp_path / "nope.csv")
    assert e.value.errno == 2 and e.value.op == "open"
    with pytest.raises(csvseal.IoError, match="is a directory"):
        csvseal.verify(tmp_path)
    with pytest.raises(TypeError, match="binary mode"):
        with open(REPO / "tests/conformance/cases/valid-basic/input.csv") as text:
            csvseal.verify(text)
    with pytest.raises(TypeError):
        csvseal.verify(12345)


def test_a_failing_file_object_raises_its_own_exception():
    class Broken(io.RawIOBase):
        def readable(self):
            return True

        def read(self, n=-1):
            raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError, match="peer went away"):
        csvseal.verify(Broken())


def test_sandbox_limits_are_limit_errors():
    data = (REPO / "tests/conformance/cases/valid-basic/input.csv").read_bytes()
    with pytest.raises(csvseal.LimitError) as e:
        csvseal.verify(data, memory_limit_mib=1)
    assert e.value.limit == "memory" and e.value.kind == "limit"


def test_bad_limits_are_refused_before_anything_runs():
    with pytest.raises(csvseal.UsageError):
        csvseal.verify(b"", max_errors=-1)
    with pytest.raises(csvseal.UsageError):
        csvseal.verify(b"", call_timeout_secs=0)
    with pytest.raises(TypeError):
        csvseal.verify(b"", max_errors="10")


def test_default_limits_are_the_clis():
    """verify's and write's keyword defaults, and the calls that take no
    limits (row_checksum, the policy drop-ins), use the host's defaults."""
    import inspect

    from csvseal import _api, _native

    names = ["max_errors", "memory_limit_mib", "call_timeout_secs", "max_record_mib",
             "max_output_mib", "max_table_elements"]
    for fn in (csvseal.verify, csvseal.write):
        params = inspect.signature(fn).parameters
        assert _api._limits(*(params[n].default for n in names)) == _native.DEFAULT_LIMITS, fn
    assert _native.DEFAULT_LIMITS == (1000, 512, 30_000, 64, 64, 100_000)


def test_bytearray_and_memoryview_are_bytes():
    data = (REPO / "tests/conformance/cases/valid-gaps/input.csv").read_bytes()
    expected = csvseal.verify(data)
    assert csvseal.verify(bytearray(data)) == expected == csvseal.verify(memoryview(data))


def test_a_large_stream_is_verified_in_constant_memory():
    """512 MiB through a file object that makes its bytes on the fly: the
    child's peak RSS grows by far less than the input (1 MiB chunks)."""
    code = """
import io, resource, csvseal
block = b"".join(b"%d,EURUSD,1.0841,%s\\r\\n" % (i + 1, b"0" * 64) for i in range(8000))
class Stream(io.RawIOBase):
    def __init__(self): self.left, self.head = 512 << 20, b"file_seq,symbol,price,checksum_sha256\\r\\n"
    def readable(self): return True
    def read(self, n=-1):
        if self.head: h, self.head = self.head, b""; return h
        if self.left <= 0: return b""
        self.left -= len(block); return block
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
r = csvseal.verify(Stream(), max_errors=10)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert r.bytes > 512 << 20 and r.errors_truncated and len(r.errors) == 10, r
print((after - before) // 1024)
"""
    done = run_python(code, timeout=600)
    assert done.returncode == 0, done.stderr
    grew_mib = int(done.stdout)
    assert grew_mib < 96, f"peak RSS grew by {grew_mib} MiB for a 512 MiB input"


def test_the_gil_is_released_while_verifying():
    """Another Python thread keeps running during a verify of 64 MB."""
    row = b"1,EURUSD,1.0841," + b"0" * 64 + b"\r\n"
    data = b"file_seq,symbol,price,checksum_sha256\r\n" + row * (64_000_000 // len(row))
    ticks: list[float] = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.0005)

    t = threading.Thread(target=tick)
    t.start()
    try:
        time.sleep(0.01)
        start = time.perf_counter()
        csvseal.verify(data, max_errors=1)
        end = time.perf_counter()
    finally:
        stop.set()
        t.join()
    inside = [x for x in ticks if start + 0.005 < x < end - 0.005]
    # Held GIL: the ticker could not run at all between start and end.
    assert len(inside) >= 10, f"{len(inside)} ticks in {end - start:.3f} s"
