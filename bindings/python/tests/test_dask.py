"""csvseal.dask on a real LocalCluster (2 worker processes): the audit and
the series check of a local directory and of a SeaweedFS prefix give the
CLI's JSON byte for byte; a worker killed mid-task is retried; killed every
time, the audit raises and reports nothing."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import optional_module

distributed = optional_module("distributed")

import csvseal

from conftest import CLI

PART = 4096  # small files split: the big one into >= 3 parts


@pytest.fixture(scope="module")
def client(weed):
    # Workers start after the weed fixture put its credentials in the
    # environment: they inherit them.
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def rows(n: int, start: int = 0) -> bytes:
    return "".join(f"{start + i},name {start + i},{(start + i) * 1.5}\n" for i in range(n)).encode()


def fill(write, flip) -> None:
    """A series t (3 files), a big file, a file with one flipped byte."""
    for day, start in [(10, 1), (11, 6), (12, 11)]:
        write("t", b"id,name,x\n" + rows(5, start), f"2024-09-{day}T10:00:00Z", start)
    write("big", b"id,name,x\n" + rows(400), "2024-09-10T10:00:00Z", 1)
    flip("bad", b"id,name,x\n" + rows(20), "2024-09-10T10:00:00Z")


def cli(*args: str) -> str:
    out = subprocess.run([str(CLI), *args], capture_output=True, text=True, env=os.environ)
    assert out.stdout, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def local_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sealed")

    def write(name, data, ts, seq):
        csvseal.write(d, name, data, timestamp=ts, start_seq=seq)

    def flip(name, data, ts):
        p = csvseal.write(d, name, data, timestamp=ts)
        b = bytearray(p.read_bytes())
        b[len(b) // 2] ^= 0x01
        p.write_bytes(bytes(b))

    fill(write, flip)
    big = next(d.glob("big_*.csv"))
    assert big.stat().st_size >= 3 * PART
    return d


@pytest.fixture(scope="module")
def bucket_prefix(weed, tmp_path_factory) -> str:
    loc = "s3://py-dask/sealed/"
    scratch = tmp_path_factory.mktemp("scratch")

    def write(name, data, ts, seq):
        csvseal.write(loc, name, data, timestamp=ts, start_seq=seq)

    def flip(name, data, ts):
        p = csvseal.write(scratch, name, data, timestamp=ts)
        b = bytearray(p.read_bytes())
        b[len(b) // 2] ^= 0x01
        weed.filer_put("py-dask", f"sealed/{p.name}", bytes(b))

    fill(write, flip)
    return loc


@pytest.mark.parametrize("where", ["local", "s3"])
def test_audit_and_series_equal_the_cli(where, client, request, tmp_path) -> None:
    loc = str(request.getfixturevalue("local_dir")) if where == "local" else request.getfixturevalue("bucket_prefix")
    import csvseal.dask as cd

    report = cd.audit(loc, client, part_bytes=PART, state_file=str(tmp_path / "dask-state.json"))
    expected = cli("audit", "--dir", loc, "--json", "--state-file", str(tmp_path / "cli-state.json"))
    assert report.to_json() == expected
    assert not report.valid and report.document["alert_counts"]["integrity-failure"] == 1
    assert report.document["verified"] == 5
    series = cd.verify_series(loc, "t", client, part_bytes=64)
    assert series.to_json() == cli("verify", "--series", loc, "t", "--json")
    assert series.valid and len(series.document["files"]) == 3
    big = cd.verify_series(loc, "big", client, part_bytes=PART)
    assert big.to_json() == cli("verify", "--series", loc, "big", "--json")


def test_names_that_could_reorder_a_terminal_line_are_escaped_as_the_cli_does(client, tmp_path) -> None:
    import csvseal.dask as cd

    d = tmp_path / "bidi"
    d.mkdir()
    p = csvseal.write(d, "t\u202eexe.vsc", b"a\n1\n", timestamp="2024-09-10T10:00:00Z")
    p.write_bytes(p.read_bytes().replace(b"\n1,", b"\n2,"))  # an alert names the file
    report = cd.audit(str(d), client, state_file=str(tmp_path / "s.json"))
    assert "\u202e" not in report.to_json() and "\\u202e" in report.to_json()
    expected = cli("audit", "--dir", str(d), "--json", "--state-file", str(tmp_path / "c.json"))
    assert report.to_json() == expected
    assert json.loads(expected)["alerts"][0]["file"].endswith("t\u202eexe.vsc_20240910_100000.csv")


class Killer(distributed.WorkerPlugin):
    """Kills the worker process when a csvseal task starts executing: once
    (the marker file exists afterwards), or every time (no marker)."""

    name = "csvseal-killer"

    def __init__(self, marker: str | None) -> None:
        self.marker = marker

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish == "executing" and str(key).startswith("csvseal-verify-"):
            if self.marker is None:
                os._exit(1)
            if not os.path.exists(self.marker):
                open(self.marker, "w").close()
                os._exit(1)


def test_a_worker_killed_once_is_retried(client, local_dir, tmp_path) -> None:
    import csvseal.dask as cd

    client.register_plugin(Killer(str(tmp_path / "killed")))
    try:
        report = cd.audit(str(local_dir), client, part_bytes=PART, state_file=str(tmp_path / "s.json"))
    finally:
        client.unregister_worker_plugin(Killer.name)
    assert (tmp_path / "killed").exists()
    expected = cli("audit", "--dir", str(local_dir), "--json", "--state-file", str(tmp_path / "c.json"))
    assert report.to_json() == expected


def test_a_worker_killed_every_time_fails_the_audit(client, local_dir, tmp_path) -> None:
    import csvseal.dask as cd

    client.cluster.scheduler.allowed_failures = 1
    client.register_plugin(Killer(None))
    try:
        with pytest.raises(distributed.scheduler.KilledWorker):
            cd.audit(str(local_dir), client, part_bytes=PART, state_file=str(tmp_path / "s.json"))
    finally:
        client.unregister_worker_plugin(Killer.name)
        client.cluster.scheduler.allowed_failures = 3
    assert not (tmp_path / "s.json").exists()


def test_keys_are_refused_on_a_cluster(client, local_dir) -> None:
    import csvseal.dask as cd

    with pytest.raises(csvseal.UsageError, match="signatures"):
        cd.audit(str(local_dir), client, keys=["x.pub"])
    with pytest.raises(csvseal.UsageError, match="signatures"):
        cd.verify_series(str(local_dir), "t", client, keys=["x.pub"])


def test_import_csvseal_imports_no_data_stack() -> None:
    from conftest import run_python

    out = run_python(
        "import sys, csvseal; print(sorted(m for m in ('dask', 'distributed', 'pandas', 'polars', 'pyarrow') if m in sys.modules))"
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_parts_merge_to_the_whole_report(local_dir) -> None:
    """The big file's parts (cut by each task) merge, by the host's merge, to
    exactly the report of one verifier of the whole file."""
    import json

    from csvseal import _native
    from csvseal.dask import _parts

    big = next(local_dir.glob("big_*.csv"))
    limits = _native.DEFAULT_LIMITS
    n = _parts(big.stat().st_size, PART)
    assert n >= 3
    parts = [_native.verify_task(str(big), k, n, None, None, limits) for k in range(n)]
    assert all(json.loads(p)["outcome"] == "part" for p in parts)
    merged = _native.merge_parts(parts, limits)
    whole = _native.verify_task(str(big), 0, 1, None, None, limits)
    assert merged is not None and json.loads(merged) == json.loads(whole)
    # A part of the damaged file is not clean: the merge refuses.
    bad = next(local_dir.glob("bad_*.csv"))
    bad_parts = [_native.verify_task(str(bad), k, 3, None, None, limits) for k in range(3)]
    assert _native.merge_parts(bad_parts, limits) is None
