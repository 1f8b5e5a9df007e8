"""verify, write and row_checksum: thin typed wrappers over the extension,
which calls csvseal's host library (the CLI's code) without the GIL."""

from __future__ import annotations

import datetime as _dt
import errno
import json
import logging
import math
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Literal, Union

from . import _frames, _native

_logger = logging.getLogger("csvseal")
from ._errors import CsvsealError, IoError, UsageError, from_native
from ._report import Report, SeriesReport

StrPath = Union[str, "os.PathLike[str]"]
"""A file system path."""

Schema = Union[StrPath, Mapping[str, Any], None]
"""A Frictionless Table Schema: a path to its JSON file, or the schema itself
as a dict."""

BytesLike = Union[bytes, bytearray, memoryview]

Seconds = Union[float, int, _dt.timedelta, None]


def _limits(
    max_errors: int,
    memory_limit_mib: int,
    call_timeout_secs: float,
    max_record_mib: int,
    max_output_mib: int,
    max_table_elements: int,
) -> tuple[int, int, int, int, int, int]:
    """The limits as the extension takes them, checked like the CLI's options."""

    def count(name: str, value: Any, least: int, most: int = 2**64 - 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if not least <= value <= most:
            raise UsageError(f"{name}={value}: must be between {least} and {most}")
        return value

    secs = _seconds("call_timeout_secs", call_timeout_secs)
    if secs is None or secs <= 0:
        raise UsageError(f"call_timeout_secs={call_timeout_secs!r}: must be more than zero")
    return (
        count("max_errors", max_errors, 0, 2**32 - 1),
        count("memory_limit_mib", memory_limit_mib, 1, 2**44),
        max(1, math.ceil(secs * 1000)),
        count("max_record_mib", max_record_mib, 1, 2**44),
        count("max_output_mib", max_output_mib, 1, 2**44),
        count("max_table_elements", max_table_elements, 1, 2**63 - 1),
    )


# Longest wait or timeout, as the CLI takes: far beyond any real one, and no
# deadline computed from it can overflow.
_MAX_SECONDS = 100 * 365 * 86_400


def _seconds(name: str, value: Seconds) -> float | None:
    if value is None:
        return None
    if isinstance(value, _dt.timedelta):
        secs = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        secs = float(value)
    else:
        raise TypeError(f"{name} must be seconds (a number) or a timedelta, not {type(value).__name__}")
    if not math.isfinite(secs) or secs < 0:
        raise UsageError(f"{name}={value!r}: must be a finite, non-negative time")
    if secs > _MAX_SECONDS:
        raise UsageError(f"{name}={value!r}: more than 100 years")
    return secs


# As the CLI: far beyond any real Table Schema, small enough that a wrong
# path (a log, a device) fails at once.
_MAX_SCHEMA_BYTES = 16 << 20


def _object(endpoint: str | None, retry_timeout: Seconds) -> tuple[str | None, float | None]:
    """Object-store options for ``s3://`` locations: (endpoint, retry secs)."""
    if endpoint is not None and not isinstance(endpoint, str):
        raise TypeError(f"endpoint must be a str URL, not {type(endpoint).__name__}")
    return (endpoint, _seconds("retry_timeout", retry_timeout))


def _is_object(location: Any) -> bool:
    return isinstance(location, str) and location.startswith("s3://")


def _read_small(path: str, limit: int) -> bytes:
    """A regular file's bytes, at most `limit`: a FIFO or device is refused
    without blocking on it (non-blocking open, kind checked on the open
    descriptor); a symlink the caller named is followed."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes", path)
    return data


def _schema(schema: Schema) -> tuple[str, str] | None:
    """(label for messages, JSON text)."""
    if schema is None:
        return None
    if isinstance(schema, Mapping):
        return ("<schema>", json.dumps(schema, ensure_ascii=False))
    if isinstance(schema, (str, os.PathLike)):
        path = os.fspath(schema)
        try:
            return (path, _read_small(path, _MAX_SCHEMA_BYTES).decode("utf-8"))
        except OSError as e:
            message = f"{path}: read schema: {e.strerror or e}"
            raise IoError(
                message, {"path": path, "op": "read schema", "errno": e.errno, "os_error": str(e)}
            ) from e
        except UnicodeDecodeError as e:
            raise UsageError(f"schema {path}: not UTF-8 text: {e}") from e
    raise TypeError(f"schema must be a path or a dict, not {type(schema).__name__}")


def _native_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except _native.NativeError as e:
        raise from_native(e) from None


PublicKey = Union[StrPath, Sequence[StrPath]]
"""Public keys: a minisign public key file or keyring (several keys, one
file) path, or a list of them. A ``str`` that starts with ``untrusted
comment:`` is taken as a key's text rather than a path."""

_KEY_TEXT_PREFIX = "untrusted comment:"


def _public_keys(public_key: PublicKey | None) -> tuple[list[str], list[str]] | None:
    """(key file paths, key texts) for the extension; None: no key."""
    if public_key is None:
        return None
    items = [public_key] if isinstance(public_key, (str, os.PathLike)) else public_key
    if isinstance(items, (bytes, bytearray, memoryview)) or not isinstance(items, Iterable):
        raise TypeError(
            f"public_key must be a path or a list of paths, not {type(public_key).__name__}"
        )
    paths: list[str] = []
    texts: list[str] = []
    for item in items:
        if isinstance(item, str) and item.startswith(_KEY_TEXT_PREFIX):
            if len(item) > _native.KEY_TEXT_LIMIT:
                raise UsageError(f"public_key text: larger than {_native.KEY_TEXT_LIMIT} bytes")
            texts.append(item)
        elif isinstance(item, (str, os.PathLike)):
            paths.append(os.fspath(item))
        else:
            raise TypeError(f"public_key must hold paths, not {type(item).__name__}")
    if not paths and not texts:
        raise UsageError("public_key: no key given (an empty list)")
    return paths, texts


def _signature_text(signature: str | BytesLike | None) -> str | None:
    """The ``.minisig`` text, bounded as the library bounds the file."""
    if signature is None:
        return None
    if isinstance(signature, (bytes, bytearray, memoryview)):
        data = bytes(signature)
        if len(data) > _native.SIGNATURE_FILE_LIMIT:
            raise UsageError(f"signature: larger than {_native.SIGNATURE_FILE_LIMIT} bytes (not a .minisig file)")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise UsageError(f"signature: not UTF-8 text (not a .minisig file): {e}") from None
    if isinstance(signature, str):
        if len(signature) > _native.SIGNATURE_FILE_LIMIT:
            raise UsageError(f"signature: larger than {_native.SIGNATURE_FILE_LIMIT} bytes (not a .minisig file)")
        return signature
    raise TypeError(f"signature must be the .minisig file's text or bytes, not {type(signature).__name__}")


def verify(
    source: StrPath | BytesLike | IO[bytes],
    schema: Schema = None,
    *,
    public_key: PublicKey | None = None,
    signature: str | BytesLike | None = None,
    file_name: str | None = None,
    max_errors: int = 1000,
    memory_limit_mib: int = 512,
    call_timeout_secs: float = 30,
    max_record_mib: int = 64,
    max_output_mib: int = 64,
    max_table_elements: int = 100_000,
    endpoint: str | None = None,
    retry_timeout: Seconds = None,
) -> Report:
    """Verifies a sealed file: a path, an ``s3://bucket/key`` location, its
    bytes, or a binary file object (read in 1 MiB chunks: memory stays flat
    whatever the size).

    An ``s3://`` location is read through the host's object-store code, as
    ``csvseal verify s3://…``: credentials from the ``AWS_*`` environment,
    ``endpoint=`` (default ``AWS_ENDPOINT_URL``, else AWS) and
    ``retry_timeout=`` seconds (default 60) as the CLI's ``--endpoint`` and
    ``--retry-timeout``. Secrets never appear in errors or logs: an endpoint
    holding a password, query or fragment is refused, shown with ``***``.

    Returns the report whether the file is valid or not (``report.valid``);
    raises ``IoError`` when the file cannot be read, ``SchemaError`` for a
    schema the component refuses, ``LimitError`` when the sandbox hits a
    limit. The GIL is released while the file is verified.

    ``public_key=`` (a minisign public key or keyring file, or a list of
    them, for key rotation) also checks the file's signature, in the
    sandboxed component, as ``csvseal verify --key``: the signature must
    exist, verify for these exact bytes under a listed key, and its signed
    claims (name, rows, first and last ``file_seq``) must match the file.
    The outcome is ``report.signature``; a failed check makes the report
    invalid with a ``signature-missing``, ``signature-invalid`` or
    ``unknown-key`` error first. For a path, the signature is
    ``PATH.minisig`` (read bounded, never through a symlink). For bytes or
    a file object, pass its text as ``signature=`` (None: missing) and the
    signed file's name as ``file_name=`` (required with ``signature=``; a
    file object's ``name`` attribute, as a base name, is the default).
    Unreadable keys raise ``UsageError`` or ``IoError``.
    """
    limits = _limits(
        max_errors, memory_limit_mib, call_timeout_secs, max_record_mib, max_output_mib, max_table_elements
    )
    schema_arg = _schema(schema)
    keys = _public_keys(public_key)
    sig = _signature_text(signature)
    if keys is None and (sig is not None or file_name is not None):
        raise UsageError("signature= and file_name= need public_key= (the key or keyring to check with)")
    if file_name is not None and not isinstance(file_name, str):
        raise TypeError(f"file_name must be a str, not {type(file_name).__name__}")
    if isinstance(source, (str, os.PathLike)):
        if sig is not None or file_name is not None:
            raise UsageError(
                "signature= and file_name= are for bytes or file objects: a path's signature is PATH.minisig"
            )
        text = _native_call(
            _native.verify_path,
            os.fspath(source),
            schema_arg,
            limits,
            keys,
            _object(endpoint, retry_timeout),
        )
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = source if isinstance(source, bytes) else bytes(source)
        if sig is not None and file_name is None:
            raise UsageError("signature= needs file_name= (the signed file's name) for bytes")
        text = _native_call(
            _native.verify_bytes, data, "<bytes>", schema_arg, limits, (keys, sig, file_name)
        )
    elif hasattr(source, "read"):
        label = str(getattr(source, "name", "<file object>"))
        if keys is not None and file_name is None:
            name = getattr(source, "name", None)
            if isinstance(name, (str, os.PathLike)):
                file_name = os.path.basename(os.fspath(name))
            elif sig is not None:
                raise UsageError(
                    "signature= needs file_name= (the signed file's name) for a file object without a name"
                )
        text = _native_call(
            _native.verify_file_object, source, label, schema_arg, limits, (keys, sig, file_name)
        )
    else:
        raise TypeError(
            f"verify() takes a path, bytes or a binary file object, not {type(source).__name__}"
        )
    return Report.from_json(text)


def verify_series(
    dir: StrPath,
    base: str,
    schema: Schema = None,
    *,
    public_key: PublicKey | None = None,
    max_errors: int = 1000,
    memory_limit_mib: int = 512,
    call_timeout_secs: float = 30,
    max_record_mib: int = 64,
    max_output_mib: int = 64,
    max_table_elements: int = 100_000,
    endpoint: str | None = None,
    retry_timeout: Seconds = None,
) -> SeriesReport:
    """Verifies the series ``dir/{base}_YYYYMMDD_HHMMSS.csv`` as
    ``csvseal verify --series DIR BASE`` does: every file in name order,
    and the seams between files (overlaps are errors, gaps warnings).
    ``dir`` may be an ``s3://bucket/prefix/`` location (``endpoint=`` and
    ``retry_timeout=`` as for ``verify``).

    With ``public_key=``, every file's signature is checked and the chain of
    signed links walked: each file's signature must name the file before it
    (its name and BLAKE2b-512), the first file's none. A deleted, inserted,
    reordered, renamed or swapped file gives ``chain-broken`` on the file
    after the break, naming both files. Dropping the newest files shows
    only against a series head recorded elsewhere.
    """
    limits = _limits(
        max_errors, memory_limit_mib, call_timeout_secs, max_record_mib, max_output_mib, max_table_elements
    )
    if not isinstance(base, str):
        raise TypeError(f"base must be a str, not {type(base).__name__}")
    text = _native_call(
        _native.verify_series,
        os.fspath(dir),
        base,
        _schema(schema),
        limits,
        _public_keys(public_key),
        _object(endpoint, retry_timeout),
    )
    return SeriesReport.from_json(text)


def row_checksum(header: Sequence[str], fields: Sequence[str]) -> str:
    """The policy's checksum of one row (``fields`` under ``header``), as the
    sandboxed component computes it: SHA-256 of the values of every column
    but ``checksum_sha256``, ordered by column name, joined with ``|``."""
    h, f = _strings("header", header), _strings("fields", fields)
    return _native_call(_native.row_checksum, h, f, _native.DEFAULT_LIMITS)


def _strings(name: str, values: Sequence[str]) -> list[str]:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of str, not a single {type(values).__name__}")
    out = list(values)
    for v in out:
        if not isinstance(v, str):
            raise TypeError(f"{name} must hold only str, not {type(v).__name__}")
    return out


Rows = Iterable[Union[Mapping[str, Any], Sequence[Any]]]
"""Rows to seal: dicts (keys are the columns), or sequences with header=."""


def write(
    dir: StrPath,
    name: str,
    source: StrPath | BytesLike | IO[bytes] | Rows,
    *,
    header: Sequence[str] | None = None,
    format: Literal["csv", "jsonl"] = "csv",
    delimiter: str | None = None,
    quote: str | None = None,
    has_header: bool | None = None,
    encoding: str = "utf-8",
    schema: Schema = None,
    start_seq: int = 1,
    timestamp: _dt.datetime | str | None = None,
    replace: bool = False,
    backup_dir: StrPath | None = None,
    keep: int | None = None,
    wait: Seconds = None,
    timeout: Seconds = None,
    continue_series: bool = False,
    sign_key: StrPath | None = None,
    max_errors: int = 1000,
    memory_limit_mib: int = 512,
    call_timeout_secs: float = 30,
    max_record_mib: int = 64,
    max_output_mib: int = 64,
    max_table_elements: int = 100_000,
    endpoint: str | None = None,
    retry_timeout: Seconds = None,
) -> Path | str:
    """Seals ``source`` into ``dir/{name}_YYYYMMDD_HHMMSS.csv`` (UTC), exactly
    as ``csvseal write`` does, and returns the committed file's path.

    ``dir`` may be an ``s3://bucket/prefix/`` location: the object is
    written as ``csvseal write --to s3://…`` writes it (a multipart upload
    committed only if the key does not exist, or with ``replace=True`` over
    the version backed up) and its URL is returned as a ``str``.
    ``continue_series=True`` is refused there (no series lock); ``endpoint=``
    and ``retry_timeout=`` as for ``verify``.

    ``source`` is a CSV (or, with ``format="jsonl"``, JSON Lines) file: its
    path, its bytes or a binary file object; or rows: an iterable of dicts
    (the first dict's keys, or ``header``, are the columns) or of sequences
    (``header`` required). Row values are written as ``str(value)`` (as the
    policy's checksum sees them), ``None`` as an empty field. For rows, an
    error's ``line`` is the row's 1-based position.

    ``source`` may also be a frame: a pandas DataFrame, a polars DataFrame
    or LazyFrame, a pyarrow Table, RecordBatch or RecordBatchReader, or
    anything with ``__arrow_c_stream__``. Its data crosses into the
    extension as Arrow batches, with no Python object per value, and is
    written byte for byte as its own row dicts would be
    (``df.to_dict("records")``, ``df.to_dicts()``, ``table.to_pylist()``).
    Where ``schema`` types a column ``datetime``, its timestamps are
    written as Table Schema reads them (``2024-01-01T09:30:00+00:00``).
    A column type with no faithful text form (binary, lists, structs,
    float16) is refused with a ``UsageError`` naming it.

    A CSV source's dialect, as the CLI's options: ``delimiter`` and ``quote``
    (one ASCII character each; a one-column header holding ``;``, tab or
    ``|`` is refused unless ``delimiter`` is given), ``has_header`` (default:
    true unless ``header`` names the columns), ``encoding`` (``utf-8``,
    ``utf-16``, ``utf-16le``, ``utf-16be``, ``windows-1252``, ``latin-1``;
    a byte not valid in it is a located error). The output is always the
    policy's UTF-8 comma CSV.

    The write is atomic: temp file in ``dir``, fsync, verification of the
    written file, a rename that never replaces an existing file, directory
    fsync; on any failure the temp file is removed and nothing appears.
    Errors: ``TargetExistsError``, ``BusyError`` (another writer holds the
    target: pass ``wait=`` seconds to wait), ``InvalidInputError`` (with
    every row error), ``WriteTimeoutError``, ``LimitError``, ``IoError``...
    ``replace=True`` supersedes an existing file after a verified backup
    (``backup_dir``, ``keep``); ``continue_series=True`` continues the
    series' ``file_seq`` after its last file.

    ``sign_key=`` (a minisign secret key file, e.g. from ``csvseal keygen``)
    signs the file: ``PATH.minisig`` is committed before the CSV, so no CSV
    is ever visible without its signature. It is a minisign signature over
    exactly the committed bytes, which Debian's ``minisign -Vm`` checks;
    its trusted comment states the file's name, rows, ``file_seq`` range,
    BLAKE2b-512 and, with ``continue_series=True``, the file before it.
    The key file must be a regular file (no symlink) that group and others
    cannot read, and unencrypted; otherwise ``UsageError`` or ``IoError``.
    The key is read by the extension and never reaches Python objects,
    exceptions or logs.
    """
    return _write(
        dir,
        (name, _timestamp(timestamp)),
        source,
        header=header,
        format=format,
        dialect=_dialect(format, source, delimiter, quote, has_header),
        encoding=encoding,
        schema=schema,
        start_seq=start_seq,
        replace=replace,
        backup_dir=backup_dir,
        keep=keep,
        wait=wait,
        timeout=timeout,
        continue_series=continue_series,
        sign_key=sign_key,
        object=_object(endpoint, retry_timeout),
        limits=_limits(
            max_errors, memory_limit_mib, call_timeout_secs, max_record_mib, max_output_mib, max_table_elements
        ),
    )


def _dialect(
    format: str, source: Any, delimiter: str | None, quote: str | None, has_header: bool | None
) -> tuple[int | None, int | None, bool | None]:
    """The CSV dialect arguments as bytes, checked."""
    given = (delimiter, quote, has_header) != (None, None, None)
    if given and format != "csv":
        raise UsageError("delimiter=, quote= and has_header= describe CSV input, not format='jsonl'")
    if given and _source(source)[0] in ("rows", "arrow"):
        raise UsageError("delimiter=, quote= and has_header= describe a CSV source, not rows or a frame")

    def byte(name: str, c: str | None) -> int | None:
        if c is None:
            return None
        if not isinstance(c, str) or len(c) != 1 or not c.isascii() or c in "\r\n":
            raise UsageError(f"{name}={c!r}: must be one ASCII character other than CR and LF")
        return ord(c)

    if has_header is not None and not isinstance(has_header, bool):
        raise TypeError(f"has_header must be a bool, not {type(has_header).__name__}")
    return byte("delimiter", delimiter), byte("quote", quote), has_header


def _timestamp(t: _dt.datetime | str | None) -> str | None:
    if t is None or isinstance(t, str):
        return t
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None or t.utcoffset() is None:
            raise UsageError("timestamp must be timezone-aware (e.g. datetime.now(timezone.utc))")
        return t.isoformat()
    raise TypeError(f"timestamp must be a datetime or an RFC 3339 string, not {type(t).__name__}")


def _write(
    dir: StrPath,
    target: tuple[str, str | None] | str,
    source: Any,
    *,
    header: Sequence[str] | None,
    format: str,
    schema: Schema,
    start_seq: int,
    replace: bool,
    dialect: tuple[int | None, int | None, bool | None] = (None, None, None),
    encoding: str = "utf-8",
    backup_dir: StrPath | None,
    keep: int | None,
    wait: Seconds,
    timeout: Seconds,
    continue_series: bool,
    limits: tuple[int, int, int, int, int, int],
    sign_key: StrPath | None = None,
    object: tuple[str | None, float | None] | None = None,
) -> Path | str:
    """A write to the policy's name ``(base, timestamp)`` or to a file name."""
    if format not in ("csv", "jsonl"):
        raise UsageError(f"format={format!r}: must be 'csv' or 'jsonl'")
    if isinstance(start_seq, bool) or not isinstance(start_seq, int):
        raise TypeError(f"start_seq must be an int, not {type(start_seq).__name__}")
    if not 1 <= start_seq <= 2**64 - 1:
        raise UsageError(f"start_seq={start_seq}: must be between 1 and 2^64-1")
    if (backup_dir is not None or keep is not None) and not replace:
        raise UsageError("backup_dir= and keep= go with replace=True")
    if replace and continue_series:
        raise UsageError("replace=True and continue_series=True do not go together")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
        raise UsageError(f"keep={keep!r}: must be an int of at least 1")
    timeout_secs = _seconds("timeout", timeout)
    if timeout_secs == 0:
        raise UsageError("timeout=0: must be more than zero")
    if sign_key is not None and not isinstance(sign_key, (str, os.PathLike)):
        raise TypeError(f"sign_key must be a path to a secret key file, not {type(sign_key).__name__}")
    schema_arg = _schema(schema)
    kind, src, label = _source(source)
    if kind == "arrow":
        if header is not None or format != "csv":
            raise UsageError("a frame names its own columns and is not a file: no header= or format=")
        src, label = _frames.frame_source(source, None if schema_arg is None else schema_arg[1])
    try:
        path, *_summary, warnings = _native.write(
            os.fspath(dir),
            target,
            kind,
            src,
            label,
            format=format,
            header=None if header is None else _strings("header", header),
            dialect=dialect,
            encoding=encoding,
            schema_arg=schema_arg,
            start_seq=start_seq,
            replace=bool(replace),
            backup_dir=None if backup_dir is None else os.fspath(backup_dir),
            keep=keep,
            wait_secs=_seconds("wait", wait),
            timeout_secs=timeout_secs,
            continue_series=bool(continue_series),
            limits=limits,
            sign_key=None if sign_key is None else os.fspath(sign_key),
            object=object,
        )
    except _native.NativeError as e:
        raise from_native(e) from None
    # As the CLI prints them on stderr: e.g. rows the policy's own Python
    # validator would reject (a field with a CR, a field over 131072 chars).
    for w in warnings:
        _logger.warning("%s: %s", path, w)
    return path if _is_object(path) else Path(path)


def _source(source: Any) -> tuple[str, Any, str]:
    """(kind, object, label) for the extension."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return ("path", path, path)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return ("bytes", source if isinstance(source, bytes) else bytes(source), "<bytes>")
    if _frames.is_frame(source):
        return ("arrow", source, "<frame>")
    if hasattr(source, "read"):
        return ("file", source, str(getattr(source, "name", "<file object>")))
    if isinstance(source, Iterable):
        return ("rows", source, "<rows>")
    raise TypeError(
        "write() takes a CSV path, bytes, a binary file object, an iterable of rows or a "
        "frame (pandas, polars, pyarrow, any Arrow C stream), "
        f"not {type(source).__name__}"
    )


__all__ = ["verify", "verify_series", "write", "row_checksum", "CsvsealError"]
