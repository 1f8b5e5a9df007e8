"""Every ```python block of README.md, docs/*.md and bindings/python/README.md
runs as printed: each in a fresh empty directory, with no setup (an example
makes what it needs, its directories included), and prints what its
``# prints: ...`` comments say. The ``csvseal`` CLI the repository builds is
on PATH, for the examples that make a key pair with it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

DOCS = [
    REPO / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
    REPO / "bindings" / "python" / "README.md",
]


def python_blocks() -> list[tuple[str, str]]:
    """(where, code) for every ```python block, where = path:line."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in re.finditer(r"^```python\n(.*?)^```$", text, re.S | re.M):
            line = text.count("\n", 0, m.start()) + 1
            found.append((f"{doc.relative_to(REPO)}:{line}", m.group(1)))
    return found


BLOCKS = python_blocks()


def test_the_docs_have_python_examples_where_expected():
    where = {w.rsplit(":", 1)[0] for w, _ in BLOCKS}
    assert {"README.md", "docs/python.md", "bindings/python/README.md"} <= where, where
    assert len(BLOCKS) >= 4, BLOCKS


def cli_dir() -> str:
    """The directory of the csvseal binary the workspace built."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for profile in ("release", "debug"):
        if (target / profile / "csvseal").is_file():
            return str(target / profile)
    pytest.fail(f"no csvseal binary under {target}: cargo build --release -p csvseal")


@pytest.mark.parametrize("where,code", BLOCKS, ids=[w for w, _ in BLOCKS])
def test_the_example_runs_as_printed(where, code, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "PATH": cli_dir() + os.pathsep + os.environ.get("PATH", "")}
    env["CSVSEAL_CACHE_DIR"] = str(tmp_path.parent / f"{tmp_path.name}-cache")
    # A fresh empty directory: the example's own, nothing put there first.
    work = tmp_path / "work"
    work.mkdir()
    run = subprocess.run(
        [sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, f"{where} failed:\n{run.stdout}{run.stderr}"
    lines = run.stdout.splitlines()
    for promised in re.findall(r"# prints: (.+)$", code, re.M):
        assert promised.strip() in lines, f"{where} promises {promised!r}; printed:\n{run.stdout}"
