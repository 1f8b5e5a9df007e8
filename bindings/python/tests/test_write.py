"""write(): every kind of source, the CLI's atomic commit, locks, limits and
typed errors; nothing half-written, no temp file left, whatever happens."""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
import time

import pytest

import csvseal
from conftest import run_python, temps

T = "2024-09-10T14:30:00Z"
NAME = "trades_20240910_143000.csv"
ROWS = [
    {"timestamp": "2024-09-10T14:30:00Z", "trade_id": "T1", "symbol": "EURUSD", "profit_loss": 25.0},
    {"timestamp": "2024-09-10T14:30:05Z", "trade_id": "T2", "symbol": "GBPUSD", "profit_loss": -12.5},
]
CSV = b"timestamp,trade_id,symbol,profit_loss\r\n2024-09-10T14:30:00Z,T1,EURUSD,25.0\r\n2024-09-10T14:30:05Z,T2,GBPUSD,-12.5\r\n"


def test_every_source_kind_gives_the_same_file(tmp_path):
    out = tmp_path / "csv"
    out.mkdir()
    (tmp_path / "in.csv").write_bytes(CSV)
    sources = {
        "dicts": ROWS,
        "generator": (r for r in ROWS),
        "tuples": ([r[k] for k in ROWS[0]] for r in ROWS),
        "path": tmp_path / "in.csv",
        "str path": str(tmp_path / "in.csv"),
        "bytes": CSV,
        "file": io.BytesIO(CSV),
    }
    written = {}
    for i, (label, src) in enumerate(sources.items()):
        header = list(ROWS[0]) if label == "tuples" else None
        p = csvseal.write(out, f"t{i}", src, header=header, timestamp=T)
        assert p == out / f"t{i}_20240910_143000.csv"
        written[label] = p.read_bytes()
    first = written["dicts"]
    assert all(b == first for b in written.values()), written
    assert first.startswith(b"file_seq,timestamp,trade_id,symbol,profit_loss,checksum_sha256\r\n1,")
    assert csvseal.verify(out / "t0_20240910_143000.csv").rows == 2
    assert temps(out) == []


def test_dialects_and_encodings_seal_like_the_utf8_comma_csv(tmp_path):
    comma = "a,b\r\n\"x, é\",2\r\n"
    want = csvseal.write(tmp_path, "want", comma.encode(), timestamp=T).read_bytes()
    cases = [
        ("a;b\r\n\"x, é\";2\r\n".encode(), {"delimiter": ";"}),
        ("a\tb\r\n'x, é'\t2\r\n".encode(), {"delimiter": "\t", "quote": "'"}),
        ("\"x, é\",2\r\n".encode(), {"has_header": False, "header": ["a", "b"]}),
        (comma.encode("cp1252"), {"encoding": "windows-1252"}),
        (comma.encode("utf-16"), {"encoding": "utf-16"}),
    ]
    for i, (data, options) in enumerate(cases):
        got = csvseal.write(tmp_path, f"c{i}", data, timestamp=T, **options).read_bytes()
        assert got == want, options
    # The reshape guard, the bad byte, and bad arguments.
    with pytest.raises(csvseal.InvalidInputError):
        csvseal.write(tmp_path, "guard", b"a;b\n1;2\n", timestamp=T)
    with pytest.raises(csvseal.InvalidInputError) as e:
        csvseal.write(tmp_path, "bad", b"a,b\n\x81,2\n", timestamp=T, encoding="windows-1252")
    assert [(r.kind.value, r.line) for r in e.value.errors] == [("encoding", 2)]
    with pytest.raises(csvseal.UsageError):
        csvseal.write(tmp_path, "u", b"a,b\n", timestamp=T, delimiter=";;")
    with pytest.raises(csvseal.UsageError):
        csvseal.write(tmp_path, "u", ROWS, timestamp=T, delimiter=";")
    with pytest.raises(csvseal.UsageError):
        csvseal.write(tmp_path, "u", b"a,b\n", timestamp=T, encoding="ebcdic")
    assert temps(tmp_path) == []


SCHEMA = {"fields": [{"name": "a", "type": "integer"}, {"name": "b", "type": "string"}]}


def test_jsonl_source_and_schema(tmp_path):
    lines = b'{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n'
    p = csvseal.write(tmp_path, "j", lines, format="jsonl", timestamp=T,
                      schema=SCHEMA)
    assert csvseal.verify(p, SCHEMA).valid and csvseal.verify(p).rows == 2


