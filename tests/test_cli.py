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


# ---------------------------------------------------------------- CSV files as pandas writes them
@pytest.fixture
def two_networks(tmp_path, rng):
    """Two unrelated representations of the same 60 stimuli."""
    return tmp_path, rng.normal(size=(60, 5)), rng.normal(size=(60, 7))


def test_csv_index_written_by_pandas_is_not_a_feature(two_networks, capsys, monkeypatch):
    tmp, X, Y = two_networks
    pd.DataFrame(X).to_csv(tmp / "a.csv")  # pandas' default: the index is the first column
    pd.DataFrame(Y, columns=list("abcdefg")).to_csv(tmp / "b.csv")
    np.testing.assert_allclose(np.asarray(load_representation(str(tmp / "a.csv")), dtype=float), X)
    assert "dropped the first column" in capsys.readouterr().err
    monkeypatch.chdir(tmp)
    assert main(["compare", "a.csv", "b.csv", "--metrics", "cka,procrustes", "--report", ""]) == 0
    table = pd.read_csv(tmp / "skalign_compare.csv", index_col=0)
    from skalign import CKAScorer, ProcrustesScorer

    # the shared index column made both 1.0; the scores are those of the arrays themselves
    assert table.loc["cka", "in_sample"] == pytest.approx(CKAScorer().fit(X, Y).score(X, Y), rel=1e-9)
    assert table.loc["procrustes", "in_sample"] == pytest.approx(ProcrustesScorer().fit(X, Y).score(X, Y),
                                                                 rel=1e-9)
    assert table.loc["cka", "in_sample"] < 0.5


@pytest.mark.parametrize("index", [False, True])
def test_headerless_csv_keeps_its_first_sample(two_networks, capsys, index):
    tmp, X, _ = two_networks
    pd.DataFrame(X).to_csv(tmp / "a.csv", header=False, index=index)
    got = np.asarray(load_representation(str(tmp / "a.csv")), dtype=float)
    np.testing.assert_allclose(got, X)  # all 60 rows, the first one included
    err = capsys.readouterr().err
    assert "first row is numbers, read as data" in err
    assert ("dropped the first column" in err) == index


def test_csv_with_pandas_default_column_names_keeps_its_header(two_networks, capsys):
    tmp, X, _ = two_networks
    pd.DataFrame(X).to_csv(tmp / "a.csv", index=False)  # header row "0,1,2,3,4"
    np.testing.assert_allclose(np.asarray(load_representation(str(tmp / "a.csv")), dtype=float), X)
    assert capsys.readouterr().err == ""


def test_csv_named_counter_column_is_a_feature(two_networks, capsys):
    tmp, X, _ = two_networks
    frame = pd.DataFrame(X, columns=list("abcde"))
    frame.insert(0, "epoch", np.arange(60))  # named by the user: data, not pandas' index
    frame.to_csv(tmp / "a.csv", index=False)
    assert load_representation(str(tmp / "a.csv")).shape == (60, 6)
    assert capsys.readouterr().err == ""


def test_csv_non_numeric_column_is_named(two_networks, capsys, monkeypatch):
    tmp, X, Y = two_networks
    frame = pd.DataFrame(Y, columns=list("abcdefg"))
    frame["d"] = frame["d"].astype(object)
    frame.loc[7, "d"] = "0.3.1"
    frame.to_csv(tmp / "b.csv", index=False)
    np.save(tmp / "a.npy", X)
    monkeypatch.chdir(tmp)
    assert main(["compare", "a.npy", "b.csv"]) == 2
    err = capsys.readouterr().err.strip()
    assert "column 'd' is not numeric" in err and "'0.3.1'" in err and len(err.splitlines()) == 1


# ---------------------------------------------------------------- partial failures and early checks
@pytest.fixture
def dead_unit(tmp_path, rng):
    """X has a dead (constant) unit: CCA cannot whiten it, every other metric can run."""
    X = rng.normal(size=(60, 5))
    X[:, 2] = 0.0
    Y = X @ rng.normal(size=(5, 4)) + 0.5 * rng.normal(size=(60, 4))
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    return tmp_path, X, Y


def test_metrics_all_keeps_what_can_be_computed(dead_unit, capsys, monkeypatch):
    tmp, X, Y = dead_unit
    monkeypatch.chdir(tmp)
    assert main(["compare", "x.npy", "y.npy", "--metrics", "all", "--report", ""]) == 0
    from skalign.cli import COMPARE_METRICS

    table = pd.read_csv(tmp / "skalign_compare.csv", index_col=0)
    assert list(table.index) == list(COMPARE_METRICS)
    assert np.isnan(table.loc["cca", "in_sample"]) and "singular" in table.loc["cca", "error"]
    ok = table.drop(index="cca")
    assert ok["in_sample"].notna().all() and ok["error"].isna().all()
    from skalign import CKAScorer

    assert table.loc["cka", "in_sample"] == pytest.approx(CKAScorer().fit(X, Y).score(X, Y), rel=1e-9)
    assert "FAILED" in capsys.readouterr().out


