"""Frames in: write(frame) is byte for byte write(the frame's own row dicts)
for pandas, polars and pyarrow over every common dtype (a property test over
random frames), and the types with no faithful text are refused by name."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import optional_module

pd = optional_module("pandas")
pl = optional_module("polars")
pa = optional_module("pyarrow")
np = optional_module("numpy")
optional_module("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import csvseal  # noqa: E402

STAMP = "2024-09-10T15:00:00Z"
SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def sealed(tmp: Path, tag: str, source: Any, **kw: Any) -> bytes:
    d = tmp / tag
    d.mkdir(parents=True, exist_ok=True)
    for old in d.iterdir():
        old.unlink()
    return csvseal.write(d, "t", source, timestamp=STAMP, **kw).read_bytes()


def same_as_rows(tmp: Path, frame: Any, rows: list[dict[str, Any]], **kw: Any) -> None:
    want = sealed(tmp, "rows", rows, **kw)
    got = sealed(tmp, "frame", frame, **kw)
    assert got == want, f"frame:\n{got.decode()}\nrows:\n{want.decode()}"
    assert csvseal.verify(next((tmp / "frame").iterdir())).valid


# Values ---------------------------------------------------------------

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters=",\"\n\r\t\ufeff"),
    max_size=12,
)
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-7, 1e16, 1e15, 0.1, 1e-5, 1e-4, 123456789.125, 5e-324]),
)
# Instants in the range every unit and pandas' nanoseconds hold.
instants_ns = st.integers(min_value=-(2**62), max_value=2**62)
# csvseal's zone table ends with 2037: later instants in zones with summer
# time are refused (test_instants_past_the_zone_table_are_refused).
TABLE_END_NS = 2_145_916_800 * 10**9
zoned_ns = st.integers(min_value=-(2**62), max_value=TABLE_END_NS - 1)
durations_ns = st.integers(min_value=-(10**17), max_value=10**17)
dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
decimals = st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False)
ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Europe/London", "Australia/Lord_Howe"]


def maybe(values: st.SearchStrategy[Any], n: int) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.one_of(st.none(), values), min_size=n, max_size=n)


def unit_scale(unit: str) -> int:
    return {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]


# pandas ---------------------------------------------------------------


@st.composite
def pandas_column(draw: Any, n: int) -> Any:
    kind = draw(
        st.sampled_from(
            [
                "int", "uint", "Int", "float", "float32", "Float64", "bool", "boolean",
                "str", "string", "object_str", "category", "category_int", "datetime",
                "datetime_tz", "timedelta", "date", "decimal", "arrow_decimal", "arrow_int",
                "arrow_ts", "arrow_str", "mixed_object",
            ]
        )
    )
    if kind == "int":
        bits = draw(st.sampled_from([8, 16, 32, 64]))
        lim = 2 ** (bits - 1)
        v = draw(st.lists(st.integers(-lim, lim - 1), min_size=n, max_size=n))
        return pd.Series(np.array(v, dtype=f"int{bits}"))
    if kind == "uint":
        bits = draw(st.sampled_from([8, 16, 32, 64]))
        v = draw(st.lists(st.integers(0, 2**bits - 1), min_size=n, max_size=n))
        return pd.Series(np.array(v, dtype=f"uint{bits}"))
    if kind == "Int":
        dtype = draw(st.sampled_from(["Int8", "Int16", "Int32", "Int64", "UInt8", "UInt64"]))
        lo, hi = (0, 255) if dtype == "UInt8" else (0, 2**64 - 1) if dtype == "UInt64" else (-128, 127)
        return pd.Series(pd.array(draw(maybe(st.integers(lo, hi), n)), dtype=dtype))
    if kind == "float":
        v = draw(st.lists(floats, min_size=n, max_size=n))
        return pd.Series(np.array(v, dtype="float64"))
    if kind == "float32":
        v = draw(st.lists(st.floats(width=32), min_size=n, max_size=n))
        return pd.Series(np.array(v, dtype="float32"))
    if kind == "Float64":
        v = draw(maybe(st.floats(allow_nan=False), n))
        return pd.Series(pd.array(v, dtype="Float64"))
    if kind == "bool":
        return pd.Series(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))))
    if kind == "boolean":
        return pd.Series(pd.array(draw(maybe(st.booleans(), n)), dtype="boolean"))
    if kind == "str":  # pandas 3's default string dtype (missing: NaN)
        return pd.Series(draw(maybe(text, n)), dtype="str")
    if kind == "string":  # missing: pd.NA
        return pd.Series(pd.array(draw(maybe(text, n)), dtype="string"))
    if kind == "object_str":
        return pd.Series(draw(maybe(text, n)), dtype=object)
    if kind == "category":
        return pd.Series(pd.Categorical(draw(maybe(st.sampled_from(["a", "b,c", "d\"e"]), n))))
    if kind == "category_int":
        return pd.Series(pd.Categorical(draw(maybe(st.sampled_from([1, 20, 300]), n))))
    if kind == "mixed_object":
        v = draw(maybe(st.one_of(st.integers(), floats, text, st.booleans(), dates, decimals), n))
        return pd.Series(v, dtype=object)
    if kind in ("datetime", "datetime_tz"):
        unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
        v = draw(maybe(instants_ns if kind == "datetime" else zoned_ns, n))
        s = pd.Series(
            pd.array([pd.NaT if x is None else x - x % unit_scale(unit) for x in v], dtype="datetime64[ns]")
        ).astype(f"datetime64[{unit}]")
        if kind == "datetime_tz":
            s = s.dt.tz_localize("UTC").dt.tz_convert(draw(st.sampled_from(ZONES)))
        return s
    if kind == "timedelta":
        unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
        v = draw(maybe(durations_ns, n))
        return pd.Series(
            pd.array([pd.NaT if x is None else x - x % unit_scale(unit) for x in v], dtype="timedelta64[ns]")
        ).astype(f"timedelta64[{unit}]")
    if kind == "date":
        return pd.Series(draw(maybe(dates, n)), dtype=object)
    if kind == "decimal":
        return pd.Series(draw(maybe(decimals, n)), dtype=object)
    if kind == "arrow_decimal":
        t = pa.decimal128(18, draw(st.integers(0, 6)))
        v = draw(maybe(decimals, n))
        v = [None if x is None else x.quantize(decimal.Decimal(1).scaleb(-t.scale)) for x in v]
        return pd.Series(pd.array(v, dtype=pd.ArrowDtype(t)))
    if kind == "arrow_int":
        return pd.Series(pd.array(draw(maybe(st.integers(-(2**63), 2**63 - 1), n)), dtype=pd.ArrowDtype(pa.int64())))
    if kind == "arrow_ts":
        unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
        t = pa.timestamp(unit, tz=draw(st.sampled_from([None, "UTC", "Asia/Kolkata"])))
        v = draw(maybe(st.integers(-(2**62) // unit_scale(unit) if unit != "ns" else -(2**62), 2**40), n))
        return pd.Series(pd.array(pa.array(v, type=pa.int64()).cast(t), dtype=pd.ArrowDtype(t)))
    assert kind == "arrow_str"
    return pd.Series(pd.array(draw(maybe(text, n)), dtype=pd.ArrowDtype(pa.string())))


@st.composite
def pandas_frames(draw: Any) -> Any:
    n = draw(st.integers(1, 8))
    width = draw(st.integers(1, 5))
    return pd.DataFrame({f"c{i}": draw(pandas_column(n)) for i in range(width)})


@SETTINGS
@given(df=pandas_frames())
def test_pandas_frames_are_their_row_dicts(tmp_path: Path, df: Any) -> None:
    same_as_rows(tmp_path, df, df.to_dict("records"))


# polars ---------------------------------------------------------------


@st.composite
def polars_column(draw: Any, n: int) -> Any:
    kind = draw(
        st.sampled_from(
            ["int", "float", "bool", "str", "categorical", "date", "datetime", "duration", "decimal", "time", "null"]
        )
    )
    if kind == "int":
        dtype, lo, hi = draw(
            st.sampled_from(
                [(pl.Int8, -128, 127), (pl.Int16, -(2**15), 2**15 - 1), (pl.Int32, -(2**31), 2**31 - 1),
                 (pl.Int64, -(2**63), 2**63 - 1), (pl.UInt8, 0, 255), (pl.UInt32, 0, 2**32 - 1),
                 (pl.UInt64, 0, 2**64 - 1)]
            )
        )
        return pl.Series(draw(maybe(st.integers(lo, hi), n)), dtype=dtype)
    if kind == "float":
        dtype = draw(st.sampled_from([pl.Float32, pl.Float64]))
        values = st.floats(width=32) if dtype == pl.Float32 else floats
        return pl.Series(draw(maybe(values, n)), dtype=dtype)
    if kind == "bool":
        return pl.Series(draw(maybe(st.booleans(), n)), dtype=pl.Boolean)
    if kind == "str":
        return pl.Series(draw(maybe(text, n)), dtype=pl.String)
    if kind == "categorical":
        return pl.Series(draw(maybe(st.sampled_from(["x", "y,z"]), n)), dtype=pl.Categorical)
    if kind == "date":
        return pl.Series(draw(maybe(dates, n)), dtype=pl.Date)
    if kind == "datetime":
        # to_dicts() gives datetime.datetime, which holds microseconds: the
        # identity holds where there is no finer digit (ns: see below).
        unit = draw(st.sampled_from(["ms", "us", "ns"]))
        tz = draw(st.sampled_from([None, "UTC", "America/New_York"]))
        span = 2**55 if unit != "ns" else 2**62 // 1000  # microseconds
        hi = span if tz in (None, "UTC") else min(span, TABLE_END_NS // 1000 - 1)
        v = draw(maybe(st.integers(-span, hi), n))
        ints = pl.Series([None if x is None else x - x % 1000 for x in v], dtype=pl.Int64)
        s = ints.cast(pl.Datetime("us")).cast(pl.Datetime(unit))
        return s.dt.replace_time_zone("UTC").dt.convert_time_zone(tz) if tz else s
    if kind == "duration":
        unit = draw(st.sampled_from(["ms", "us", "ns"]))
        v = draw(maybe(st.integers(-(2**50), 2**50), n))
        step = 1000 if unit != "ms" else 1_000_000
        ints = pl.Series([None if x is None else x - x % step for x in v], dtype=pl.Int64)
        return ints.cast(pl.Duration("ns")).cast(pl.Duration(unit))
    if kind == "decimal":
        scale = draw(st.integers(0, 5))
        v = draw(maybe(decimals, n))
        v = [None if x is None else x.quantize(decimal.Decimal(1).scaleb(-scale)) for x in v]
        return pl.Series(v, dtype=pl.Decimal(20, scale))
    if kind == "time":
        v = draw(maybe(st.times(), n))
        return pl.Series(v, dtype=pl.Time)
    return pl.Series([None] * n, dtype=pl.Null)


@st.composite
def polars_frames(draw: Any) -> Any:
    n = draw(st.integers(1, 8))
    width = draw(st.integers(1, 5))
    return pl.DataFrame({f"c{i}": draw(polars_column(n)) for i in range(width)})


@SETTINGS
@given(df=polars_frames())
def test_polars_frames_are_their_row_dicts(tmp_path: Path, df: Any) -> None:
    same_as_rows(tmp_path, df, df.to_dicts())
    same_as_rows(tmp_path, df.lazy(), df.to_dicts())


# pyarrow --------------------------------------------------------------


@st.composite
def arrow_column(draw: Any, n: int) -> Any:
    kind = draw(
        st.sampled_from(
            ["int", "float", "bool", "string", "dictionary", "date32", "date64", "timestamp", "duration",
             "decimal128", "decimal256", "time32", "time64"]
        )
    )
    if kind == "int":
        t = draw(st.sampled_from([pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()]))
        signed = pa.types.is_signed_integer(t)
        bits = t.bit_width
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        return pa.array(draw(maybe(st.integers(lo, hi), n)), type=t)
    if kind == "float":
        t = draw(st.sampled_from([pa.float32(), pa.float64()]))
        values = st.floats(width=32) if t == pa.float32() else floats
        return pa.array(draw(maybe(values, n)), type=t)
    if kind == "bool":
        return pa.array(draw(maybe(st.booleans(), n)), type=pa.bool_())
    if kind == "string":
        t = draw(st.sampled_from([pa.string(), pa.large_string(), pa.string_view()]))
        return pa.array(draw(maybe(text, n)), type=t)
    if kind == "dictionary":
        return pa.array(draw(maybe(st.sampled_from(["p", "q\"r"]), n))).dictionary_encode()
    if kind in ("date32", "date64"):
        t = pa.date32() if kind == "date32" else pa.date64()
        return pa.array(draw(maybe(dates, n)), type=t)
    if kind == "timestamp":
        unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
        tz = draw(st.sampled_from([None, "UTC", "Europe/London", "+05:30"]))
        # to_pylist() turns seconds to microseconds into datetime.datetime
        # (years 1 to 9999), nanoseconds into pandas.Timestamp.
        lim = 2**62 if unit == "ns" else 250_000_000_000 * 10**9 // unit_scale(unit)
        hi = lim // 4 if tz in (None, "UTC", "+05:30") else (TABLE_END_NS - 1) // unit_scale(unit)
        v = draw(maybe(st.integers(-lim // 5, hi), n))
        return pa.array(v, type=pa.int64()).cast(pa.timestamp(unit, tz=tz))
    if kind == "duration":
        unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
        lim = 10**17 // unit_scale(unit)
        return pa.array(draw(maybe(st.integers(-lim, lim), n)), type=pa.int64()).cast(pa.duration(unit))
    if kind in ("decimal128", "decimal256"):
        scale = draw(st.integers(-2, 8))
        t = pa.decimal128(30, scale) if kind == "decimal128" else pa.decimal256(40, scale)
        v = draw(maybe(decimals, n))
        v = [None if x is None else x.quantize(decimal.Decimal(1).scaleb(-scale)) for x in v]
        return pa.array(v, type=t)
    if kind == "time32":
        unit = draw(st.sampled_from(["s", "ms"]))
        lim = 86_400 * (1 if unit == "s" else 1000)
        return pa.array(draw(maybe(st.integers(0, lim - 1), n)), type=pa.int32()).cast(pa.time32(unit))
    lim = 86_400 * 10**6
    return pa.array(draw(maybe(st.integers(0, lim - 1), n)), type=pa.int64()).cast(pa.time64("us"))


@st.composite
def arrow_tables(draw: Any) -> Any:
    n = draw(st.integers(1, 8))
    width = draw(st.integers(1, 5))
    return pa.table({f"c{i}": draw(arrow_column(n)) for i in range(width)})


@SETTINGS
@given(table=arrow_tables())
def test_arrow_tables_are_their_row_dicts(tmp_path: Path, table: Any) -> None:
    rows = table.to_pylist()
    same_as_rows(tmp_path, table, rows)
    same_as_rows(tmp_path, table.to_batches()[0] if table.num_rows else table, rows)
    same_as_rows(tmp_path, pa.RecordBatchReader.from_batches(table.schema, table.to_batches()), rows)


class CapsuleOnly:
    """Any Arrow C stream producer, known only by the protocol."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._table.__arrow_c_stream__(requested_schema)


