"""`s3://` locations in the package: write, verify and verify_series go
through the host's object-store code (the CLI's), against a real SeaweedFS;
and no secret (a password, query or fragment in an endpoint URL, the
secret access key) ever appears in an exception's text or a log."""

from __future__ import annotations

import json
import logging
import subprocess

import pytest

import csvseal

from conftest import CLI

SECRET = "PYendpointLEAKCHECK"


def test_write_verify_and_series_on_a_bucket(weed) -> None:
    loc = "s3://py-objects/trades/"
    first = csvseal.write(loc, "t", b"a,b\n1,2\n3,4\n", timestamp="2024-09-10T15:00:00Z")
    assert first == "s3://py-objects/trades/t_20240910_150000.csv"
    # Every source kind goes through Job::run: rows too.
    second = csvseal.write(loc, "t", [{"a": 5, "b": 6}], start_seq=3, timestamp="2024-09-11T15:00:00Z")
    report = csvseal.verify(first)
    assert report.valid and report.rows == 2
    with pytest.raises(csvseal.TargetExistsError):
        csvseal.write(loc, "t", b"a,b\n1,2\n", timestamp="2024-09-10T15:00:00Z")
    with pytest.raises(csvseal.UsageError, match="continue_series"):
        csvseal.write(loc, "t", b"a,b\n1,2\n", continue_series=True)
    series = csvseal.verify_series(loc, "t")
    assert series.valid and [p for p, _ in series.files] == [first, second]
    # The CLI's own `verify --series --json` on the same prefix: same document.
    cli = subprocess.run([str(CLI), "verify", "--series", loc, "t", "--json"], capture_output=True, text=True)
    assert json.loads(cli.stdout) == json.loads(series.to_json())
    # The CLI reads what the package wrote, byte for byte the same report.
    cli = subprocess.run([str(CLI), "verify", second, "--json"], capture_output=True, text=True)
    assert cli.returncode == 0 and '"rows": 1' in cli.stdout, cli.stdout + cli.stderr


def test_missing_object_is_an_io_error(weed) -> None:
    with pytest.raises(csvseal.IoError, match="no such object"):
        csvseal.verify("s3://py-objects/none/x.csv")


@pytest.mark.parametrize(
    "endpoint",
    [
        f"http://user:{SECRET}@127.0.0.1:9",
        f"http://127.0.0.1:9/?X-Amz-Signature={SECRET}",
        f"http://127.0.0.1:9/#{SECRET}",
    ],
)
def test_secrets_in_an_endpoint_never_reach_an_exception(endpoint, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    calls = [
        lambda: csvseal.verify("s3://bkt-x/k.csv", endpoint=endpoint),
        lambda: csvseal.verify_series("s3://bkt-x/p/", "t", endpoint=endpoint),
        lambda: csvseal.write("s3://bkt-x/p/", "t", b"a,b\n1,2\n", endpoint=endpoint),
    ]
    for call in calls:
        with pytest.raises(csvseal.UsageError) as e:
            call()
        text = str(e.value) + repr(e.value.args)
        assert SECRET not in text and "***" in text, text
    assert SECRET not in caplog.text


def test_secrets_in_the_environment_never_reach_an_exception(monkeypatch, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://u:{SECRET}@127.0.0.1:9")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    with pytest.raises(csvseal.UsageError) as e:
        csvseal.verify("s3://bkt-x/k.csv")
    assert SECRET not in str(e.value) and "AWS_ENDPOINT_URL" in str(e.value)


def test_unreachable_endpoint_fails_without_the_credentials(monkeypatch, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDPYLEAKCHECK")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SECRET + "TOKEN")
    for call in [
        lambda: csvseal.verify("s3://bkt-x/k.csv", endpoint="http://127.0.0.1:9", retry_timeout=0.5),
        lambda: csvseal.write("s3://bkt-x/p/", "t", b"a,b\n1,2\n", endpoint="http://127.0.0.1:9",
                              retry_timeout=0.5),
    ]:
        with pytest.raises(csvseal.IoError) as e:
            call()
        text = str(e.value) + repr(e.value.args)
        assert "s3://bkt-x/" in text, text
        assert SECRET not in text, text
    assert SECRET not in caplog.text


def test_other_schemes_are_refused() -> None:
    with pytest.raises(csvseal.UsageError, match="unsupported location scheme"):
        csvseal.verify("gs://bkt/x.csv")