def test_exit_status_is_nonzero_only_when_every_metric_failed(dead_unit, capsys, monkeypatch):
    tmp, _, _ = dead_unit
    monkeypatch.chdir(tmp)
    assert main(["compare", "x.npy", "y.npy", "--metrics", "cca", "--report", ""]) == 1
    assert "no metric could be computed" in capsys.readouterr().err
    assert main(["compare", "x.npy", "y.npy", "--metrics", "cca,cka", "--report", ""]) == 0


def test_missing_optional_dependency_fails_one_metric_only(dead_unit, capsys, monkeypatch):
    tmp, _, _ = dead_unit
    monkeypatch.chdir(tmp)
    monkeypatch.setitem(sys.modules, "ot", None)  # as if POT were not installed
    assert main(["compare", "x.npy", "y.npy", "--metrics", "soft_matching,cka", "--cv", "3", "--report", ""]) == 0
    table = pd.read_csv(tmp / "skalign_compare.csv", index_col=0)
    assert np.isnan(table.loc["soft_matching", "in_sample"]) and "POT" in table.loc["soft_matching", "error"]
    assert np.isfinite(table.loc["cka", ["in_sample", "cv_mean", "cv_std"]].astype(float)).all()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--metrics", ""], "--metrics is empty"),
        (["--metrics", " , "], "--metrics is empty"),
        (["--out", "missing/t.csv"], "missing does not exist"),
        (["--report", "missing/r.png"], "missing does not exist"),
        (["--cv", "1"], "--cv must be 0"),
        (["--cv", "61"], "61 folds need at least 61 samples"),
    ],
)
def test_bad_options_fail_before_any_work(dead_unit, capsys, monkeypatch, args, message):
    tmp, _, _ = dead_unit
    monkeypatch.chdir(tmp)
    import skalign.cli

    if "--cv" not in args:  # the file reading is the first piece of work: it must not start
        monkeypatch.setattr(skalign.cli, "load_representation", lambda *a, **k: pytest.fail("read the files"))
    rc = main(["compare", "x.npy", "y.npy", *args])
    err = capsys.readouterr().err
    assert rc == 2 and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp / "skalign_compare.csv").exists()


def test_folds_too_small_for_a_metric_give_one_line_each(tmp_path, rng, capsys, monkeypatch):
    np.save(tmp_path / "a.npy", rng.normal(size=(12, 3)))
    np.save(tmp_path / "b.npy", rng.normal(size=(12, 4)))
    monkeypatch.chdir(tmp_path)
    # 6 folds of 2 rows: TAS needs 4 rows, CKA and Procrustes do not
    assert main(["compare", "a.npy", "b.npy", "--cv", "6", "--report", ""]) == 0
    table = pd.read_csv(tmp_path / "skalign_compare.csv", index_col=0)
    assert table.loc["tas", "error"].startswith("held out")
    assert np.isfinite(table.loc["tas", "in_sample"]) and np.isfinite(table.loc["cka", "cv_mean"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 3


# ---------------------------------------------------------------- the dominant scale
def test_dominant_scale_known_answers():
    from skalign.cli import dominant_scale

    ks = np.arange(1, 19)  # n = 20
    spectrum = np.zeros(18)
    spectrum[[3, 6]] = 0.8  # a tie: the smaller k
    spectrum[15] = 0.99  # beyond n/2: neighbourhoods overlap by construction, not a scale
    assert dominant_scale(ks, spectrum, 20) == (4, 0.8)
    assert dominant_scale([1, 2], [0.1, 0.3], 4) == (1, 0.1)


def test_table_carries_the_dominant_scale(tmp_path, capsys, monkeypatch):
    from skalign import TopologicalAlignmentSpectrum
    from skalign.datasets import make_alignment_pair

    # local jitter inside 4 clusters of 50: neighbourhoods agree best at the cluster size, k = 49
    X, Y, _ = make_alignment_pair("jitter", n_samples=200, random_state=0)
    np.save(tmp_path / "a.npy", X)
    np.save(tmp_path / "b.npy", Y)
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "a.npy", "b.npy", "--cv", "4", "--report", ""]) == 0
    table = pd.read_csv(tmp_path / "skalign_compare.csv", index_col=0)
    assert list(table.index) == ["tas", "tas_peak", "cka", "procrustes"]
    assert table.loc["tas_peak", "k"] == 49
    spec = TopologicalAlignmentSpectrum(n_neighbors=49).fit(X, Y)
    assert table.loc["tas_peak", "in_sample"] == pytest.approx(spec.score(X, Y), abs=1e-12)
    # the folds score the same scale, a quarter of each fold's rows, not k = 49 of 50
    from sklearn.model_selection import KFold, cross_val_score

    folds = cross_val_score(TopologicalAlignmentSpectrum(n_neighbors=49 / 199), X, Y,
                            cv=KFold(4, shuffle=True, random_state=0))
    assert table.loc["tas_peak", "cv_mean"] == pytest.approx(folds.mean(), abs=1e-12)


