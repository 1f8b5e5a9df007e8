"""The package has no object-storage path: an `s3://` location is a local
path, so no endpoint (nor a credential in one) is read, reached or shown."""

from __future__ import annotations

import os

import pytest

import csvseal

SECRET = "PYendpointLEAKCHECK"


@pytest.fixture
def endpoint_with_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.setenv(var, f"http://user:{SECRET}@127.0.0.1:9/?X-Amz-Signature={SECRET}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDPYTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


def test_verify_of_an_s3_url_is_a_local_path(endpoint_with_secrets: None, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(csvseal.IoError) as e:
        csvseal.verify("s3://bkt/x.csv")
    text = str(e.value)
    assert "No such file" in text or os.strerror(2) in text, text
    assert SECRET not in text and "127.0.0.1" not in text, text


def test_write_to_an_s3_url_is_a_local_directory(endpoint_with_secrets: None, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(csvseal.IoError) as e:
        csvseal.write("s3://bkt/p/", "x", b"a,b\n1,2\n", timestamp="2024-09-10T15:00:00Z")
    assert SECRET not in str(e.value) and "127.0.0.1" not in str(e.value), str(e.value)
    # Made where a local directory of that name exists: a local file.
    (tmp_path / "s3:" / "bkt" / "p").mkdir(parents=True)
    summary = csvseal.write("s3://bkt/p/", "x", b"a,b\n1,2\n", timestamp="2024-09-10T15:00:00Z")
    assert (tmp_path / "s3:" / "bkt" / "p" / "x_20240910_150000.csv").is_file(), summary
