# Stubs for the extension module (bindings/python/src/lib.rs). Not public:
# use the typed API in csvseal/__init__.py.
from typing import IO, Any

_Limits = tuple[int, int, int, int, int, int]
_SchemaArg = tuple[str, str] | None

class NativeError(Exception):
    args: tuple[str, str, str]

CHUNK_SIZE: int
DEFAULT_LIMITS: _Limits

def verify_path(path: str, schema_arg: _SchemaArg, limits: _Limits) -> str: ...
def verify_bytes(data: bytes, label: str, schema_arg: _SchemaArg, limits: _Limits) -> str: ...
def verify_file_object(file: IO[bytes], label: str, schema_arg: _SchemaArg, limits: _Limits) -> str: ...
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
) -> tuple[str, int, int | None, int | None, int]: ...