def test_documentation_page_lists_every_option_and_metric():
    from pathlib import Path

    from skalign.cli import COMPARE_METRICS, _parser

    page = Path(__file__).resolve().parent.parent / "doc" / "cli.rst"
    if not page.exists():
        pytest.skip("no documentation sources next to the tests")
    text = page.read_text(encoding="utf-8")
    sub = next(a for a in _parser()._actions if a.dest == "command")
    for command, parser in sub.choices.items():
        assert f"skalign {command}" in text
        for action in parser._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"``{flag}" in text, f"{command} {flag} is not documented in doc/cli.rst"
    for metric in COMPARE_METRICS:
        assert f"``{metric}``" in text, metric


def test_reduce_pools_token_files_like_the_transformer(tmp_path, monkeypatch):
    from skalign import CKAScorer
    from skalign.reduction import pool_tokens

    rng = np.random.default_rng(4)
    A = rng.normal(size=(40, 6, 5))
    A[::3, 4:] = np.nan  # padded positions
    B = np.tanh(A @ rng.normal(size=(5, 7)))  # NaN padding stays NaN
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "b.npy", B)
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "a.npy", "b.npy", "--metrics", "cka", "--report", "", "--reduce", "tokens-last"]) == 0
    table = pd.read_csv(tmp_path / "skalign_compare.csv", index_col=0)
    pa, pb = pool_tokens(A, "last"), pool_tokens(B, "last")
    assert table.loc["cka", "in_sample"] == pytest.approx(CKAScorer().fit(pa, pb).score(pa, pb), rel=1e-9)
    # without --reduce the 3-D file is refused, naming the way out
    assert main(["compare", "a.npy", "b.npy", "--metrics", "cka", "--report", ""]) == 2


# -- --permutations and --bootstrap -----------------------------------------------------
@pytest.fixture
def related_and_not(tmp_path, rng):
    X = rng.normal(size=(40, 4))
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", X @ rng.normal(size=(4, 3)) + 0.2 * rng.normal(size=(40, 3)))
    np.save(tmp_path / "z.npy", rng.normal(size=(40, 3)))
    return tmp_path


def test_permutations_and_bootstrap_use_the_inference_functions(related_and_not, capsys, monkeypatch):
    from sklearn.model_selection import KFold

    from skalign import CKAScorer, ProcrustesScorer, bootstrap, permutation_test

    tmp = related_and_not
    monkeypatch.chdir(tmp)
    X, Z = np.load(tmp / "x.npy"), np.load(tmp / "z.npy")
    assert main(["compare", "x.npy", "z.npy", "--metrics", "cka,procrustes", "--permutations", "19",
                 "--bootstrap", "39", "--random-state", "3", "--report", ""]) == 0
    table = pd.read_csv(tmp / "skalign_compare.csv", index_col=0)
    assert list(table.columns[:3]) == ["in_sample", "pvalue", "ci_low"]
    for m, make in (("cka", CKAScorer), ("procrustes", ProcrustesScorer)):
        res = permutation_test(make(), X, Z, n_permutations=19, random_state=3)
        assert table.loc[m, "pvalue"] == pytest.approx(res.pvalue, abs=1e-12)
        ci = bootstrap(make(), X, Z, n_resamples=39, random_state=3).confidence_interval
        assert (table.loc[m, "ci_low"], table.loc[m, "ci_high"]) == pytest.approx(tuple(ci), rel=1e-9)
    assert table.loc["cka", "pvalue"] > 0.05
    out = capsys.readouterr().out
    assert "pvalue: permutation test of the in-sample score, 19 permutations" in out

    # with --cv both are of the held-out score, on the same folds
    assert main(["compare", "x.npy", "z.npy", "--metrics", "cka", "--cv", "2", "--permutations", "19",
                 "--bootstrap", "39", "--report", ""]) == 0
    table = pd.read_csv(tmp / "skalign_compare.csv", index_col=0)
    folds = KFold(2, shuffle=True, random_state=0)
    res = permutation_test(CKAScorer(), X, Z, n_permutations=19, cv=folds, random_state=0)
    assert res.statistic == pytest.approx(table.loc["cka", "cv_mean"], rel=1e-9)
    assert table.loc["cka", "pvalue"] == pytest.approx(res.pvalue, abs=1e-12)
    ci = bootstrap(CKAScorer(), X, Z, n_resamples=39, cv=folds, random_state=0).confidence_interval
    assert table.loc["cka", "ci_low"] == pytest.approx(ci.low, rel=1e-9)
    assert "held-out score (2-fold mean)" in capsys.readouterr().out


