"""Drop-in replacements for the CSV atomic write policy's functions, with
the policy's exact signatures: code that follows the policy switches to
csvseal by changing one import::

    from csvseal import compute_row_checksum, atomic_csv_write, validate_csv_integrity

Files are interchangeable both ways: a file either side writes verifies on
the other, and for the same rows csvseal writes the same bytes as the
policy's writer (``csv.writer``'s default dialect).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from . import _native
from ._api import StrPath, _write, verify
from ._errors import CsvsealError

logger = logging.getLogger("csvseal")


def compute_row_checksum(row_data: Dict[str, Any], exclude_column: str = "checksum_sha256") -> str:
    """The policy's checksum, exactly: ``str()`` of every value but the
    excluded column's, ordered by key, joined with ``|``, SHA-256 of the
    UTF-8, lowercase hex. (``None`` counts as ``"None"`` here, as in the
    policy.)"""
    ordered_values = [str(value) for key, value in sorted(row_data.items()) if key != exclude_column]
    return hashlib.sha256("|".join(ordered_values).encode("utf-8")).hexdigest()


def atomic_csv_write(
    target_path: StrPath,
    data: List[Dict[str, Any]],
    headers: List[str],
    start_seq: int = 1,
    *,
    sign_key: Optional[StrPath] = None,
) -> None:
    """The policy's atomic write of ``data`` (dicts) to ``target_path``, done
    by csvseal: columns ``file_seq``, ``headers``, ``checksum_sha256``;
    ``file_seq`` from ``start_seq``; values as ``str(value)``.

    Beyond the policy: the temp file ``{target}.tmp`` is locked against a
    concurrent writer (``BusyError``), the written file is verified before
    the rename, an existing target is never replaced (``TargetExistsError``,
    a ``FileExistsError``), the directory is fsynced, and a failure leaves
    no temp file. Where the policy's own writer would write a file its own
    validator rejects, this raises ``InvalidInputError`` instead: a row
    whose keys are not exactly ``headers``. ``None`` is written as an empty
    field (as ``csv.writer`` writes it) and checksummed as such.

    Beyond the policy's signature, keyword only: ``sign_key=`` signs the
    file as ``write(..., sign_key=)`` does (``TARGET.minisig``, committed
    first).
    """
    target = Path(os.fspath(target_path))
    _write(
        target.parent,
        target.name,
        data,
        header=list(headers),
        format="csv",
        schema=None,
        start_seq=start_seq,
        replace=False,
        backup_dir=None,
        keep=None,
        wait=None,
        timeout=None,
        continue_series=False,
        limits=_native.DEFAULT_LIMITS,
        sign_key=sign_key,
    )


def validate_csv_integrity(file_path: StrPath) -> bool:
    """The policy's validator: True if the file verifies, else logs why
    (logger ``csvseal``, level ERROR, "CSV integrity validation failed: …")
    and returns False. csvseal's checks are the policy's and more: a torn
    last row, blank lines, a non-canonical ``file_seq``, bad UTF-8 or a
    malformed record also fail."""
    try:
        report = verify(file_path)
    except (CsvsealError, OSError, TypeError, ValueError) as e:
        logger.error("CSV integrity validation failed: %s", e)
        return False
    if not report.valid:
        first = report.errors[0].located(os.fspath(file_path)) if report.errors else "invalid"
        logger.error(
            "CSV integrity validation failed: %s (%d error(s))", first, report.error_count
        )
        return False
    return True


__all__ = ["compute_row_checksum", "atomic_csv_write", "validate_csv_integrity"]
