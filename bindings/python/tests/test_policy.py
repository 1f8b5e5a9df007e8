"""The drop-in functions against the policy's own Python, both ways: the
same checksums, the same bytes, and files each side writes validate on the
other. `policy_csv.py` is the policy's writer and validator as the CLI's
compatibility tests use them; the policy document's own code blocks are run
too, where the document is found."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

import csvseal
from conftest import REPO

HEADERS = ["timestamp", "trade_id", "symbol", "profit_loss", "note"]
CORPUS = [
    {"timestamp": "2024-09-10T14:30:00Z", "trade_id": "TRADE_20240910_001", "symbol": "EURUSD",
     "profit_loss": 25.00, "note": "plain"},
    {"timestamp": "2024-09-10T14:30:05Z", "trade_id": "T|2", "symbol": "a|b|", "profit_loss": -12.5,
     "note": "|"},
    {"timestamp": "x", "trade_id": 'quote "q"', "symbol": "a,b", "profit_loss": 1e-7, "note": '""'},
    {"timestamp": "y", "trade_id": "lf\nline", "symbol": "crlf\r\nline", "profit_loss": 0.1 + 0.2,
     "note": "cr\rhere"},
    {"timestamp": "z", "trade_id": "café", "symbol": "日本語", "profit_loss": float("inf"), "note": "😀 \u2028"},
    {"timestamp": " lead", "trade_id": "trail ", "symbol": "", "profit_loss": 3, "note": True},
    {"timestamp": "big", "trade_id": 10**30, "symbol": "\t", "profit_loss": -0.0, "note": 1.0},
]
WITH_NONE = {"timestamp": None, "trade_id": "N", "symbol": "EURUSD", "profit_loss": None, "note": None}


def sealed_rows(rows, start=1):
    """The rows as the policy's writer seals them: file_seq added."""
    return [{"file_seq": start + i, **row} for i, row in enumerate(rows)]


@pytest.mark.parametrize("row", sealed_rows(CORPUS + [WITH_NONE]))
def test_checksums_equal_the_policy_s_and_the_component_s(policy, row):
    ours = csvseal.compute_row_checksum(row)
    assert ours == policy.compute_row_checksum(row)
    header = list(row) + ["checksum_sha256"]
    assert ours == csvseal.row_checksum(header, [str(v) for v in row.values()] + [""])
    # exclude_column works as in the policy, and the stored checksum is ignored.
    assert csvseal.compute_row_checksum({**row, "checksum_sha256": "x"}) == ours
    assert csvseal.compute_row_checksum(row, "symbol") == policy.compute_row_checksum(row, "symbol")


def test_the_same_rows_give_the_same_bytes_and_validate_both_ways(policy, tmp_path):
    theirs, ours = tmp_path / "policy.csv", tmp_path / "csvseal.csv"
    policy.atomic_csv_write(str(theirs), CORPUS, HEADERS, start_seq=7)
    csvseal.atomic_csv_write(str(ours), CORPUS, HEADERS, start_seq=7)
    assert ours.read_bytes() == theirs.read_bytes()
    for f in (theirs, ours):
        assert policy.validate_csv_integrity(str(f))
        assert csvseal.validate_csv_integrity(str(f))
        assert csvseal.verify(f).rows == len(CORPUS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csvseal.csv", "policy.csv"]


def test_switching_the_import_is_enough(policy, tmp_path):
    """Policy-style service code, run with either module's three functions."""

    def service(m, target):
        rows = [dict(r) for r in CORPUS[:3]]
        m.atomic_csv_write(target, rows, HEADERS)
        assert m.validate_csv_integrity(target)
        return m.compute_row_checksum({"file_seq": 1, **CORPUS[0]})

    a = service(policy, str(tmp_path / "a.csv"))
    b = service(csvseal, str(tmp_path / "b.csv"))
    assert a == b
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_none_is_an_empty_field_that_verifies(policy, tmp_path):
    """The policy's writer checksums None as "None" but writes "": a file its
    own validator rejects. csvseal writes the empty field and checksums it."""
    theirs, ours = tmp_path / "p.csv", tmp_path / "c.csv"
    policy.atomic_csv_write(str(theirs), [WITH_NONE], HEADERS)
    assert not policy.validate_csv_integrity(str(theirs))
    csvseal.atomic_csv_write(ours, [WITH_NONE], HEADERS)
    assert ours.read_bytes().split(b"\r\n")[1].startswith(b"1,,N,EURUSD,,,")
    assert policy.validate_csv_integrity(str(ours)) and csvseal.validate_csv_integrity(ours)


def test_atomic_csv_write_refuses_what_would_not_validate(policy, tmp_path):
    target = tmp_path / "t.csv"
    with pytest.raises(csvseal.InvalidInputError):
        csvseal.atomic_csv_write(target, [{**CORPUS[0], "extra": 1}], HEADERS)
    with pytest.raises(csvseal.InvalidInputError):
        csvseal.atomic_csv_write(target, [{"timestamp": "x"}], HEADERS)
    assert list(tmp_path.iterdir()) == []
    csvseal.atomic_csv_write(target, CORPUS[:1], HEADERS)
    with pytest.raises(FileExistsError):  # like policy_csv.py's writer
        csvseal.atomic_csv_write(target, CORPUS[1:2], HEADERS)
    assert csvseal.verify(target).rows == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_validate_logs_why_and_returns_false(tmp_path, caplog):
    bad = tmp_path / "bad.csv"
    good = tmp_path / "good.csv"
    csvseal.atomic_csv_write(good, CORPUS[:2], HEADERS)
    bad.write_bytes(good.read_bytes().replace(b"EURUSD", b"EURUSX"))
    with caplog.at_level(logging.ERROR, logger="csvseal"):
        assert csvseal.validate_csv_integrity(bad) is False
        assert csvseal.validate_csv_integrity(tmp_path / "missing.csv") is False
        torn = tmp_path / "torn.csv"
        torn.write_bytes(good.read_bytes()[:-2])
        assert csvseal.validate_csv_integrity(torn) is False
    text = caplog.text
    assert "CSV integrity validation failed" in text and "checksum-mismatch" in text
    assert "torn-row" in text and "No such file" in text
    assert csvseal.validate_csv_integrity(good) is True


def policy_document() -> Path | None:
    for base in [REPO, *REPO.parents]:
        p = base / "shared" / "policy" / "csv-atomic-write-policy.md"
        if p.exists():
            return p
    return None


VERBATIM = REPO / "tests" / "python" / "policy_document.py"
MARK_START = "# --- verbatim from the policy document ---\n"
MARK_END = "# --- end verbatim ---"


def test_the_verbatim_copy_is_the_policy_document_s_code():
    doc = policy_document()
    if doc is None:
        pytest.skip("shared/policy/csv-atomic-write-policy.md not found beside the repository")
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)
    code = "\n".join(b for b in blocks if "def compute_row_checksum" in b or "def validate_csv_integrity" in b)
    copy = VERBATIM.read_text()
    copied = copy.split(MARK_START, 1)[1].split(MARK_END, 1)[0]
    assert copied == code


