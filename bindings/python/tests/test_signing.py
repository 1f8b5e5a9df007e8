"""Signatures from Python: write(sign_key=) signs what it commits, and
verify(public_key=) / verify_series(public_key=) catch what a recomputed
row checksum hides — a tampered value, a deleted, swapped or re-sealed
file — while the secret key never shows in an exception, report or log."""

from __future__ import annotations

import base64
import csv
import io
import logging
import os
import shutil
import subprocess

import pytest

import csvseal
from conftest import REPO

KEYS = REPO / "tests" / "conformance" / "keys"
KEY_A, KEY_B = "B244E0F5702266EC", "FD187AD46DD3B4BA"
ROWS = [
    {"timestamp": "2024-09-10T14:30:00Z", "trade_id": "T1", "symbol": "EURUSD", "profit_loss": 25.0},
    {"timestamp": "2024-09-10T14:30:05Z", "trade_id": "T2", "symbol": "GBPUSD", "profit_loss": -12.5},
    {"timestamp": "2024-09-10T14:30:09Z", "trade_id": "T3", "symbol": "USDJPY", "profit_loss": 3.25},
]
S = csvseal.SignatureStatus
K = csvseal.ErrorKind


def secret_key(tmp_path, name="a", mode=0o600):
    """A copy of a committed test key with `mode` (git keeps no modes)."""
    path = tmp_path / f"{name}.key"
    shutil.copyfile(KEYS / f"{name}.key", path)
    os.chmod(path, mode)
    return path


def secret_lines(name="a"):
    """What must never show: the key's base64 line, and the seed and
    keypair inside it in base64 and hex."""
    line = (KEYS / f"{name}.key").read_text().splitlines()[1].strip()
    raw = base64.b64decode(line)
    assert len(raw) == 158 and raw[:2] == b"Ed"  # minisign's unencrypted secret key
    keypair = raw[6 + 32 + 16 + 8 : 6 + 32 + 16 + 8 + 64]
    seed = keypair[:32]
    return [line, seed.hex(), seed.hex().upper(), keypair.hex(), base64.b64encode(seed).decode()[:40]]


