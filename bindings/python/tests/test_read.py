"""Frames out: read() verifies while it parses and returns nothing from a
file that fails; its table round-trips write(frame) for the schema types;
read_batches() streams what was verified, and only that."""

from __future__ import annotations

import datetime as dt
import decimal
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import optional_module

pa = optional_module("pyarrow")
pd = optional_module("pandas")
pl = optional_module("polars")
optional_module("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import csvseal  # noqa: E402

STAMP = "2024-09-10T15:00:00Z"
SCHEMA = {
    "fields": [
        {"name": "n", "type": "integer"},
        {"name": "x", "type": "number"},
        {"name": "ok", "type": "boolean"},
        {"name": "day", "type": "date"},
        {"name": "at", "type": "datetime"},
        {"name": "s", "type": "string"},
    ]
}


def write(tmp: Path, frame: Any, **kw: Any) -> Path:
    d = tmp / "w"
    d.mkdir(exist_ok=True)
    for old in d.iterdir():
        old.unlink()
    return csvseal.write(d, "t", frame, timestamp=STAMP, **kw)


def sample(tmp: Path) -> Path:
    table = pa.table(
        {
            "n": pa.array([1, None, -3], pa.int64()),
            "x": [0.5, 1e16, -2.25],
            "ok": [True, False, None],
            "day": pa.array([dt.date(2024, 1, 1), None, dt.date(1999, 12, 31)]),
            "at": pa.array([0, 1_700_000_000_000_000, None], pa.timestamp("us", tz="UTC")),
            "s": ["a", "b,\"c\"\n", None],
        }
    )
    return write(tmp, table, schema=SCHEMA)


def test_read_types_columns_by_the_schema(tmp_path: Path) -> None:
    t = csvseal.read(sample(tmp_path), SCHEMA)
    assert t.schema.names == ["file_seq", "n", "x", "ok", "day", "at", "s"]
    assert [f.type for f in t.schema] == [
        pa.uint64(), pa.int64(), pa.float64(), pa.bool_(), pa.date32(), pa.timestamp("us", tz="UTC"), pa.string()
    ]
    assert t.column("file_seq").to_pylist() == [1, 2, 3]
    assert t.column("n").to_pylist() == [1, None, -3]
    assert t.column("s").to_pylist() == ["a", "b,\"c\"\n", None]
    # Without a schema every column is text; the checksum only on request.
    plain = csvseal.read(sample(tmp_path), checksum=True)
    assert all(f.type == pa.string() for f in plain.schema if f.name != "file_seq")
    assert plain.column("checksum_sha256").to_pylist()[0] == csvseal.row_checksum(
        ["file_seq", "n", "x", "ok", "day", "at", "s", "checksum_sha256"],
        ["1", "1", "0.5", "True", "2024-01-01", "1970-01-01T00:00:00+00:00", "a", ""],
    )
    # pandas and polars take it from there.
    assert list(t.to_pandas()["n"].astype("Int64")) == [1, pd.NA, -3]
    assert pl.from_arrow(t)["ok"].to_list() == [True, False, None]


def test_a_file_with_any_flipped_byte_raises_and_returns_nothing(tmp_path: Path) -> None:
    good = sample(tmp_path).read_bytes()
    bad = tmp_path / "bad.csv"
    for i in range(len(good)):
        data = bytearray(good)
        data[i] ^= 0x01
        bad.write_bytes(bytes(data))
        for read in (csvseal.read, csvseal.read_batches):
            with pytest.raises(csvseal.FileInvalidError):
                read(bad, SCHEMA)
    with pytest.raises(csvseal.FileInvalidError) as e:
        bytes_ = bytearray(good)
        bytes_[len(good) // 2] ^= 0x01
        bad.write_bytes(bytes(bytes_))
        csvseal.read(bad)
    assert e.value.report is not None and not e.value.report.valid
    assert "no rows were read" in str(e.value)


rows = st.integers(min_value=1, max_value=30)


@st.composite
def typed_tables(draw: Any) -> Any:
    n = draw(rows)

    def col(values: Any) -> list[Any]:
        return draw(st.lists(st.one_of(st.none(), values), min_size=n, max_size=n))

    zone = draw(st.sampled_from([None, "UTC"]))
    instants = st.integers(min_value=-(2**55), max_value=2**55)
    return pa.table(
        {
            "n": pa.array(col(st.integers(-(2**63), 2**63 - 1)), pa.int64()),
            "x": pa.array(col(st.floats(allow_nan=False, allow_infinity=False)), pa.float64()),
            "ok": pa.array(col(st.booleans()), pa.bool_()),
            "day": pa.array(col(st.dates(min_value=dt.date(1, 1, 1))), pa.date32()),
            "at": pa.array(col(instants), pa.int64()).cast(pa.timestamp("us", tz=zone)),
            "s": pa.array(col(st.text(min_size=1, max_size=8).filter(lambda s: "\r" not in s)), pa.string()),
        }
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=typed_tables())
def test_read_round_trips_write_for_the_schema_types(tmp_path: Path, table: Any) -> None:
    path = write(tmp_path, table, schema=SCHEMA)
    back = csvseal.read(path, SCHEMA).drop_columns(["file_seq"])
    streamed = pa.Table.from_batches(list(csvseal.read_batches(path, SCHEMA, batch_rows=7)))
    streamed = streamed.drop_columns(["file_seq"])
    # Table Schema reads a datetime without an offset as UTC: the same
    # instants, in a UTC column.
    want = table.set_column(4, "at", table.column("at").cast(pa.timestamp("us", tz="UTC")))
    assert back.equals(want), (back.to_pylist(), want.to_pylist())
    assert streamed.equals(want)


def test_a_pandas_frame_round_trips(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "n": pd.array([1, None, 3], dtype="Int64"),
            "x": [0.1, 2.5, -0.0],
            "ok": [True, False, True],
            "day": [dt.date(2024, 1, 1), dt.date(2024, 2, 29), dt.date(1, 1, 1)],
            "at": pd.to_datetime(["2024-01-01 09:30", "2024-06-01 00:00:00.000001", "1970-01-01"], format="ISO8601"),
            "s": ["a", "b", "c"],
        }
    )
    path = write(tmp_path, df, schema=SCHEMA)
    back = csvseal.read(path, SCHEMA).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    back = back.drop(columns="file_seq")
    pd.testing.assert_series_equal(back["n"], df["n"])
    pd.testing.assert_series_equal(back["x"], df["x"])
    pd.testing.assert_series_equal(back["ok"], df["ok"])
    assert list(back["day"]) == list(df["day"])
    pd.testing.assert_series_equal(back["at"], df["at"].astype("datetime64[us]").dt.tz_localize("UTC"))


def test_values_a_type_cannot_hold_exactly_are_refused_with_their_line(tmp_path: Path) -> None:
    schema = {"fields": [{"name": "price", "type": "number"}, {"name": "at", "type": "datetime"}]}
    path = write(
        tmp_path,
        [{"price": "12.345", "at": "2024-01-01T00:00:00.000000001Z"}, {"price": "1", "at": "2024-01-01T00:00:00Z"}],
        schema=schema,
    )
    with pytest.raises(csvseal.InvalidInputError) as e:
        csvseal.read(path, schema)
    assert e.value.errors[0].line == 2 and e.value.errors[0].column == "at", e.value
    assert "no rows were returned" in str(e.value) and "written" not in str(e.value)
    t = csvseal.read(path, schema, datetime_unit="ns", decimal_scale=3)
    assert t.column("price").to_pylist() == [decimal.Decimal("12.345"), decimal.Decimal("1.000")]
    with pytest.raises(csvseal.InvalidInputError, match="more than 2 fraction digits"):
        csvseal.read(path, schema, datetime_unit="ns", decimal_scale=2)


def test_read_batches_streams_and_fails_if_the_file_changes_after_verifying(tmp_path: Path) -> None:
    table = pa.table({"i": list(range(50_000)), "s": ["x" * 20] * 50_000})
    path = write(tmp_path, table)
    reader = csvseal.read_batches(path, batch_rows=1000)
    sizes = [b.num_rows for b in reader]
    assert sizes == [1000] * 50
    reader = csvseal.read_batches(path, batch_rows=1000)
    first = reader.read_next_batch()
    assert first.num_rows == 1000
    with open(path, "r+b") as f:  # an in-place edit after verification
        f.seek(os.path.getsize(path) - 100)
        f.write(b"0")
    with pytest.raises((OSError, pa.ArrowException), match="changed"):
        for _ in reader:
            pass


def test_read_batches_refuses_a_pipe_and_read_takes_it(tmp_path: Path) -> None:
    import threading

    sealed = sample(tmp_path).read_bytes()
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)

    def feed() -> None:
        try:
            with open(fifo, "wb") as f:
                f.write(sealed)
        except BrokenPipeError:
            pass  # the reader refused the pipe

    t = threading.Thread(target=feed)
    t.start()
    assert csvseal.read(fifo, SCHEMA).num_rows == 3
    t.join()
    t = threading.Thread(target=feed)
    t.start()
    with pytest.raises(csvseal.UsageError, match="not a regular file"):
        csvseal.read_batches(fifo, SCHEMA)
    t.join()