def policy_validates(path: Path) -> bool:
    """The policy's `validate_csv_integrity`, verbatim, in a fresh Python on
    a UTF-8 locale (`-X utf8`: the document opens files in the locale's
    encoding)."""
    import subprocess
    import sys

    code = (
        "import csv, hashlib, sys\n"
        f"exec(open({str(VERBATIM)!r}).read())\n"
        f"sys.exit(0 if validate_csv_integrity({str(path)!r}) else 1)\n"
    )
    r = subprocess.run([sys.executable, "-X", "utf8", "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode == 0


def test_the_policy_s_own_code_agrees_on_every_row_csvseal_does_not_warn_about(tmp_path, caplog):
    """Both ways, with the document's code verbatim: rows csvseal seals
    without a warning validate with the policy's own validator; the two
    kinds it warns about (a field with CR, a field over 131072 characters)
    are exactly the ones that validator rejects. No row is left out."""
    ns = {}
    exec(compile("import csv, hashlib\n" + VERBATIM.read_text(), str(VERBATIM), "exec"), ns)
    for row in sealed_rows(CORPUS + [WITH_NONE]):
        assert ns["compute_row_checksum"](row) == csvseal.compute_row_checksum(row)

    def has_cr(row):
        return "\r" in "".join(map(str, row.values()))

    at_limit = {**CORPUS[0], "note": "é" * 131072}
    over_limit = {**CORPUS[0], "note": "x" * 131073}
    cases = [(f"row{i}", [r], has_cr(r)) for i, r in enumerate(CORPUS + [WITH_NONE])]
    cases += [("at-limit", [at_limit], False), ("over-limit", [over_limit], True), ("all", CORPUS, True)]
    for name, rows, warned in cases:
        target = tmp_path / f"{name}.csv"
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="csvseal"):
            csvseal.atomic_csv_write(target, rows, HEADERS)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert bool(warnings) == warned, (name, warnings)
        if warned and name != "over-limit":
            assert "carriage return" in warnings[0], warnings
        if name == "over-limit":
            assert "over 131072 characters" in warnings[0], warnings
        assert csvseal.validate_csv_integrity(target) is True
        assert policy_validates(target) is (not warned), name
    tampered = tmp_path / "tampered.csv"
    tampered.write_bytes((tmp_path / "row0.csv").read_bytes().replace(b"EURUSD", b"EURUSX"))
    assert policy_validates(tampered) is False


def test_atomic_csv_write_takes_any_name_whose_temp_fits(tmp_path):
    """Longer than a base name may be (200 bytes), as long as `{name}.tmp`
    fits in a directory entry (255 bytes)."""
    long = tmp_path / ("t" * 247 + ".csv")
    csvseal.atomic_csv_write(long, CORPUS[:1], HEADERS)
    assert csvseal.validate_csv_integrity(long)
    with pytest.raises(csvseal.UsageError, match="longer than 251 bytes"):
        csvseal.atomic_csv_write(tmp_path / ("t" * 248 + ".csv"), CORPUS[:1], HEADERS)


@pytest.mark.parametrize("name", ["x.tmp", "x.csv.tmp", "notes.txt"])
def test_atomic_csv_write_refuses_names_recover_could_not_tell_from_a_user_s(tmp_path, name):
    """csvseal commits only `*.csv`, so its temps are exactly `*.csv.tmp`,
    and `recover` never removes a user's `x.tmp`."""
    with pytest.raises(csvseal.UsageError, match=r'must end in "\.csv"'):
        csvseal.atomic_csv_write(tmp_path / name, CORPUS[:1], HEADERS)
    assert list(tmp_path.iterdir()) == []
