import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from skalign.cli import load_representation, main


@pytest.fixture
def pair(tmp_path, rng):
    X = rng.normal(size=(80, 6))
    Y = X @ rng.normal(size=(6, 4)) + 0.1 * rng.normal(size=(80, 4))
    np.save(tmp_path / "a.npy", X)
    np.savez(tmp_path / "b.npz", layer=Y, other=X[:10])
    pd.DataFrame(Y, columns=list("abcd")).to_csv(tmp_path / "b.csv", index=False)
    return tmp_path, X, Y


def test_loaders_round_trip(pair):
    tmp, X, Y = pair
    np.testing.assert_array_equal(load_representation(str(tmp / "a.npy")), X)
    np.testing.assert_array_equal(load_representation(str(tmp / "b.npz:layer")), Y)
    np.testing.assert_allclose(np.asarray(load_representation(str(tmp / "b.csv"))), Y)


def test_compare_writes_table_and_report(pair, capsys, monkeypatch):
    tmp, X, Y = pair
    monkeypatch.chdir(tmp)
    out = tmp / "res.csv"
    rc = main(["compare", str(tmp / "a.npy"), str(tmp / "b.npz:layer"), "--metrics", "cka,tas10", "--cv", "3",
               "--out", str(out), "--report", "rep.png"])
    assert rc == 0
    table = pd.read_csv(out, index_col=0)
    assert list(table.index) == ["cka", "tas10"]
    from skalign import CKAScorer

    assert table.loc["cka", "in_sample"] == pytest.approx(CKAScorer().fit(X, Y).score(X, Y), rel=1e-3)
    assert {"cv_mean", "cv_std"} <= set(table.columns)
    printed = capsys.readouterr().out
    assert "cka" in printed and "Report written to" in printed
    png = (tmp / "rep.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.npy", "b.csv"], "missing.npy: no such file"),
        (["a.npy", "b.txt"], "unreadable format .txt"),
        (["a.npy", "b.npz"], "holds several arrays"),
        (["a.npy", "b.npz:nope"], "has no array 'nope'"),
        (["a.npy", "b.npz:other"], "80 != 10 rows"),
        (["a.npy", "bad.npy"], "could not read it"),
        (["a.npy", "b.csv", "--metrics", "magic"], "unknown metric"),
    ],
)
def test_compare_errors_are_one_line(pair, capsys, monkeypatch, args, message):
    tmp, _, _ = pair
    (tmp / "b.txt").write_text("1 2 3")
    (tmp / "bad.npy").write_bytes(b"not a numpy file")
    monkeypatch.chdir(tmp)
    rc = main(["compare", *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_help_documents_both_commands():
    out = subprocess.run([sys.executable, "-m", "skalign.cli", "--help"], capture_output=True, text=True).stdout
    assert "demo" in out and "compare" in out
    out = subprocess.run([sys.executable, "-m", "skalign.cli", "compare", "--help"], capture_output=True,
                         text=True).stdout
    assert ".npz" in out and "--metrics" in out


def test_demo_table_tells_the_papers_story(tmp_path, capsys):
    from skalign.cli import run_demo

    table = run_demo(out=str(tmp_path / "demo.png"), n_samples=200)
    jit, shuf, rnd = (table.loc[r] for r in ["local jitter", "shuffled centres", "random pair"])
    # shuffled centres keep every neighbourhood inside the cluster: TAS = 1 at k=10
    assert shuf["TAS@10"] == pytest.approx(1.0)
    assert jit["TAS@10"] < 0.6 and abs(rnd["TAS mean"]) < 0.05
    out = capsys.readouterr().out
    assert "TAS@10" in out
