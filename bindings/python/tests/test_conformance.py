"""Every conformance case through the Python package: the report's
to_json() equals expected.json byte for byte, from a path, from bytes and
from a binary file object. A signed case (one with keys.pub) is checked
with public_key= that file: from a path the library reads
input.csv.minisig itself; from bytes and file objects its text is passed
as signature= (None when the case has none: the missing signature)."""

from __future__ import annotations

import io

import pytest

import csvseal
from conftest import case_args, case_dirs

CASES = case_dirs()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_gives_the_expected_report(case):
    schema, options = case_args(case)
    expected = (case / "expected.json").read_bytes()
    data = (case / "input.csv").read_bytes()
    signed = {}
    if (case / "keys.pub").exists():
        options = dict(options, public_key=case / "keys.pub")
        sig = case / "input.csv.minisig"
        signed = {"signature": sig.read_bytes() if sig.exists() else None, "file_name": "input.csv"}
    from_path = csvseal.verify(case / "input.csv", schema, **options)
    assert from_path.to_json().encode("utf-8") == expected
    assert csvseal.Report.from_json(expected.decode("utf-8")) == from_path
    assert csvseal.verify(data, schema, **options, **signed).to_json().encode("utf-8") == expected
    # A file object that returns short reads: chunking never changes a report.
    class Trickle(io.RawIOBase):
        def __init__(self, data):
            self.data, self.pos = data, 0

        def readable(self):
            return True

        def read(self, n=-1):
            chunk = self.data[self.pos : self.pos + min(n if n >= 0 else len(self.data), 7777)]
            self.pos += len(chunk)
            return chunk

    got = csvseal.verify(Trickle(data), schema, **options, **signed)
    assert got.to_json().encode("utf-8") == expected


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_valid_for_csvseal_is_valid_for_the_policy(case, policy):
    """csvseal is the policy and more: whatever it accepts (without a schema
    or limits), the policy's own validator accepts too."""
    schema, options = case_args(case)
    if schema or options:
        pytest.skip("schema and limits are not in the policy")
    if csvseal.verify(case / "input.csv").valid:
        assert policy.validate_csv_integrity(str(case / "input.csv"))


def test_typed_attributes_match_the_json():
    r = csvseal.verify(next(c for c in CASES if c.name == "mixed-errors") / "input.csv")
    assert (r.valid, r.rows, r.first_seq, r.last_seq, r.error_count) == (False, 8, 1, 8, 3)
    assert [e.kind for e in r.errors] == [
        csvseal.ErrorKind.MALFORMED,
        csvseal.ErrorKind.CHECKSUM_MISMATCH,
        csvseal.ErrorKind.SEQUENCE_VIOLATION,
    ]
    assert [(e.line, e.seq, e.column) for e in r.errors] == [
        (3, None, None),
        (5, 4, "checksum_sha256"),
        (7, 3, "file_seq"),
    ]
    assert [(g.after, g.next, g.missing) for g in r.gaps] == [(1, 3, 1), (5, 7, 1)]
    assert str(r.errors[2]) == "line 7: sequence-violation (seq 3) [file_seq]: file_seq 3 is not greater than previous 5"
    assert not r
    assert csvseal.Report.from_json(r.to_json()) == r


def test_the_signed_cases_are_all_there():
    """Each outcome of a signature check is in the suite, so the runner
    above holds every one to the CLI's bytes."""
    signed = {c.name: c for c in CASES if (c / "keys.pub").exists()}
    assert len(signed) >= 7, sorted(signed)
    statuses = {
        csvseal.verify(c / "input.csv", public_key=c / "keys.pub").signature.status for c in signed.values()
    }
    S = csvseal.SignatureStatus
    assert statuses == {S.VALID, S.INVALID, S.UNKNOWN_KEY, S.MISSING}, statuses
