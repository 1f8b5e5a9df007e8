"""The wasmtime-py example (a host of one's own around the raw component)
passes the small conformance cases."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from conftest import CASES, REPO

EXAMPLE = REPO / "bindings" / "python" / "examples" / "wasmtime_host.py"


def test_the_wasmtime_py_example_matches_the_small_cases():
    if importlib.util.find_spec("wasmtime") is None:
        pytest.fail("wasmtime-py is missing: pip install wasmtime==50.0.1 (scripts/install-deps.sh does)")
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--conformance", str(CASES)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    ran = int(done.stdout.split()[2])
    assert ran >= 50 and done.stdout.startswith(f"{ran} of {ran} ")