def test_values_are_written_as_str_and_none_as_empty(tmp_path):
    rows = [{"f": 25.0, "i": 7, "b": True, "n": None, "s": 'q"uo,te|\r\nnl', "u": "日本\u2028"}]
    p = csvseal.write(tmp_path, "v", rows, timestamp=T)
    body = p.read_bytes().decode().split("\r\n", 1)[1]
    assert body.startswith('1,25.0,7,True,,"q""uo,te|\r\nnl",日本\u2028,')
    assert csvseal.verify(p).valid


def test_timestamp_forms_and_start_seq(tmp_path):
    aware = dt.datetime(2024, 9, 10, 16, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    p = csvseal.write(tmp_path, "a", ROWS, timestamp=aware, start_seq=1001)
    assert p.name == "a_20240910_143000.csv"
    r = csvseal.verify(p)
    assert (r.first_seq, r.last_seq) == (1001, 1002)
    with pytest.raises(csvseal.UsageError, match="timezone-aware"):
        csvseal.write(tmp_path, "b", ROWS, timestamp=dt.datetime(2024, 9, 10))
    with pytest.raises(csvseal.UsageError, match="RFC 3339"):
        csvseal.write(tmp_path, "b", ROWS, timestamp="yesterday")
    now = csvseal.write(tmp_path, "now", ROWS)
    stamp = dt.datetime.strptime(now.name[4:-4], "%Y%m%d_%H%M%S").replace(tzinfo=dt.timezone.utc)
    assert abs((dt.datetime.now(dt.timezone.utc) - stamp).total_seconds()) < 120


def test_an_existing_target_is_never_replaced(tmp_path):
    p = csvseal.write(tmp_path, "trades", ROWS, timestamp=T)
    before = p.read_bytes()
    with pytest.raises(csvseal.TargetExistsError) as e:
        csvseal.write(tmp_path, "trades", ROWS[:1], timestamp=T)
    assert isinstance(e.value, FileExistsError) and e.value.path == p
    assert p.read_bytes() == before and temps(tmp_path) == []


def test_replace_backs_up_first_and_continue_series(tmp_path):
    p = csvseal.write(tmp_path, "trades", ROWS, timestamp=T)
    old = p.read_bytes()
    csvseal.write(tmp_path, "trades", ROWS[:1], timestamp=T, replace=True, keep=2)
    assert csvseal.verify(p).rows == 1
    backups = list((tmp_path / ".csvseal-backup").glob("trades_20240910_143000.csv*"))
    assert any(b.read_bytes() == old for b in backups), backups
    nxt = csvseal.write(tmp_path, "trades", ROWS, timestamp="2024-09-10T15:00:00Z",
                        continue_series=True)
    assert csvseal.verify(nxt).first_seq == 2
    with pytest.raises(csvseal.UsageError):
        csvseal.write(tmp_path, "x", ROWS, keep=2)


def test_rejected_rows_carry_every_error_with_row_number_and_seq(tmp_path):
    schema = {"fields": [{"name": "qty", "type": "integer", "constraints": {"minimum": 1}}]}
    rows = [{"qty": 5}, {"qty": "five"}, {"qty": 3}, {"qty": 0}]
    with pytest.raises(csvseal.InvalidInputError) as e:
        csvseal.write(tmp_path, "q", rows, schema=schema, start_seq=10, timestamp=T)
    errs = e.value.errors
    assert [(x.kind, x.line, x.seq, x.column) for x in errs] == [
        (csvseal.ErrorKind.SCHEMA, 2, 11, "qty"),
        (csvseal.ErrorKind.SCHEMA, 4, 13, "qty"),
    ]
    assert e.value.error_count == 2 and "<rows>:2: schema (seq 11) [qty]" in str(e.value)
    assert os.listdir(tmp_path) == []


def test_row_numbers_stay_right_when_values_hold_newlines(tmp_path):
    """Rows are CSV records to the sealer; a value with newlines spans
    several lines there, yet errors still name the row's place in the input."""
    schema = {"fields": [{"name": "qty", "type": "integer"}, {"name": "note", "type": "string"}]}
    rows = [
        {"qty": 1, "note": "a\nb\nc"},
        {"qty": "two", "note": "x"},
        {"qty": 3, "note": "\r\n\r\n\r\n"},
        {"qty": 4, "note": "one"},
        {"qty": "five", "note": "\n"},
        {"qty": "six", "note": "y"},
    ]
    with pytest.raises(csvseal.InvalidInputError) as e:
        csvseal.write(tmp_path, "n", rows, schema=schema, timestamp=T)
    assert [(x.line, x.seq) for x in e.value.errors] == [(2, 2), (5, 5), (6, 6)]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "rows,kind,line,fragment",
    [
        ([{"a": 1}, {"b": 2}], "malformed", 2, 'unexpected key "b"'),
        ([{"a": 1}, {}], "malformed", 2, 'missing key "a"'),
        ([{"a": 1}, "a,b"], "malformed", 2, "a string, not a row"),
        ([{"a": 1}, 42], "malformed", 2, "a int, not a row"),
        ([{"a": 1}, {1: 2}], "malformed", 2, "key 1 is a int"),
        ([{"a": 1}, {"a": "\udcff"}], "encoding", 2, "lone surrogate"),
    ],
)
def test_bad_rows_are_typed_errors(tmp_path, rows, kind, line, fragment):
    with pytest.raises(csvseal.InvalidInputError) as e:
        csvseal.write(tmp_path, "bad", rows, timestamp=T)
    err = e.value.errors[0]
    assert (err.kind.value, err.line) == (kind, line) and fragment in err.message, err
    assert os.listdir(tmp_path) == []


