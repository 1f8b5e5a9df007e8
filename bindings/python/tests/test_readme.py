"""The README's Python examples run as printed."""

from __future__ import annotations

import re

from conftest import REPO


def python_blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_python_examples_run(tmp_path, monkeypatch, capsys):
    blocks = python_blocks()
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert out.endswith("1 schema qty\n"), out
    assert '"valid":true' in out and '"rows":2' in out
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(written) == 2 and written[1].startswith("trades_"), written
    eu = (tmp_path / "out" / "eu_trades_20240910_150000.csv").read_bytes()
    assert eu.startswith(b"file_seq,symbol,price,checksum_sha256\r\n1,EURUSD,\"1,0841\","), eu