def test_any_arrow_c_stream_is_a_frame(tmp_path: Path) -> None:
    table = pa.table({"a": [1, None, 3], "b": ["x", "y", None]})
    same_as_rows(tmp_path, CapsuleOnly(table), table.to_pylist())


# Edges named by the issue -----------------------------------------------


def test_float_forms_are_pythons_repr(tmp_path: Path) -> None:
    values = [-0.0, 1e-7, 1e16, float("nan"), float("inf"), float("-inf"), 0.1 + 0.2, 1 / 3]
    df = pd.DataFrame({"x": values})
    body = sealed(tmp_path, "f", df).decode().splitlines()[1:]
    assert [line.split(",")[1] for line in body] == [repr(v) for v in values]
    same_as_rows(tmp_path, df, df.to_dict("records"))


def test_nanoseconds_are_kept_where_python_datetimes_would_drop_them(tmp_path: Path) -> None:
    # polars' to_dicts() truncates to microseconds; the frame keeps the
    # digits, in the form pandas prints them.
    s = pl.Series([1_700_000_000_123_456_789], dtype=pl.Int64).cast(pl.Datetime("ns"))
    body = sealed(tmp_path, "ns", pl.DataFrame({"t": s})).decode().splitlines()[1]
    assert ",2023-11-14 22:13:20.123456789," in body
    assert str(pd.Timestamp(1_700_000_000_123_456_789)) == "2023-11-14 22:13:20.123456789"