def test_a_header_the_sealer_refuses_is_a_usage_error(tmp_path):
    for rows in ([{"file_seq": 1}], [{"": 1}]):
        with pytest.raises(csvseal.UsageError, match="header"):
            csvseal.write(tmp_path, "h", rows, timestamp=T)
    with pytest.raises(csvseal.UsageError, match="header"):
        csvseal.write(tmp_path, "h", [[1, 2]], header=["a", "a"], timestamp=T)
    assert os.listdir(tmp_path) == []


def test_sequences_need_a_header_of_their_length(tmp_path):
    with pytest.raises(csvseal.UsageError, match="header="):
        csvseal.write(tmp_path, "s", [[1, 2]])
    with pytest.raises(csvseal.InvalidInputError, match="expected 2 values, found 3"):
        csvseal.write(tmp_path, "s", [[1, 2], [1, 2, 3]], header=["a", "b"])
    with pytest.raises(csvseal.UsageError, match="no rows"):
        csvseal.write(tmp_path, "s", [])
    p = csvseal.write(tmp_path, "s", [], header=["a", "b"], timestamp=T)
    r = csvseal.verify(p)
    assert r.valid and r.rows == 0 and r.columns == ("file_seq", "a", "b", "checksum_sha256")


def test_bad_names_and_options_are_usage_errors(tmp_path):
    for name in ["../x", "a/b", ".hidden", ""]:
        with pytest.raises(csvseal.UsageError):
            csvseal.write(tmp_path, name, ROWS)
    with pytest.raises(csvseal.UsageError):
        csvseal.write(tmp_path, "x", ROWS, format="xml")
    with pytest.raises(csvseal.UsageError):
        csvseal.write(tmp_path, "x", ROWS, start_seq=0)
    with pytest.raises(csvseal.IoError) as e:
        csvseal.write(tmp_path / "missing", "x", ROWS)
    assert e.value.op == "open directory"
    with pytest.raises(TypeError):
        csvseal.write(tmp_path, "x", 3.5)


def test_an_exception_from_the_rows_propagates_and_nothing_is_left(tmp_path):
    def rows():
        yield from ROWS
        raise RuntimeError("upstream failed")

    with pytest.raises(RuntimeError, match="upstream failed"):
        csvseal.write(tmp_path, "boom", rows(), timestamp=T)
    assert os.listdir(tmp_path) == []


def test_keyboard_interrupt_in_the_rows_stops_the_write(tmp_path):
    def rows():
        for i in range(100_000):
            if i == 50_000:
                raise KeyboardInterrupt
            yield {"i": i, "pad": "x" * 40}

    with pytest.raises(KeyboardInterrupt):
        csvseal.write(tmp_path, "ki", rows(), timestamp=T)
    assert os.listdir(tmp_path) == []


