"""read() and read_batches(): a sealed file as Arrow data, verified as it is
read, and never a row of a file that does not verify."""

from __future__ import annotations

import os
from typing import Any, Literal

from . import _native
from ._api import Schema, Seconds, StrPath, _limits, _native_call, _object, _schema
from ._errors import FileInvalidError, InvalidInputError, UsageError
from ._report import Report

DatetimeUnit = Literal["s", "ms", "us", "ns"]


def read(
    source: StrPath,
    schema: Schema = None,
    *,
    checksum: bool = False,
    decimal_scale: int | None = None,
    datetime_unit: DatetimeUnit = "us",
    max_errors: int = 1000,
    memory_limit_mib: int = 512,
    call_timeout_secs: float = 30,
    max_record_mib: int = 64,
    max_output_mib: int = 64,
    max_table_elements: int = 100_000,
    endpoint: str | None = None,
    retry_timeout: Seconds = None,
) -> Any:
    """The sealed file at ``source`` (a path, or an ``s3://bucket/key``
    object: ``endpoint=`` and ``retry_timeout=`` as for ``verify``) as a
    ``pyarrow.Table``, verified in the
    same pass as it is parsed: each chunk read goes both to csvseal's
    sandboxed verifier and to the parser, and the table is returned only
    if the report is valid. A file that does not verify raises
    ``FileInvalidError`` (its ``report`` says why) and no row of it is
    returned.

    Columns: ``file_seq`` as uint64, then the file's columns, typed by the
    Table Schema when ``schema`` is given (``integer`` int64, ``number``
    float64 or, with ``decimal_scale``, decimal128(38, scale), ``boolean``,
    ``date`` date32, ``datetime`` timestamp[``datetime_unit``, UTC]: Table
    Schema reads a datetime without an offset as UTC), else strings; the schema's
    ``missingValues`` are nulls. ``checksum_sha256`` is dropped unless
    ``checksum=True``. A value the type cannot hold exactly (an integer
    beyond int64, a fraction finer than the unit or the scale) raises
    ``InvalidInputError`` with its line and column; nothing is rounded.

    ``table.to_pandas()`` and ``polars.from_arrow(table)`` take it from
    there. Needs pyarrow (``pip install 'csvseal[arrow]'``)."""
    pa = _pyarrow()
    stream = _read(
        source, schema, checksum, decimal_scale, datetime_unit, 1 << 16, False,
        _limits(max_errors, memory_limit_mib, call_timeout_secs, max_record_mib, max_output_mib, max_table_elements),
        _object(endpoint, retry_timeout),
    )
    return pa.table(stream)


def read_batches(
    source: StrPath,
    schema: Schema = None,
    *,
    batch_rows: int = 65_536,
    checksum: bool = False,
    decimal_scale: int | None = None,
    datetime_unit: DatetimeUnit = "us",
    max_errors: int = 1000,
    memory_limit_mib: int = 512,
    call_timeout_secs: float = 30,
    max_record_mib: int = 64,
    max_output_mib: int = 64,
    max_table_elements: int = 100_000,
    endpoint: str | None = None,
    retry_timeout: Seconds = None,
) -> Any:
    """What :func:`read` returns, as a ``pyarrow.RecordBatchReader`` of
    ``batch_rows`` rows a batch, in constant memory.

    A stream cannot take back rows it has given, so the file is verified
    first, in full, through one open descriptor; a file that does not
    verify raises ``FileInvalidError`` here, before any batch. The batches
    are then parsed from that same descriptor, and reading fails (an
    ``OSError`` from the reader) if the file changes after it was verified:
    its size, modification or change time, or inode moved. An object is
    read a second time only as the version (ETag) the first read verified."""
    pa = _pyarrow()
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or not 1 <= batch_rows <= 1 << 24:
        raise UsageError(f"batch_rows={batch_rows!r}: an int from 1 to 16777216")
    stream = _read(
        source, schema, checksum, decimal_scale, datetime_unit, batch_rows, True,
        _limits(max_errors, memory_limit_mib, call_timeout_secs, max_record_mib, max_output_mib, max_table_elements),
        _object(endpoint, retry_timeout),
    )
    return pa.RecordBatchReader.from_stream(stream)


def _read(
    source: StrPath,
    schema: Schema,
    checksum: bool,
    decimal_scale: int | None,
    datetime_unit: str,
    batch_rows: int,
    streaming: bool,
    limits: tuple[int, int, int, int, int, int],
    object: tuple[str | None, float | None],
) -> Any:
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"read() takes a path or an s3:// URL, not {type(source).__name__}")
    if decimal_scale is not None and (isinstance(decimal_scale, bool) or not isinstance(decimal_scale, int)):
        raise TypeError(f"decimal_scale must be an int, not {type(decimal_scale).__name__}")
    path = os.fspath(source)
    try:
        report_json, stream = _read_native(path, schema, checksum, decimal_scale, datetime_unit,
                                           batch_rows, streaming, limits, object)
    except InvalidInputError as e:
        # The file verified; a value could not be typed exactly.
        e.message = f"{path}: {e.error_count} value(s) cannot be read exactly as typed; no rows were returned"
        raise
    if stream is None:
        report = Report.from_json(report_json)
        raise FileInvalidError(
            f"{path}: does not verify ({report.error_count} error(s)): no rows were read",
            {"path": path, "report": report_json},
        )
    return stream


def _read_native(
    path: str,
    schema: Schema,
    checksum: bool,
    decimal_scale: int | None,
    datetime_unit: str,
    batch_rows: int,
    streaming: bool,
    limits: tuple[int, int, int, int, int, int],
    object: tuple[str | None, float | None],
) -> tuple[str, Any]:
    return _native_call(
        _native.read_path,
        path,
        _schema(schema),
        limits,
        keep_checksum=bool(checksum),
        decimal_scale=decimal_scale,
        datetime_unit=datetime_unit,
        batch_rows=batch_rows,
        streaming=streaming,
        object=object,
    )


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise UsageError("read() returns pyarrow data: pip install 'csvseal[arrow]'") from None
    return pa