def test_related_pair_reaches_the_floor(related_and_not, capsys, monkeypatch):
    monkeypatch.chdir(related_and_not)
    assert main(["compare", "x.npy", "y.npy", "--metrics", "cka,tas10", "--permutations", "19",
                 "--report", ""]) == 0
    table = pd.read_csv(related_and_not / "skalign_compare.csv", index_col=0)
    np.testing.assert_allclose(table["pvalue"], 1 / 20)
    assert "ci_low" not in table


def test_without_the_options_the_table_is_unchanged(related_and_not, capsys, monkeypatch):
    monkeypatch.chdir(related_and_not)
    assert main(["compare", "x.npy", "y.npy", "--metrics", "cka", "--cv", "2", "--report", ""]) == 0
    table = pd.read_csv(related_and_not / "skalign_compare.csv", index_col=0)
    assert list(table.columns) == ["in_sample", "cv_mean", "cv_std", "range", "how to read"]
    assert "pvalue" not in capsys.readouterr().out


def test_too_few_permutations_warn_once_in_one_line(related_and_not, capsys, monkeypatch):
    monkeypatch.chdir(related_and_not)
    assert main(["compare", "x.npy", "y.npy", "--metrics", "cka,procrustes,tas10", "--permutations", "9",
                 "--report", ""]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "smallest p-value" in line]
    assert len(lines) == 1 and lines[0].startswith("skalign: warning: --permutations 9")


def test_failed_inference_keeps_the_score(related_and_not, capsys, monkeypatch):
    import skalign.inference

    def broken(*args, **kwargs):
        raise ValueError("no resample today")

    monkeypatch.setattr(skalign.inference, "bootstrap", broken)
    monkeypatch.chdir(related_and_not)
    assert main(["compare", "x.npy", "y.npy", "--metrics", "cka", "--permutations", "19",
                 "--bootstrap", "39", "--report", ""]) == 0
    table = pd.read_csv(related_and_not / "skalign_compare.csv", index_col=0)
    assert np.isfinite(table.loc["cka", "in_sample"]) and np.isfinite(table.loc["cka", "pvalue"])
    assert np.isnan(table.loc["cka", "ci_low"])
    assert table.loc["cka", "error"] == "bootstrap: no resample today"


@pytest.mark.parametrize("option", ["--permutations", "--bootstrap"])
def test_negative_draws_fail_before_any_work(related_and_not, capsys, monkeypatch, option):
    import skalign.cli

    monkeypatch.chdir(related_and_not)
    monkeypatch.setattr(skalign.cli, "load_representation", lambda *a, **k: pytest.fail("read the files"))
    assert main(["compare", "x.npy", "y.npy", option, "-1"]) == 2
    err = capsys.readouterr().err
    assert f"{option} must be 0" in err and len(err.strip().splitlines()) == 1


def test_report_draws_the_interval(related_and_not, capsys, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(related_and_not)
    drawn = []
    original = matplotlib.axes.Axes.errorbar

    def spy(self, x, y, *args, **kwargs):
        drawn.append((np.asarray(x), np.asarray(kwargs.get("xerr"))))
        return original(self, x, y, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "errorbar", spy)
    assert main(["compare", "x.npy", "y.npy", "--metrics", "cka,procrustes", "--bootstrap", "39",
                 "--report", "r.png"]) == 0
    table = pd.read_csv(related_and_not / "skalign_compare.csv", index_col=0)
    intervals = [d for d in drawn if d[0].size == 2]
    assert len(intervals) == 1
    mid, half = intervals[0]
    np.testing.assert_allclose(mid - half, table["ci_low"], rtol=1e-12)
    np.testing.assert_allclose(mid + half, table["ci_high"], rtol=1e-12)
    assert plt.get_fignums() == []  # the report closed its figure
