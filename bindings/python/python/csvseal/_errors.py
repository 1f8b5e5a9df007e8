"""csvseal's typed exceptions. Each has ``kind``, the stable error class the
CLI's ``--json`` output uses, and derives from the built-in exception a
Python caller would expect where there is one (``OSError``,
``FileExistsError``, ``ValueError``, ``TimeoutError``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._report import Report, RowError


class CsvsealError(Exception):
    """Base of every csvseal error."""

    kind: str = "error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return self.message


def _path(details: dict[str, Any]) -> Path | None:
    p = details.get("path")
    return Path(p) if p is not None else None


class IoError(CsvsealError, OSError):
    """A file operation failed. ``errno``, ``filename`` (the path) and
    ``op`` (what csvseal was doing: "open", "fsync", ...) say which."""

    kind = "io"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.errno = self.details.get("errno")
        self.strerror = self.details.get("os_error")
        self.filename = self.details.get("path")
        self.op: str | None = self.details.get("op")
        self.path = _path(self.details)

    def __str__(self) -> str:
        return self.message


class UsageError(CsvsealError, ValueError):
    """An argument is unusable (a bad name, limit or option)."""

    kind = "usage"


class SchemaError(CsvsealError, ValueError):
    """The schema could not be read or understood."""

    kind = "schema"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.path = _path(self.details)
        self.reason: str | None = self.details.get("reason")


class TargetExistsError(CsvsealError, FileExistsError):
    """The target already exists; it was left untouched."""

    kind = "target-exists"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.path = _path(self.details)
        self.filename = self.details.get("path")

    def __str__(self) -> str:
        return self.message


class BusyError(CsvsealError):
    """Another writer is writing this target (or series) now; retry, or pass
    ``wait=`` to wait for it."""

    kind = "busy"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.path = _path(self.details)


class InvalidInputError(CsvsealError):
    """The input broke the rules (format, schema); nothing was written.
    ``errors`` are the first problems, each with line, kind, seq, column."""

    kind = "input-rejected"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.errors: tuple[RowError, ...] = tuple(
            RowError.from_dict(e) for e in self.details.get("errors", [])
        )
        self.error_count: int = self.details.get("error_count", len(self.errors))
        self.errors_truncated: bool = self.details.get("errors_truncated", False)
        self.input: str | None = self.details.get("input")

    def __str__(self) -> str:
        shown = self.errors[:10]
        lines = [self.message] + [f"  {e.located(self.input or '<input>')}" for e in shown]
        if self.error_count > len(shown):
            lines.append(f"  … and {self.error_count - len(shown)} more")
        return "\n".join(lines)


class _WithReport(CsvsealError):
    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.path = _path(self.details)
        text = self.details.get("report")
        self.report: Report | None = Report.from_json(text) if text else None


class WrittenFileInvalidError(_WithReport):
    """The freshly written temp file did not verify; it was removed and
    nothing was committed. ``report`` says why."""

    kind = "written-file-invalid"


class SourceInvalidError(_WithReport):
    """With ``replace=True``: the existing file does not verify, so no backup
    was made and nothing was replaced. ``report`` says why."""

    kind = "source-invalid"


class FileInvalidError(_WithReport):
    """``read()``: the file does not verify, so no row of it was returned.
    ``report`` says why (the report ``verify()`` gives)."""

    kind = "file-invalid"

    def __str__(self) -> str:
        if self.report is None:
            return self.message
        shown = [f"  {e}" for e in self.report.errors[:10]]
        more = self.report.error_count - len(shown)
        tail = [f"  … and {more} more"] if more > 0 else []
        return "\n".join([self.message, *shown, *tail])


class NoGoodBackupError(CsvsealError):
    """No backup matches its manifest and verifies."""

    kind = "no-good-backup"


class WriteTimeoutError(CsvsealError, TimeoutError):
    """The write passed its ``timeout=`` and was abandoned: temp file
    removed, target untouched. ``step`` is what it was doing."""

    kind = "timeout"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.path = _path(self.details)
        self.step: str | None = self.details.get("step")

    def __str__(self) -> str:
        return self.message


class LimitError(CsvsealError):
    """The sandboxed component hit a resource limit (``limit``: "memory",
    "cpu", "output", "table" or "instances"); the call was stopped."""

    kind = "limit"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.limit: str | None = self.details.get("limit")


class SandboxError(CsvsealError):
    """The sandboxed component failed (a trap, or a bad component)."""

    kind = "sandbox"


_BY_KIND: dict[str, type[CsvsealError]] = {
    cls.kind: cls
    for cls in (
        IoError,
        UsageError,
        SchemaError,
        TargetExistsError,
        BusyError,
        InvalidInputError,
        WrittenFileInvalidError,
        SourceInvalidError,
        FileInvalidError,
        NoGoodBackupError,
        WriteTimeoutError,
        LimitError,
        SandboxError,
    )
}


def from_native(e: BaseException) -> CsvsealError:
    """The typed exception for the extension's ``NativeError(kind, message,
    details JSON)``."""
    kind, message, details = e.args
    cls = _BY_KIND.get(kind, CsvsealError)
    err = cls(message, json.loads(details))
    if cls is CsvsealError:
        err.kind = kind
    return err