def test_a_second_writer_is_busy_or_waits(tmp_path):
    release = threading.Event()
    started = threading.Event()
    outcome = {}

    def slow_rows():
        yield ROWS[0]
        started.set()
        release.wait(30)
        yield ROWS[1]

    def first():
        outcome["first"] = csvseal.write(tmp_path, "trades", slow_rows(), timestamp=T)

    t = threading.Thread(target=first)
    t.start()
    try:
        assert started.wait(30)
        time.sleep(0.2)  # the first writer holds its temp file's lock by now
        with pytest.raises(csvseal.BusyError) as e:
            csvseal.write(tmp_path, "trades", ROWS, timestamp=T)
        assert e.value.kind == "busy"
        # With wait=, the second writer waits for the first, then finds its file.
        threading.Timer(0.3, release.set).start()
        with pytest.raises(csvseal.TargetExistsError):
            csvseal.write(tmp_path, "trades", ROWS, timestamp=T, wait=30)
    finally:
        release.set()
        t.join()
    assert outcome["first"] == tmp_path / NAME and csvseal.verify(outcome["first"]).rows == 2
    assert temps(tmp_path) == []


def test_timeout_abandons_a_stalled_write(tmp_path):
    def stalled():
        yield ROWS[0]
        time.sleep(2)
        yield ROWS[1]

    with pytest.raises(csvseal.WriteTimeoutError) as e:
        csvseal.write(tmp_path, "slow", stalled(), timestamp=T, timeout=0.3)
    assert isinstance(e.value, TimeoutError) and e.value.path == tmp_path / "slow_20240910_143000.csv"
    assert os.listdir(tmp_path) == []


def test_a_file_object_source_that_fails_raises_its_own_error(tmp_path):
    class Broken(io.RawIOBase):
        def readable(self):
            return True

        def read(self, n=-1):
            raise OSError(5, "disk fell off")

    with pytest.raises(OSError, match="disk fell off"):
        csvseal.write(tmp_path, "f", Broken(), timestamp=T)
    assert os.listdir(tmp_path) == []


def test_limits_apply_to_writes(tmp_path):
    big = b"a\r\n" + b"x" * (2 << 20) + b"\r\n"
    with pytest.raises(csvseal.InvalidInputError) as e:
        csvseal.write(tmp_path, "big", big, timestamp=T, max_record_mib=1)
    assert e.value.errors[0].kind is csvseal.ErrorKind.LIMIT
    with pytest.raises(csvseal.LimitError):
        csvseal.write(tmp_path, "mem", ROWS, timestamp=T, memory_limit_mib=1)
    assert os.listdir(tmp_path) == []


def test_row_checksum_is_the_component_s():
    h = ["file_seq", "timestamp", "trade_id", "symbol", "profit_loss", "checksum_sha256"]
    f = ["1", "2024-09-10T14:30:00Z", "TRADE_20240910_001", "EURUSD", "25.0", ""]
    assert csvseal.row_checksum(h, f) == "184da472a00855017d3d45a6e735d74b4b4712b97283c2635c606790ff832cc8"
    with pytest.raises(csvseal.UsageError):
        csvseal.row_checksum(["a", "b"], ["1"])
    with pytest.raises(TypeError):
        csvseal.row_checksum("ab", "12")


def test_a_large_generator_is_sealed_in_constant_memory(tmp_path):
    """~190 MB of rows made on the fly: the child's peak RSS grows by far
    less than the file (rows cross to the sealer in 1 MiB chunks)."""
    code = f"""
import resource, csvseal
pad = "x" * 256
rows = ({{"n": i, "symbol": "EURUSD", "pad": pad}} for i in range(650_000))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
p = csvseal.write({str(tmp_path)!r}, "big", rows, timestamp="2024-09-10T14:30:00Z")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert p.stat().st_size > 180_000_000, p.stat().st_size
print((after - before) // 1024)
"""
    done = run_python(code, timeout=600)
    assert done.returncode == 0, done.stderr
    grew_mib = int(done.stdout)
    assert grew_mib < 96, f"peak RSS grew by {grew_mib} MiB for a ~190 MB file"
    assert temps(tmp_path) == []


@pytest.mark.parametrize("arg", ["wait", "timeout"])
@pytest.mark.parametrize("secs", [1e19, 2**64, 100 * 366 * 86_400])
def test_huge_waits_and_timeouts_are_usage_errors_not_panics(tmp_path, arg, secs):
    with pytest.raises(csvseal.UsageError, match="more than 100 years"):
        csvseal.write(tmp_path, "trades", ROWS, timestamp=T, **{arg: secs})
    assert list(tmp_path.iterdir()) == []


def test_the_longest_wait_and_timeout_write(tmp_path):
    forever = 100 * 365 * 86_400
    csvseal.write(tmp_path, "trades", ROWS, timestamp=T, wait=forever, timeout=forever)
    assert len(list(tmp_path.iterdir())) == 1
