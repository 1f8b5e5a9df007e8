"""DataFrames and Arrow data as ``write()`` sources.

A frame crosses into the extension as Arrow record batches (the Arrow
PyCapsule interface, ``__arrow_c_stream__``), with one style per column
saying how that column's values read in the frame library's own row dicts
(``df.to_dict("records")``, ``df.to_dicts()``, ``table.to_pylist()``): the
text of a missing value, and whether a duration is a ``pandas.Timedelta``
or a ``datetime.timedelta``. The extension writes each cell as ``str()`` of
that row-dict value would, so a sealed frame is byte-identical to the same
rows written as dicts, without a Python object per cell.

No frame library is imported here unless the caller's object comes from it
(a module already in ``sys.modules``)."""

from __future__ import annotations

import json
import sys
from typing import Any

from ._errors import UsageError

# (missing-value text, duration style: "pandas", "python" or "by-unit")
Style = tuple[str, str]
# (a style per column, or none: the default for all; the default; the
# columns the schema types datetime)
Styles = tuple[list[Style], Style, list[str]]


def is_frame(source: Any) -> bool:
    """Whether ``write()`` takes ``source`` as a frame."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(source, pd.DataFrame):
        return True
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(source, (pl.DataFrame, pl.LazyFrame)):
        return True
    return hasattr(source, "__arrow_c_stream__") and not isinstance(source, type)


def frame_source(source: Any, schema_json: str | None) -> tuple[tuple[Any, Styles], str]:
    """((object with ``__arrow_c_stream__``, column styles), label) for a
    frame (see :func:`is_frame`)."""
    datetimes = sorted(_schema_datetimes(schema_json))
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(source, pd.DataFrame):
        frame, per_column = _pandas(source)
        return (frame, (per_column, ("", "pandas"), datetimes)), "<pandas DataFrame>"
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(source, (pl.DataFrame, pl.LazyFrame)):
        # to_dicts(): None for null, datetime.timedelta for durations.
        return (_polars(source), ([], ("", "python"), datetimes)), "<polars DataFrame>"
    # pyarrow (Table, RecordBatch, RecordBatchReader) or any Arrow C stream:
    # values as to_pylist() gives them (None for null; nanosecond durations
    # as pandas.Timedelta, others as datetime.timedelta).
    return (source, ([], ("", "by-unit"), datetimes)), f"<{type(source).__name__}>"


def _schema_datetimes(schema_json: str | None) -> set[str]:
    """Columns the schema types ``datetime``: their timestamps are written
    as Table Schema reads them (``T`` between date and time)."""
    if schema_json is None:
        return set()
    try:
        fields = json.loads(schema_json).get("fields", [])
        return {f["name"] for f in fields if isinstance(f, dict) and f.get("type") == "datetime"}
    except (ValueError, AttributeError, KeyError, TypeError):
        return set()  # the component reports a bad schema


def _check_names(names: list[Any], what: str) -> list[str]:
    for n in names:
        if not isinstance(n, str):
            raise UsageError(f"{what} column name {n!r} is a {type(n).__name__}, not a str")
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise UsageError(f"{what} has two columns named {n!r}")
        seen.add(n)
    return names


def _pandas(df: Any) -> tuple[Any, list[Style]]:
    import numpy as np

    pa = _pyarrow("a pandas DataFrame")
    names = _check_names(list(df.columns), "the DataFrame")
    arrays = []
    styles: list[Style] = []
    for i, name in enumerate(names):
        column = df.iloc[:, i]
        dtype = column.dtype
        # The missing value as to_dict("records") holds it: NaN, NaT, or
        # None (for pd.NA).
        if isinstance(dtype, np.dtype):
            null = "NaT" if dtype.kind in "mM" else "nan"
        else:
            na = _box(dtype.na_value)
            null = "" if na is None else str(na)
        array = None
        if not (isinstance(dtype, np.dtype) and dtype.kind == "O"):
            try:
                array = _pandas_arrow(pa, column)
            except (pa.ArrowException, TypeError, ValueError, NotImplementedError):
                array = None  # e.g. period, interval, complex: value by value below
        if array is None or not _writable(pa, array.type):
            # What to_dict("records") holds, value by value: str() of it.
            array = pa.array(_pandas_texts(column), type=pa.large_string())
            null = ""
        arrays.append(array)
        styles.append((null, "pandas"))
    return pa.Table.from_arrays(arrays, names=names), styles


def _pandas_arrow(pa: Any, column: Any) -> Any:
    """A pandas column as Arrow, each value the one its row dict holds."""
    import pandas as pd

    dtype = column.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return column.array._pa_array
    if isinstance(dtype, pd.CategoricalDtype) and dtype.categories.dtype.kind == "O":
        raise TypeError("object categories: value by value")
    return pa.Array.from_pandas(column)


def _writable(pa: Any, t: Any) -> bool:
    """Types the extension writes from Arrow (others go value by value)."""
    if pa.types.is_dictionary(t):
        return _writable(pa, t.value_type)
    return not (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_nested(t)
        or pa.types.is_float16(t)
        or pa.types.is_interval(t)
        or isinstance(t, pa.ExtensionType)
        or getattr(pa.types, "is_binary_view", lambda _t: False)(t)
    )


def _box(value: Any) -> Any:
    """A value as to_dict("records") holds it (numpy scalars as Python's,
    pd.NA as None)."""
    from pandas.core.dtypes.cast import maybe_box_native

    return maybe_box_native(value)


def _pandas_texts(column: Any) -> list[str | None]:
    from pandas.core.dtypes.cast import maybe_box_native

    texts: list[str | None] = []
    for v in column:
        v = maybe_box_native(v)
        texts.append(None if v is None else str(v))
    return texts


def _polars(frame: Any) -> Any:
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    names = _check_names(list(frame.columns), "the polars DataFrame")
    nulls = []
    for name, dtype in zip(names, frame.dtypes):
        if dtype == pl.Object:
            raise UsageError(
                f"column {name!r}: polars Object columns hold arbitrary Python objects and have "
                "no Arrow form: convert it (e.g. .cast(pl.String) or map_elements(str))"
            )
        if dtype == pl.Null:
            nulls.append(name)
    # An all-null column's text is empty whatever its type; as a string
    # column it crosses the C interface the way every reader expects.
    return frame.with_columns([pl.col(n).cast(pl.String) for n in nulls]) if nulls else frame


def _pyarrow(what: str) -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise UsageError(
            f"writing {what} needs pyarrow: pip install 'csvseal[arrow]' (or [pandas])"
        ) from None
    return pa