def test_read_of_what_is_not_a_sealed_file(tmp_path: Path) -> None:
    with pytest.raises(csvseal.IoError):
        csvseal.read(tmp_path / "missing.csv")
    with pytest.raises(csvseal.IoError):
        csvseal.read(tmp_path)
    with pytest.raises(csvseal.UsageError, match="datetime_unit"):
        csvseal.read(sample(tmp_path), datetime_unit="days")  # type: ignore[arg-type]
    custom = {"fields": [{"name": "x", "type": "number", "decimalChar": ","}]}
    path = write(tmp_path, [{"x": "1,5"}], schema=custom)
    with pytest.raises(csvseal.UsageError, match="decimalChar"):
        csvseal.read(path, custom)


def test_frames_to_and_from_a_bucket(weed: Any, tmp_path: Path) -> None:
    df = pd.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "c"]})
    schema = {"fields": [{"name": "n", "type": "integer"}]}
    url = csvseal.write("s3://py-frames/p/", "t", df, timestamp=STAMP, schema=schema)
    assert url == "s3://py-frames/p/t_20240910_150000.csv"
    t = csvseal.read(url, schema)
    assert t.column("n").to_pylist() == [1, 2, 3] and t.column("s").to_pylist() == ["a", "b", "c"]
    assert pa.Table.from_batches(list(csvseal.read_batches(url, schema, batch_rows=2))).equals(t)
    # A damaged object (stored past csvseal): nothing from it, either way.
    local = write(tmp_path, df).read_bytes()
    data = bytearray(local)
    data[len(data) // 2] ^= 0x01
    weed.filer_put("py-frames", "bad/t.csv", bytes(data))
    for read in (csvseal.read, csvseal.read_batches):
        with pytest.raises(csvseal.FileInvalidError):
            read("s3://py-frames/bad/t.csv")