def tamper(path, trade_id="T2", profit_loss="-99.5"):
    """Changes one value and recomputes its row's checksum the policy's
    own way, as an attacker would: the file stays valid for the policy."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    for row in rows:
        if row["trade_id"] == trade_id:
            row["profit_loss"] = profit_loss
            row["checksum_sha256"] = csvseal.compute_row_checksum(row)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    w.writerows([r[c] for c in header] for r in rows)
    path.write_bytes(out.getvalue().encode("utf-8"))


def test_a_signed_write_verifies_with_its_key_and_only_with_it(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    path = csvseal.write(out, "trades", ROWS, timestamp="2024-09-10T14:30:00Z", sign_key=secret_key(tmp_path))
    sig = path.with_name(path.name + ".minisig")
    assert sig.exists()
    assert sorted(os.listdir(out)) == [path.name, sig.name]

    r = csvseal.verify(path, public_key=KEYS / "a.pub")
    assert r.valid and r.errors == ()
    s = r.signature
    assert (s.status, s.key_id, s.message, s.valid) == (S.VALID, KEY_A, "", True)
    assert (s.claims.file_name, s.claims.rows, s.claims.first_seq, s.claims.last_seq) == (path.name, 3, 1, 3)
    assert s.claims.previous is None
    assert s.blake2b == s.claims.blake2b and len(s.blake2b) == 128

    # The same from bytes and from a file object (its name is the default).
    data, text = path.read_bytes(), sig.read_text()
    assert csvseal.verify(data, public_key=KEYS / "a.pub", signature=text, file_name=path.name) == r
    with open(path, "rb") as f:
        assert csvseal.verify(f, public_key=str(KEYS / "a.pub"), signature=text.encode()) == r
    # A key given as its text, and a list of keys (rotation).
    assert csvseal.verify(path, public_key=(KEYS / "a.pub").read_text()).valid
    assert csvseal.verify(path, public_key=[KEYS / "b.pub", KEYS / "a.pub"]).valid

    # Without a key the signature is not looked at; with the wrong key it
    # is an unknown key.
    assert csvseal.verify(path).signature is None
    wrong = csvseal.verify(path, public_key=KEYS / "b.pub")
    assert not wrong.valid and wrong.signature.status is S.UNKNOWN_KEY
    assert wrong.signature.key_id == KEY_A
    assert [(e.kind, e.line) for e in wrong.errors] == [(K.UNKNOWN_KEY, 0)]
    # Under another name the claims do not hold.
    renamed = csvseal.verify(data, public_key=KEYS / "a.pub", signature=text, file_name="other.csv")
    assert renamed.signature.status is S.INVALID and renamed.errors[0].kind is K.SIGNATURE_INVALID
    assert "other.csv" in renamed.errors[0].message


def test_the_recomputed_checksum_tamper_is_caught_only_by_the_signature(tmp_path, policy):
    path = csvseal.write(tmp_path, "trades", ROWS, timestamp="2024-09-10T14:30:00Z", sign_key=secret_key(tmp_path))
    before = path.read_bytes()
    tamper(path)
    assert path.read_bytes() != before and len(path.read_bytes()) == len(before)
    # As the policy defines it, the file is intact...
    assert policy.validate_csv_integrity(str(path))
    assert csvseal.verify(path).valid
    # ...but not the bytes that were signed.
    r = csvseal.verify(path, public_key=KEYS / "a.pub")
    assert not r.valid
    assert r.signature.status is S.INVALID
    assert [(e.kind, e.line) for e in r.errors] == [(K.SIGNATURE_INVALID, 0)]
    assert r.error_count == 1
    sig = path.with_name(path.name + ".minisig").read_bytes()
    from_bytes = csvseal.verify(path.read_bytes(), public_key=KEYS / "a.pub", signature=sig, file_name=path.name)
    assert from_bytes.to_json() == r.to_json()


def test_a_missing_signature(tmp_path):
    path = csvseal.write(tmp_path, "trades", ROWS, timestamp="2024-09-10T14:30:00Z")
    r = csvseal.verify(path, public_key=KEYS / "a.pub")
    assert r.signature.status is S.MISSING and r.errors[0].kind is K.SIGNATURE_MISSING
    assert r.errors[0].message == f"{path.name} has no signature ({path.name}.minisig)"
    r2 = csvseal.verify(path.read_bytes(), public_key=KEYS / "a.pub", signature=None, file_name=path.name)
    assert r2.to_json() == r.to_json()
    # No name either: still missing, said without one.
    r3 = csvseal.verify(path.read_bytes(), public_key=KEYS / "a.pub")
    assert r3.signature.status is S.MISSING and "no signature was given" in r3.signature.message
    # A signature reached through a symlink is refused, not followed.
    signed = csvseal.write(tmp_path, "s", ROWS, timestamp="2024-09-10T14:30:00Z", sign_key=secret_key(tmp_path))
    link = tmp_path / "s_20240910_143000.csv.minisig"
    real = tmp_path / "elsewhere.minisig"
    link.rename(real)
    link.symlink_to(real)
    with pytest.raises(csvseal.IoError):
        csvseal.verify(signed, public_key=KEYS / "a.pub")


def test_signature_arguments_are_checked(tmp_path):
    path = csvseal.write(tmp_path, "trades", ROWS, timestamp="2024-09-10T14:30:00Z", sign_key=secret_key(tmp_path))
    data = path.read_bytes()
    sig = path.with_name(path.name + ".minisig").read_text()
    with pytest.raises(csvseal.UsageError, match="need public_key"):
        csvseal.verify(data, signature=sig, file_name=path.name)
    with pytest.raises(csvseal.UsageError, match="needs file_name"):
        csvseal.verify(data, public_key=KEYS / "a.pub", signature=sig)
    with pytest.raises(csvseal.UsageError, match="PATH.minisig"):
        csvseal.verify(path, public_key=KEYS / "a.pub", signature=sig)
    with pytest.raises(csvseal.UsageError, match="larger than"):
        csvseal.verify(data, public_key=KEYS / "a.pub", signature="x" * (1 << 17), file_name=path.name)
    with pytest.raises(csvseal.UsageError, match="not UTF-8"):
        csvseal.verify(data, public_key=KEYS / "a.pub", signature=b"\xff\xfe", file_name=path.name)
    with pytest.raises(csvseal.UsageError, match="file_name: longer than"):
        csvseal.verify(data, public_key=KEYS / "a.pub", signature=sig, file_name="x" * 5000)
    with pytest.raises(csvseal.UsageError, match="no key"):
        csvseal.verify(path, public_key=[])
    with pytest.raises(TypeError):
        csvseal.verify(path, public_key=42)
    with pytest.raises(csvseal.IoError):
        csvseal.verify(path, public_key=tmp_path / "absent.pub")
    not_a_key = tmp_path / "not.pub"
    not_a_key.write_text("hello\n")
    with pytest.raises(csvseal.UsageError, match="not.pub"):
        csvseal.verify(path, public_key=not_a_key)
    with pytest.raises(csvseal.UsageError, match="public_key text"):
        csvseal.verify(path, public_key="untrusted comment: x\nnot base64!\n")
    # A signature that is not minisign's is a report, not an exception.
    r = csvseal.verify(data, public_key=KEYS / "a.pub", signature="garbage\n", file_name=path.name)
    assert r.signature.status is S.MALFORMED and r.errors[0].kind is K.SIGNATURE_INVALID


def series(tmp_path, name, key, values=("25.0", "-12.5", "3.25")):
    """A 3-file signed series in tmp_path/name: three writes continuing it."""
    d = tmp_path / name
    d.mkdir()
    paths = []
    for i, v in enumerate(values):
        rows = [dict(ROWS[0], trade_id=f"T{i}", profit_loss=v)]
        paths.append(
            csvseal.write(
                d, "trades", rows, timestamp=f"2024-09-1{i}T14:30:00Z", continue_series=True, sign_key=key
            )
        )
    return d, paths


def chain_errors(report):
    return [(p.name, e.message) for p, r in report.files for e in r.errors if e.kind is K.CHAIN_BROKEN]


def test_a_signed_series_and_its_chain(tmp_path):
    key = secret_key(tmp_path)
    d, (p1, p2, p3) = series(tmp_path, "s", key)
    r = csvseal.verify_series(d, "trades", public_key=KEYS / "a.pub")
    assert r.valid, r.to_json()
    assert [p.name for p, _ in r.files] == [p1.name, p2.name, p3.name]
    claims = [f.signature.claims for _, f in r.files]
    assert claims[0].previous is None
    assert claims[1].previous == csvseal.ChainLink(p1.name, claims[0].blake2b)
    assert claims[2].previous == csvseal.ChainLink(p2.name, claims[1].blake2b)
    assert [(f.first_seq, f.last_seq) for _, f in r.files] == [(1, 1), (2, 2), (3, 3)]
    assert csvseal.verify_series(d, "trades").valid
    assert all(f.signature is None for _, f in csvseal.verify_series(d, "trades").files)
    assert csvseal.verify_series(d, "trades", public_key=KEYS / "b.pub").valid is False
    # The JSON is the CLI's document (compact, keys sorted).
    import json

    doc = json.loads(r.to_json())
    assert sorted(doc) == ["files", "gaps", "overlaps", "unreadable", "valid"]
    assert doc["files"][0]["path"] == str(p1) and doc["files"][0]["signature"]["key_id"] == KEY_A


def test_deleting_the_middle_file_breaks_the_chain(tmp_path):
    d, (p1, p2, p3) = series(tmp_path, "s", secret_key(tmp_path))
    p2.unlink()
    p2.with_name(p2.name + ".minisig").unlink()
    r = csvseal.verify_series(d, "trades", public_key=KEYS / "a.pub")
    assert not r.valid
    broken = chain_errors(r)
    assert [name for name, _ in broken] == [p3.name], r.to_json()
    assert p2.name in broken[0][1] and p1.name in broken[0][1], broken
    # Without keys, only a gap in file_seq shows: a warning.
    plain = csvseal.verify_series(d, "trades")
    assert plain.valid and len(plain.gaps) == 1


def test_swapping_the_middle_file_breaks_the_chain(tmp_path):
    key = secret_key(tmp_path)
    d, (p1, p2, p3) = series(tmp_path, "s", key)
    # The same key's file of the same name from another series.
    other, (_, q2, _) = series(tmp_path, "other", key, values=("1.0", "-7.5", "3.25"))
    for suffix in ("", ".minisig"):
        shutil.copyfile(q2.with_name(q2.name + suffix), p2.with_name(p2.name + suffix))
    assert csvseal.verify(p2, public_key=KEYS / "a.pub").valid  # each file alone is fine
    r = csvseal.verify_series(d, "trades", public_key=KEYS / "a.pub")
    assert not r.valid
    broken = chain_errors(r)
    assert [name for name, _ in broken] == [p2.name, p3.name], r.to_json()
    assert p1.name in broken[0][1] and p2.name in broken[1][1]
    assert csvseal.verify_series(d, "trades").valid  # unsigned, nothing shows


def test_resealing_the_middle_file_breaks_the_chain(tmp_path):
    key = secret_key(tmp_path)
    d, (p1, p2, p3) = series(tmp_path, "s", key)
    # Tampered, then sealed and signed again under its own name and with
    # its own file_seq: a valid file with a valid signature, but the next
    # file's signature names the original's bytes.
    tamper(p2, trade_id="T1", profit_loss="1000000.0")
    with open(p2, newline="", encoding="utf-8") as f:
        rows = [{k: v for k, v in r.items() if k not in ("file_seq", "checksum_sha256")} for r in csv.DictReader(f)]
    p2.unlink()
    p2.with_name(p2.name + ".minisig").unlink()
    again = csvseal.write(d, "trades", rows, timestamp="2024-09-11T14:30:00Z", start_seq=2, sign_key=key)
    assert again == p2
    assert csvseal.verify(p2, public_key=KEYS / "a.pub").valid  # alone, it is fine
    r = csvseal.verify_series(d, "trades", public_key=KEYS / "a.pub")
    assert not r.valid
    broken = dict(chain_errors(r))
    assert p3.name in broken, r.to_json()
    assert p2.name in broken[p3.name]
    assert csvseal.verify_series(d, "trades").valid  # unsigned, nothing shows


def test_minisign_verifies_a_python_signed_file(tmp_path):
    minisign = shutil.which("minisign")
    if minisign is None:
        if os.environ.get("CI"):
            pytest.fail("minisign is not installed (CI installs Debian's minisign)")
        pytest.skip("minisign is not installed")
    path = csvseal.write(tmp_path, "trades", ROWS, timestamp="2024-09-10T14:30:00Z", sign_key=secret_key(tmp_path))
    ok = subprocess.run([minisign, "-Vm", str(path), "-p", str(KEYS / "a.pub")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert f"file:{path.name}" in ok.stdout  # the trusted comment, printed
    tamper(path)
    bad = subprocess.run([minisign, "-Vm", str(path), "-p", str(KEYS / "a.pub")], capture_output=True, text=True)
    assert bad.returncode != 0


def test_atomic_csv_write_signs_too(tmp_path):
    target = tmp_path / "trades.csv"
    csvseal.atomic_csv_write(target, ROWS, list(ROWS[0]), sign_key=secret_key(tmp_path))
    assert (tmp_path / "trades.csv.minisig").exists()
    assert csvseal.verify(target, public_key=KEYS / "a.pub").signature.status is S.VALID


def test_the_secret_key_never_shows(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = secret_lines("a")
    seen: list[str] = []

    def look(*things):
        for t in things:
            seen.extend([str(t), repr(t)])
            if isinstance(t, csvseal.CsvsealError):
                seen.extend([str(t.args), repr(t.details), str(vars(t))])

    def fails(fn, exc=csvseal.CsvsealError):
        with pytest.raises(exc) as info:
            fn()
        look(info.value)
        return info.value

    # A key others can read, a symlink to it, a password-protected key, a
    # damaged one: each refused with a csvseal error that says why.
    loose = secret_key(tmp_path, mode=0o644)
    e = fails(lambda: csvseal.write(tmp_path, "t", ROWS, sign_key=loose), csvseal.UsageError)
    assert "group or others" in str(e) and "chmod 600" in str(e)
    link = tmp_path / "link.key"
    link.symlink_to(secret_key(tmp_path, name="a"))
    e = fails(lambda: csvseal.write(tmp_path, "t", ROWS, sign_key=link), csvseal.IoError)
    assert "symlink" in str(e)
    raw = bytearray(base64.b64decode(secret_lines("a")[0]))
    raw[2:4] = b"\x01\x02"
    encrypted = tmp_path / "enc.key"
    encrypted.write_text("untrusted comment: x\n" + base64.b64encode(bytes(raw)).decode() + "\n")
    os.chmod(encrypted, 0o600)
    e = fails(lambda: csvseal.write(tmp_path, "t", ROWS, sign_key=encrypted), csvseal.UsageError)
    assert "password-protected" in str(e)
    raw = bytearray(base64.b64decode(secret_lines("a")[0]))
    raw[-1] ^= 1
    damaged = tmp_path / "damaged.key"
    damaged.write_text("untrusted comment: x\n" + base64.b64encode(bytes(raw)).decode() + "\n")
    os.chmod(damaged, 0o600)
    e = fails(lambda: csvseal.write(tmp_path, "t", ROWS, sign_key=damaged), csvseal.UsageError)
    assert "damaged" in str(e)
    # The secret key given where a public key goes.
    fails(lambda: csvseal.verify(b"", public_key=secret_key(tmp_path)))
    # Failing writes with a good key: a target that exists, rows rejected.
    key = secret_key(tmp_path)
    path = csvseal.write(tmp_path, "t", ROWS, timestamp="2024-09-10T14:30:00Z", sign_key=key)
    fails(lambda: csvseal.write(tmp_path, "t", ROWS, timestamp="2024-09-10T14:30:00Z", sign_key=key))
    fails(lambda: csvseal.write(tmp_path, "u", [{"a": "x\ny"}, {"b": 1}], sign_key=key))
    assert not list(tmp_path.glob("u_*"))
    # Reports, good and bad, and the signature file itself.
    look(csvseal.verify(path, public_key=KEYS / "a.pub"))
    tamper(path)
    look(csvseal.verify(path, public_key=KEYS / "a.pub").to_json())
    look(path.with_name(path.name + ".minisig").read_text())
    look(caplog.text, *[r.getMessage() for r in caplog.records])
    everything = "\n".join(seen)
    assert "B244E0F5702266EC" in everything  # the key ID is fine to show
    for s in secrets:
        assert s not in everything
