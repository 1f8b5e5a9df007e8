"""Verification reports: typed, immutable, and convertible to the canonical
JSON every csvseal host gives for the same file (tests/conformance/README.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any



def _location(p: str) -> Any:
    """A local path as a ``Path``; an ``s3://`` URL stays a ``str`` (a
    ``Path`` would fold its ``//``)."""
    return p if p.startswith("s3://") else Path(p)

class ErrorKind(str, Enum):
    """Why a record (or the file) failed. The values are the stable names of
    the CLI's ``--json`` output and docs/file-format.md's table."""

    MALFORMED = "malformed"
    ENCODING = "encoding"
    BAD_HEADER = "bad-header"
    MISSING_COLUMN = "missing-column"
    CHECKSUM_MISMATCH = "checksum-mismatch"
    SEQUENCE_VIOLATION = "sequence-violation"
    SCHEMA = "schema"
    TORN_ROW = "torn-row"
    LIMIT = "limit"
    SIGNATURE_MISSING = "signature-missing"
    """``public_key=`` given, and the file has no signature."""
    SIGNATURE_INVALID = "signature-invalid"
    """The signature does not verify for these bytes, is malformed, or its
    signed claims (name, rows, ``file_seq`` range) do not match the file."""
    UNKNOWN_KEY = "unknown-key"
    """Signed by a key that is not among ``public_key=``."""
    CHAIN_BROKEN = "chain-broken"
    """``verify_series(public_key=...)``: a file's signed link to the file
    before it does not match (a file deleted, inserted, reordered, renamed
    or swapped)."""

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


class SignatureStatus(str, Enum):
    """The outcome of a signature check."""

    VALID = "valid"
    """Made by a listed key over exactly these bytes; csvseal's claims, if
    any, match the file."""
    MISSING = "missing"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown-key"
    INVALID = "invalid"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ChainLink:
    """The file before this one in its series, as the signature names it."""

    file_name: str
    blake2b: str
    """BLAKE2b-512 of its bytes, lowercase hex (what ``b2sum`` prints)."""

    def to_dict(self) -> dict[str, Any]:
        return {"file_name": self.file_name, "blake2b": self.blake2b}


@dataclass(frozen=True)
class SignedClaims:
    """What a csvseal signature's trusted comment states about its file
    (authenticated by the signature)."""

    file_name: str
    rows: int
    first_seq: int | None
    last_seq: int | None
    blake2b: str
    """BLAKE2b-512 of the file's bytes, lowercase hex."""
    previous: ChainLink | None
    """None for a series' first file."""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SignedClaims:
        prev = d["previous"]
        return cls(
            file_name=d["file_name"],
            rows=d["rows"],
            first_seq=d["first_seq"],
            last_seq=d["last_seq"],
            blake2b=d["blake2b"],
            previous=None if prev is None else ChainLink(prev["file_name"], prev["blake2b"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name,
            "rows": self.rows,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "blake2b": self.blake2b,
            "previous": None if self.previous is None else self.previous.to_dict(),
        }


@dataclass(frozen=True)
class SignatureReport:
    """A file's signature check (``verify(..., public_key=...)``)."""

    status: SignatureStatus
    key_id: str | None
    """The signing key's ID: 16 uppercase hex digits, as minisign prints it."""
    claims: SignedClaims | None
    """csvseal's claims; None for a plain minisign signature (no chain data)
    and when the signature could not be authenticated."""
    blake2b: str | None
    """BLAKE2b-512 of the bytes checked (None when missing)."""
    message: str
    """Why, when not valid; empty when valid."""

    @property
    def valid(self) -> bool:
        return self.status is SignatureStatus.VALID

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SignatureReport:
        claims = d["claims"]
        return cls(
            status=SignatureStatus(d["status"]),
            key_id=d["key_id"],
            claims=None if claims is None else SignedClaims.from_dict(claims),
            blake2b=d["blake2b"],
            message=d["message"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "key_id": self.key_id,
            "claims": None if self.claims is None else self.claims.to_dict(),
            "blake2b": self.blake2b,
            "message": self.message,
        }


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
    signature: SignatureReport | None = None
    """The signature check, when ``public_key=`` was given."""

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
            signature=None if d.get("signature") is None else SignatureReport.from_dict(d["signature"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON values, with the CLI's field presence
        (``signature`` only when a signature was checked)."""
        d = {
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
        if self.signature is not None:
            d["signature"] = self.signature.to_dict()
        return d

    def to_json(self) -> str:
        """The canonical JSON: byte for byte what every csvseal host gives
        for this file (keys sorted, no spaces, UTF-8 kept, a final newline)."""
        return (
            json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            + "\n"
        )


@dataclass(frozen=True)
class Seam:
    """Two consecutive files of a series: ``after`` starts at ``first``,
    ``before`` ended at ``last``."""

    before: Path
    after: Path
    last: int
    first: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Seam:
        return cls(_location(d["before"]), _location(d["after"]), d["last"], d["first"])

    def to_dict(self) -> dict[str, Any]:
        return {"before": str(self.before), "after": str(self.after), "last": self.last, "first": self.first}


@dataclass(frozen=True)
class SeriesReport:
    """The result of verifying a series (``verify_series``): every file's
    own report in name order, the seams between files and, with
    ``public_key=``, each file's signature and the chain of signed links
    (a broken link is a ``chain-broken`` error on the file after it)."""

    valid: bool
    files: tuple[tuple[Path, Report], ...]
    unreadable: tuple[tuple[Path, str], ...]
    """Files that could not be read, with why."""
    overlaps: tuple[Seam, ...]
    """A file starting at or below the last ``file_seq`` of the one before
    (an error)."""
    gaps: tuple[Seam, ...]
    """A jump in ``file_seq`` between two files (a warning)."""

    def __bool__(self) -> bool:
        return self.valid

    @classmethod
    def from_json(cls, text: str) -> SeriesReport:
        d = json.loads(text)
        files = []
        for f in d["files"]:
            f = dict(f)
            path = _location(f.pop("path"))
            files.append((path, Report.from_json(json.dumps(f))))
        return cls(
            valid=d["valid"],
            files=tuple(files),
            unreadable=tuple((_location(p), why) for p, why in d["unreadable"]),
            overlaps=tuple(Seam.from_dict(s) for s in d["overlaps"]),
            gaps=tuple(Seam.from_dict(s) for s in d["gaps"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """As ``csvseal verify --series --json`` prints it."""
        return {
            "valid": self.valid,
            "files": [dict(r.to_dict(), path=str(p)) for p, r in self.files],
            "unreadable": [[str(p), why] for p, why in self.unreadable],
            "overlaps": [s.to_dict() for s in self.overlaps],
            "gaps": [s.to_dict() for s in self.gaps],
        }

    def to_json(self) -> str:
        """The report as canonical JSON (keys sorted, no spaces, a final
        newline): the CLI's ``--json`` document, compactly written."""
        return (
            json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            + "\n"
        )