def test_instants_past_the_zone_table_are_refused(tmp_path: Path) -> None:
    at = pd.Series(pd.to_datetime(["2037-12-31 23:59:59", "2038-06-01 00:00:00"]).tz_localize("UTC"))
    ok = pd.DataFrame({"t": at[:1].dt.tz_convert("Europe/London")})
    same_as_rows(tmp_path, ok, ok.to_dict("records"))
    with pytest.raises(csvseal.InvalidInputError) as e:
        sealed(tmp_path, "late", pd.DataFrame({"t": at.dt.tz_convert("Europe/London")}))
    assert e.value.errors[0].line == 2 and "past 2037" in str(e.value)
    # UTC and fixed offsets have no rule to guess.
    utc = pd.DataFrame({"t": at})
    same_as_rows(tmp_path, utc, utc.to_dict("records"))


def test_a_schema_datetime_column_is_written_as_table_schema_reads_it(tmp_path: Path) -> None:
    df = pd.DataFrame({"at": pd.to_datetime(["2024-01-02 03:04:05"]).tz_localize("UTC"), "n": [1]})
    schema = {"fields": [{"name": "at", "type": "datetime"}, {"name": "n", "type": "integer"}]}
    body = sealed(tmp_path, "s", df, schema=schema).decode().splitlines()[1]
    assert ",2024-01-02T03:04:05+00:00,1," in body


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda: pa.table({"blob": pa.array([b"\x00"], type=pa.binary())}), "binary"),
        (lambda: pa.table({"xs": pa.array([[1, 2]])}), "List(Int64)"),
        (lambda: pa.table({"h": pa.array(np.array([1.5], dtype=np.float16))}), "float16"),
        (lambda: pl.DataFrame({"xs": [[1, 2]]}), "List"),
        (lambda: pl.DataFrame({"o": pl.Series([object()], dtype=pl.Object)}), "Object"),
    ],
)
def test_types_without_a_faithful_text_are_refused_by_name(
    tmp_path: Path, make: Callable[[], Any], named: str
) -> None:
    with pytest.raises(csvseal.UsageError) as e:
        sealed(tmp_path, "r", make())
    assert named.lower() in str(e.value).lower(), str(e.value)
    assert not list((tmp_path / "r").iterdir()), "nothing is written"


