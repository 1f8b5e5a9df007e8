# Stubs for the extension module (bindings/python/src/lib.rs). Not public:
# use the typed API in csvseal/__init__.py.
from typing import IO, Any

_Limits = tuple[int, int, int, int, int, int]
_SchemaArg = tuple[str, str] | None
# (public key or keyring file paths, key texts)
_KeysArg = tuple[list[str], list[str]] | None
# (keys, the .minisig text or None when missing, the signed file's name)
_SignatureArg = tuple[_KeysArg, str | None, str | None]

class NativeError(Exception):
    args: tuple[str, str, str]

CHUNK_SIZE: int
SIGNATURE_FILE_LIMIT: int
KEY_TEXT_LIMIT: int
DEFAULT_LIMITS: _Limits

def verify_path(
    path: str, schema_arg: _SchemaArg, limits: _Limits, keys: _KeysArg = None, object: _ObjectArg = None
) -> str: ...
def verify_bytes(
    data: bytes, label: str, schema_arg: _SchemaArg, limits: _Limits, signature: _SignatureArg = ...
) -> str: ...
def verify_file_object(
    file: IO[bytes], label: str, schema_arg: _SchemaArg, limits: _Limits, signature: _SignatureArg = ...
) -> str: ...
def verify_series(
    dir: str, base: str, schema_arg: _SchemaArg, limits: _Limits, keys: _KeysArg = None,
    object: _ObjectArg = None,
) -> str: ...
def row_checksum(header: list[str], fields: list[str], limits: _Limits) -> str: ...
def write(
    dir: str,
    target: tuple[str, str | None] | str,
    source_kind: str,
    source: Any,
    label: str,
    *,
    format: str,
    header: list[str] | None,
    dialect: tuple[int | None, int | None, bool | None],
    encoding: str,
    schema_arg: _SchemaArg,
    start_seq: int,
    replace: bool,
    backup_dir: str | None,
    keep: int | None,
    wait_secs: float | None,
    timeout_secs: float | None,
    continue_series: bool,
    limits: _Limits,
    sign_key: str | None = None,
    object: _ObjectArg = None,
) -> tuple[str, int, int | None, int | None, int, list[str]]: ...

# s3:// locations: (endpoint, retry timeout secs) or None (the CLI's defaults).
_ObjectArg = tuple[str | None, float | None] | None
# csvseal.dask: (name, path or URL, size, identity JSON or None)
_Task = tuple[str, str, int, str | None]

def verify_task(
    location: str, k: int, n: int, identity: str | None, schema_arg: _SchemaArg, limits: _Limits,
    object: _ObjectArg = None,
) -> str: ...
def merge_parts(parts: list[str], limits: _Limits) -> str | None: ...
def fanout_audit(
    location: str, run: Any, schema_arg: _SchemaArg, limits: _Limits,
    opts: tuple[float, str | None, str | None, bool, float, int | None], object: _ObjectArg = None,
) -> str: ...
def fanout_series(location: str, base: str, run: Any, object: _ObjectArg = None) -> str: ...
class ArrowStream:
    """Record batches, exported once through the Arrow C stream interface."""

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any: ...

def read_path(
    path: str,
    schema_arg: _SchemaArg,
    limits: _Limits,
    *,
    keep_checksum: bool,
    decimal_scale: int | None,
    datetime_unit: str,
    batch_rows: int,
    streaming: bool,
    object: _ObjectArg = None,
) -> tuple[str, ArrowStream | None]: ...
