"""The README's usage example runs as written, on arrays saved where it loads them from."""

import re
from pathlib import Path

import numpy as np

from skalign.datasets import make_alignment_pair

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_usage_example_runs(tmp_path, monkeypatch, capsys):
    code = re.search(r"## Usage\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    files = re.findall(r'np\.load\("([^"]+)"\)', code)
    assert len(files) == 2, "the example should load two representations"
    X, Y, _ = make_alignment_pair("jitter", n_samples=200, random_state=0)
    monkeypatch.chdir(tmp_path)
    np.save(files[0], X)
    np.save(files[1], Y)
    exec(compile(code, str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "tas" in out and "n_neighbors" in out
