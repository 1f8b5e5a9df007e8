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