def test_pandas_columns_of_other_dtypes_go_value_by_value(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "p": pd.period_range("2024-01", periods=2, freq="M"),
            "iv": pd.arrays.IntervalArray.from_breaks([0, 1, 2]),
            "z": np.array([1 + 2j, 3j]),
            "b": [b"\x01", b"x"],
        }
    )
    same_as_rows(tmp_path, df, df.to_dict("records"))


def test_frame_errors_are_typed_and_leave_nothing(tmp_path: Path) -> None:
    with pytest.raises(csvseal.UsageError, match="two columns named"):
        sealed(tmp_path, "d", pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(csvseal.UsageError, match="is a int"):
        sealed(tmp_path, "n", pd.DataFrame([[1, 2]]))
    with pytest.raises(csvseal.UsageError, match="header="):
        sealed(tmp_path, "h", pd.DataFrame({"a": [1]}), header=["a"])
    # A schema violation: the file is not written.
    with pytest.raises(csvseal.InvalidInputError) as e:
        sealed(tmp_path, "s", pd.DataFrame({"n": [1, -2]}), schema={"fields": [{"name": "n", "type": "integer", "constraints": {"minimum": 0}}]})
    assert e.value.errors[0].line == 2 and e.value.errors[0].column == "n"
    assert not list((tmp_path / "s").iterdir())


def test_options_apply_to_frames(tmp_path: Path) -> None:
    df = pl.DataFrame({"a": [1, 2]})
    d = tmp_path / "o"
    d.mkdir()
    first = csvseal.write(d, "t", df, timestamp=STAMP, start_seq=10)
    assert csvseal.verify(first).first_seq == 10
    with pytest.raises(csvseal.TargetExistsError):
        csvseal.write(d, "t", df, timestamp=STAMP)
    csvseal.write(d, "t", df, timestamp=STAMP, replace=True, start_seq=20)
    nxt = csvseal.write(d, "t", df, timestamp="2024-09-10T16:00:00Z", continue_series=True)
    assert csvseal.verify(nxt).first_seq == 22
