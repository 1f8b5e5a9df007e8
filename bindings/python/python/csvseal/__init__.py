"""csvseal: write and verify CSV files that must never be torn, silently
corrupted or overwritten.

Every row carries ``file_seq`` (strictly increasing) and ``checksum_sha256``
(the CSV atomic write policy's per-row SHA-256). The checks run in csvseal's
sandboxed WebAssembly component; files are written atomically by csvseal's
host library, the code behind the ``csvseal`` CLI.

>>> import csvseal
>>> path = csvseal.write("out", "trades", [{"symbol": "EURUSD", "profit_loss": 25.0}])
>>> csvseal.verify(path).valid
True
"""

from ._api import row_checksum, verify, verify_series, write
from ._read import read, read_batches
from ._errors import (
    BusyError,
    CsvsealError,
    FileInvalidError,
    InvalidInputError,
    IoError,
    LimitError,
    NoGoodBackupError,
    SandboxError,
    SchemaError,
    SourceInvalidError,
    TargetExistsError,
    UsageError,
    WriteTimeoutError,
    WrittenFileInvalidError,
)
from ._report import (
    ChainLink,
    ErrorKind,
    Report,
    RowError,
    Seam,
    SeqGap,
    SeriesReport,
    SignatureReport,
    SignatureStatus,
    SignedClaims,
)
from .policy import atomic_csv_write, compute_row_checksum, validate_csv_integrity

try:
    from importlib.metadata import version as _version

    __version__ = _version("csvseal")
except Exception:  # not installed (e.g. run from a build tree)
    __version__ = "unknown"

__all__ = [
    "verify",
    "verify_series",
    "write",
    "read",
    "read_batches",
    "row_checksum",
    "Report",
    "RowError",
    "SeqGap",
    "ErrorKind",
    "SignatureReport",
    "SignatureStatus",
    "SignedClaims",
    "ChainLink",
    "SeriesReport",
    "Seam",
    "CsvsealError",
    "IoError",
    "UsageError",
    "SchemaError",
    "TargetExistsError",
    "BusyError",
    "InvalidInputError",
    "WrittenFileInvalidError",
    "SourceInvalidError",
    "FileInvalidError",
    "NoGoodBackupError",
    "WriteTimeoutError",
    "LimitError",
    "SandboxError",
    "compute_row_checksum",
    "atomic_csv_write",
    "validate_csv_integrity",
]
