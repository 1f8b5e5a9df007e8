"""Verification reports: typed, immutable, and convertible to the canonical
JSON every csvseal host gives for the same file (tests/conformance/README.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any


class ErrorKind(str, Enum):
    """Why a record (or the file) failed. The values are the stable names of
    the CLI's ``--json`` output and the README's table."""

    MALFORMED = "malformed"
    ENCODING = "encoding"
    BAD_HEADER = "bad-header"
    MISSING_COLUMN = "missing-column"
    CHECKSUM_MISMATCH = "checksum-mismatch"
    SEQUENCE_VIOLATION = "sequence-violation"
    SCHEMA = "schema"
    TORN_ROW = "torn-row"
    LIMIT = "limit"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RowError:
    """One problem, located by line (1-based; 0 means the whole file). For
    rows written from Python objects, ``line`` is the row's 1-based position."""

    kind: ErrorKind
    line: int
    message: str
    seq: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self._what()}"

    def located(self, where: str) -> str:
        """``where:line: kind (seq N) [column]: message``, as the CLI prints
        errors (``where`` is usually the file's name)."""
        return f"{where}:{self.line}: {self._what()}"

    def _what(self) -> str:
        s = self.kind.value
        if self.seq is not None:
            s += f" (seq {self.seq})"
        if self.column is not None:
            s += f" [{self.column}]"
        return f"{s}: {self.message}"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RowError:
        return cls(
            kind=ErrorKind(d["kind"]),
            line=d["line"],
            message=d["message"],
            seq=d.get("seq"),
            column=d.get("column"),
        )

    def to_dict(self) -> dict[str, Any]:
        """As in the CLI's JSON: ``seq`` and ``column`` only when known."""
        d: dict[str, Any] = {"kind": self.kind.value, "line": self.line, "message": self.message}
        if self.seq is not None:
            d["seq"] = self.seq
        if self.column is not None:
            d["column"] = self.column
        return d


@dataclass(frozen=True)
class SeqGap:
    """A jump in ``file_seq``: ``after`` was followed by ``next`` at ``line``."""

    line: int
    after: int
    next: int

    @property
    def missing(self) -> int:
        """How many sequence numbers are missing."""
        return self.next - self.after - 1

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "after": self.after, "next": self.next}


@dataclass(frozen=True)
class Report:
    """The result of verifying one file. ``valid`` is False when there is
    any error; gaps and warnings do not count."""

    valid: bool
    rows: int
    first_seq: int | None
    last_seq: int | None
    columns: tuple[str, ...]
    gaps: tuple[SeqGap, ...]
    gap_count: int
    errors: tuple[RowError, ...]
    error_count: int
    errors_truncated: bool
    warnings: tuple[str, ...]
    bytes: int
    """Bytes read from the file."""

    def __bool__(self) -> bool:
        return self.valid

    @classmethod
    def from_json(cls, text: str) -> Report:
        """A report from its JSON (canonical or not)."""
        d = json.loads(text)
        return cls(
            valid=d["valid"],
            rows=d["rows"],
            first_seq=d["first_seq"],
            last_seq=d["last_seq"],
            columns=tuple(d["columns"]),
            gaps=tuple(SeqGap(**g) for g in d["gaps"]),
            gap_count=d["gap_count"],
            errors=tuple(RowError.from_dict(e) for e in d["errors"]),
            error_count=d["error_count"],
            errors_truncated=d["errors_truncated"],
            warnings=tuple(d["warnings"]),
            bytes=d["bytes"],
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON values, with the CLI's field presence."""
        return {
            "valid": self.valid,
            "rows": self.rows,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "columns": list(self.columns),
            "gaps": [g.to_dict() for g in self.gaps],
            "gap_count": self.gap_count,
            "errors": [e.to_dict() for e in self.errors],
            "error_count": self.error_count,
            "errors_truncated": self.errors_truncated,
            "warnings": list(self.warnings),
            "bytes": self.bytes,
        }

    def to_json(self) -> str:
        """The canonical JSON: byte for byte what every csvseal host gives
        for this file (keys sorted, no spaces, UTF-8 kept, a final newline)."""
        return (
            json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            + "\n"
        )
