"""Tests of skalign.alignment_matrix, pivot_alignment and plot_alignment_matrix."""

import copy
import dataclasses
import itertools
import os

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_backend
from sklearn.base import clone
from sklearn.model_selection import KFold

import skalign
from skalign import alignment_matrix, pivot_alignment, plot_alignment_matrix
from skalign.base import BasePairedScorer


# -- small scorers written for these tests ---------------------------------------------
class MeanCorr(BasePairedScorer):
    """Pearson correlation of the row means: stateless, symmetric.

    ``prepare`` returns (name, standardised row means), so the combinations made
    can be logged by layer name.
    """

    score_range = (-1.0, 1.0)
    log = None  # a list to append (name_x, name_y) to, set by a test

    def prepare(self, X, name="X"):
        X = super().prepare(X, name)
        m = X.mean(axis=1)
        m = m - m.mean()
        return name, m / np.linalg.norm(m)

    def combine(self, PX, PY):
        if type(self).log is not None:
            type(self).log.append((PX[0], PY[0]))
        return float(PX[1] @ PY[1])


class InterruptedMeanCorr(MeanCorr):
    """MeanCorr that fails after ``limit`` combinations, to interrupt a run."""

    limit = None

    def combine(self, PX, PY):
        cls = type(self)
        if cls.limit is not None and len(cls.log) >= cls.limit:
            raise RuntimeError("simulated interruption")
        return super().combine(PX, PY)


class RidgeR2(BasePairedScorer):
    """R^2 of a least-squares map from X to Y: fitted, asymmetric."""

    score_range = (-np.inf, 1.0)
    symmetric = False
    stateless = False
    fits = None  # a list to count fits in, set by a test

    def _fit(self, X, Y):
        if type(self).fits is not None:
            type(self).fits.append(len(X))
        Xc = np.c_[X, np.ones(len(X))]
        self.coef_ = np.linalg.lstsq(Xc, Y, rcond=None)[0]

    def _score(self, X, Y):
        pred = np.c_[X, np.ones(len(X))] @ self.coef_
        return 1.0 - ((Y - pred) ** 2).sum() / ((Y - Y.mean(axis=0)) ** 2).sum()


def mean_corr_brute(A, B):
    return np.corrcoef(A.mean(axis=1), B.mean(axis=1))[0, 1]


def r2_brute(A, B, train, test):
    """Least squares written with the normal equations, scored on held-out rows."""
    Xtr = np.hstack([A[train], np.ones((len(train), 1))])
    W = np.linalg.solve(Xtr.T @ Xtr, Xtr.T @ B[train])
    Xte = np.hstack([A[test], np.ones((len(test), 1))])
    resid = B[test] - Xte @ W
    total = B[test] - B[test].mean(axis=0)
    return 1 - np.sum(resid * resid) / np.sum(total * total)


@pytest.fixture
def layers(rng):
    """Five layers over the same 40 samples, of different widths and related content."""
    base = rng.normal(size=(40, 6))
    out = {}
    for k, d in enumerate([6, 4, 9, 3, 5]):
        W = rng.normal(size=(6, d))
        out[f"l{k}"] = np.tanh(base @ W * (0.5 + 0.3 * k)) + 0.5 * rng.normal(size=(40, d))
    return out


@pytest.fixture(autouse=True)
def reset_logs():
    MeanCorr.log = RidgeR2.fits = InterruptedMeanCorr.limit = InterruptedMeanCorr.log = None
    yield
    MeanCorr.log = RidgeR2.fits = InterruptedMeanCorr.limit = InterruptedMeanCorr.log = None


def _real_scorers():
    """The library's own scorers, where already present."""
    names = [
        "CKAScorer",
        "ProcrustesScorer",
        "TopologicalAlignmentSpectrum",
        "LinearRegressionScorer",
    ]
    return [getattr(skalign, name)() for name in names if hasattr(skalign, name)]


# -- values ---------------------------------------------------------------------------
def test_matches_pair_by_pair_and_brute_force(layers):
    rng = np.random.default_rng(1)
    reps_b = {"m0": rng.normal(size=(40, 3)), "m1": layers["l2"] ** 2}
    df = alignment_matrix(layers, reps_b, scorer=MeanCorr())
    assert list(df.columns) == ["a", "b", "scorer", "score"]
    assert len(df) == len(layers) * len(reps_b)
    assert set(zip(df.a, df.b)) == set(itertools.product(layers, reps_b))
    for a, b, name, score in df.itertuples(index=False):
        assert name == "MeanCorr"
        A, B = layers[a], reps_b[b]
        assert score == pytest.approx(mean_corr_brute(A, B), abs=1e-12)
        assert score == pytest.approx(MeanCorr().fit(A, B).score(A, B), abs=1e-12)


@pytest.mark.parametrize(
    "make", [lambda: MeanCorr(), lambda: RidgeR2()], ids=["MeanCorr", "RidgeR2"]
)
def test_list_input_and_self_comparison(layers, make):
    arrays = list(layers.values())
    scorer = make()
    df = alignment_matrix(arrays, scorer=scorer)
    for a, b, _, score in df.itertuples(index=False):
        expected = make().fit(arrays[a], arrays[b]).score(arrays[a], arrays[b])
        assert score == pytest.approx(expected, abs=1e-10)
    L = len(arrays)
    if scorer.symmetric:
        # upper triangle, diagonal included
        assert sorted(zip(df.a, df.b)) == [(i, j) for i in range(L) for j in range(i, L)]
        assert np.allclose(df.score[df.a == df.b], 1.0)
    else:
        assert sorted(zip(df.a, df.b)) == list(itertools.product(range(L), repeat=2))


@pytest.mark.parametrize("cv", [None, 3])
def test_real_scorers_match_pair_by_pair(layers, cv):
    scorers = _real_scorers()
    if not scorers:
        pytest.skip(
            "no library scorer (CKAScorer, ProcrustesScorer, TopologicalAlignmentSpectrum) yet"
        )
    df = alignment_matrix(layers, scorer=scorers, cv=cv)
    assert set(df.scorer) == {type(s).__name__ for s in scorers}
    folds = [(np.arange(40), np.arange(40))] if cv is None else list(KFold(cv).split(layers["l0"]))
    if cv is None:
        df = df.assign(fold=0)
    for est in scorers:
        sub = df[df.scorer == type(est).__name__]
        L = len(layers)
        assert len(sub) == len(folds) * (L * (L + 1) // 2 if est.symmetric else L * L)
        for a, b, score, fold in zip(sub.a, sub.b, sub.score, sub.fold):
            train, test = folds[fold]
            A, B = layers[a], layers[b]
            if est.stateless:  # scored on the test rows alone
                expected = clone(est).fit(A[test], B[test]).score(A[test], B[test])
            else:
                expected = clone(est).fit(A[train], B[train]).score(A[test], B[test])
            assert score == pytest.approx(expected, rel=1e-9, abs=1e-12), (
                type(est).__name__,
                a,
                b,
                fold,
            )


def test_symmetric_self_comparison_combines_each_unordered_pair_once(layers):
    MeanCorr.log = []
    df = alignment_matrix(layers, scorer=MeanCorr())
    names = [f"reps_a[{k!r}]" for k in layers]
    expected = {frozenset((x, y)) for x, y in itertools.combinations_with_replacement(names, 2)}
    logged = [frozenset(p) for p in MeanCorr.log]
    assert len(logged) == len(layers) * (len(layers) + 1) // 2 == len(df)
    assert set(logged) == expected


@pytest.fixture
def prepared_names(monkeypatch):
    """The ``name`` of every ``MeanCorr.prepare`` call, in order."""
    seen = []
    original = MeanCorr.prepare

    def counting(self, X, name="X"):
        seen.append(name)
        return original(self, X, name)

    monkeypatch.setattr(MeanCorr, "prepare", counting)
    return seen


def test_each_layer_prepared_once(layers, prepared_names):
    seen = prepared_names
    alignment_matrix(layers, {"x": layers["l0"], "y": layers["l1"]}, scorer=MeanCorr())
    assert sorted(seen) == sorted(
        [f"reps_a[{k!r}]" for k in layers] + ["reps_b['x']", "reps_b['y']"]
    )
    seen.clear()
    alignment_matrix(layers, scorer=MeanCorr(), cv=3)
    assert sorted(seen) == sorted(f"reps_a[{k!r}]" for k in layers for _ in range(3))


def test_cv_stateless_scores_test_rows_and_fitted_learns_on_train(layers):
    cv = KFold(4, shuffle=True, random_state=0)
    df = alignment_matrix(layers, scorer=[MeanCorr(), RidgeR2()], cv=cv)
    assert list(df.columns) == ["a", "b", "scorer", "score", "fold"]
    splits = list(cv.split(layers["l0"]))
    L = len(layers)
    assert len(df) == 4 * (L * (L + 1) // 2 + L * L)
    for a, b, name, score, fold in df.itertuples(index=False):
        train, test = splits[fold]
        A, B = layers[a], layers[b]
        if name == "MeanCorr":
            expected = mean_corr_brute(A[test], B[test])
        else:
            expected = r2_brute(A, B, train, test)
        assert score == pytest.approx(expected, abs=1e-9), (name, a, b, fold)


def test_default_scorer_is_linear_cka(layers):
    if not hasattr(skalign, "CKAScorer"):
        pytest.skip("CKAScorer not there yet")
    df = alignment_matrix(layers, {"x": layers["l0"]})
    assert set(df.scorer) == {"CKAScorer"}
    for a, score in zip(df.a, df.score):
        A = layers[a] - layers[a].mean(axis=0)
        B = layers["l0"] - layers["l0"].mean(axis=0)
        # linear CKA written with n x n Gram matrices, independent of the feature-space route
        K, L = A @ A.T, B @ B.T
        assert score == pytest.approx(
            np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L)), rel=1e-10
        )


def test_scorer_mapping_names_and_duplicate_classes(layers):
    df = alignment_matrix(layers, scorer={"m": MeanCorr(), "r": RidgeR2()})
    assert set(df.scorer) == {"m", "r"}
    df = alignment_matrix({"x": layers["l0"]}, scorer=[MeanCorr(), MeanCorr()])
    assert df.scorer.nunique() == 2


def test_parallel_loky_equals_sequential(layers):
    seq = alignment_matrix(layers, scorer=[MeanCorr(), RidgeR2()], cv=2, n_jobs=1)
    par = alignment_matrix(layers, scorer=[MeanCorr(), RidgeR2()], cv=2, n_jobs=2)
    pd.testing.assert_frame_equal(seq, par, check_exact=False, rtol=1e-12)


@pytest.mark.slow
def test_dask_cluster_equals_joblib(layers):
    distributed = pytest.importorskip("distributed")
    # a fitted scorer, a stateless one, and the library's prepared dataclasses
    scorers = [MeanCorr(), RidgeR2()] + [
        getattr(skalign, name)()
        for name in ("CKAScorer", "TopologicalAlignmentSpectrum")
        if hasattr(skalign, name)
    ]
    local = alignment_matrix(layers, scorer=scorers, cv=2, n_jobs=2)
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        # the test module's scorers travel by value: workers cannot import test files
        import cloudpickle
        import sys

        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        try:
            with parallel_backend("dask"):
                remote = alignment_matrix(layers, scorer=scorers, cv=2)
            ran_on = client.run(os.getpid)
        finally:
            cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert len(ran_on) == 2
    pd.testing.assert_frame_equal(local, remote, check_exact=True)


# -- checkpoint ----------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".parquet", ".csv"])
def test_checkpoint_resume_recomputes_nothing_and_loses_nothing(layers, tmp_path, ext):
    path = tmp_path / f"results{ext}"
    reps_b = {"x": layers["l0"] + 1, "y": layers["l3"]}
    everything = alignment_matrix(layers, reps_b, scorer=MeanCorr())

    InterruptedMeanCorr.log, InterruptedMeanCorr.limit = [], 4
    with pytest.raises(RuntimeError, match="simulated interruption"):
        alignment_matrix(layers, reps_b, scorer=InterruptedMeanCorr(), checkpoint=path)
    first = list(InterruptedMeanCorr.log)
    assert len(first) == 4
    saved = pd.read_parquet(path) if ext == ".parquet" else pd.read_csv(path)
    assert len(saved) == 4

    InterruptedMeanCorr.log, InterruptedMeanCorr.limit = [], None
    resumed = alignment_matrix(layers, reps_b, scorer=InterruptedMeanCorr(), checkpoint=path)
    second = list(InterruptedMeanCorr.log)
    assert not set(first) & set(second)  # no finished pair recomputed
    assert len(first) + len(second) == len(everything)  # and none lost

    pd.testing.assert_series_equal(resumed.score, everything.score, check_exact=False, rtol=1e-12)
    assert resumed[["a", "b"]].equals(everything[["a", "b"]])
    # a third run reads everything back and combines nothing
    InterruptedMeanCorr.log = []
    again = alignment_matrix(layers, reps_b, scorer=InterruptedMeanCorr(), checkpoint=path)
    assert InterruptedMeanCorr.log == []
    pd.testing.assert_frame_equal(again, resumed)


def test_checkpoint_with_cv_and_list_names(layers, tmp_path):
    path = tmp_path / "cv.parquet"
    arrays = list(layers.values())
    RidgeR2.fits = []
    first = alignment_matrix(arrays, scorer=RidgeR2(), cv=2, checkpoint=path)
    assert RidgeR2.fits == [20] * (2 * len(arrays) ** 2)  # fitted on the 20 training rows
    RidgeR2.fits = []
    second = alignment_matrix(arrays, scorer=RidgeR2(), cv=2, checkpoint=path)
    assert RidgeR2.fits == []
    pd.testing.assert_frame_equal(first, second)
    assert second.a.tolist() == first.a.tolist() and isinstance(second.a.iloc[0], (int, np.integer))


def test_checkpoint_bad_extension(layers, tmp_path):
    with pytest.raises(ValueError, match="checkpoint must end in"):
        alignment_matrix(layers, scorer=MeanCorr(), checkpoint=tmp_path / "out.txt")


# -- progress ------------------------------------------------------------------------------
def hide_tqdm(monkeypatch):
    """Make ``import tqdm`` fail, as where tqdm is not installed."""
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError("no tqdm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)


def test_verbose_progress(layers, capsys, monkeypatch):
    alignment_matrix(layers, scorer=MeanCorr(), verbose=1)
    err = capsys.readouterr().err
    assert "15/15" in err  # tqdm writes to stderr
    hide_tqdm(monkeypatch)
    alignment_matrix(layers, scorer=MeanCorr(), verbose=True)
    out = capsys.readouterr().out
    assert "[alignment_matrix] 15/15 pairs done" in out


# -- pivot and plot ------------------------------------------------------------------------
def test_pivot_mirrors_upper_triangle(layers):
    df = alignment_matrix(layers, scorer=[MeanCorr(), RidgeR2()])
    M = pivot_alignment(df, scorer="MeanCorr")
    names = list(layers)
    assert list(M.index) == names and list(M.columns) == names
    for a, b in itertools.product(names, repeat=2):
        assert M.loc[a, b] == pytest.approx(mean_corr_brute(layers[a], layers[b]), abs=1e-12)
    R = pivot_alignment(df, scorer=RidgeR2())
    assert not np.allclose(R.to_numpy(), R.to_numpy().T)  # asymmetric: nothing mirrored
    with pytest.raises(ValueError, match="choose one with scorer="):
        pivot_alignment(df)
    with pytest.raises(ValueError, match="not in df"):
        pivot_alignment(df, scorer="CKA")


def test_pivot_averages_folds_and_keeps_rectangles(layers):
    df = alignment_matrix(layers, {"x": layers["l1"]}, scorer=MeanCorr(), cv=3)
    M = pivot_alignment(df)
    assert M.shape == (len(layers), 1)
    for a in layers:
        expected = df[(df.a == a)].score.mean()
        assert M.loc[a, "x"] == pytest.approx(expected)


def test_plot_draws_the_pivot(layers):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = alignment_matrix(layers, scorer=MeanCorr())
    ax = plot_alignment_matrix(df)
    try:
        shown = ax.images[0].get_array()
        np.testing.assert_allclose(shown, pivot_alignment(df).to_numpy())
        assert [t.get_text() for t in ax.get_yticklabels()] == list(layers)
        assert len(ax.texts) == len(layers) ** 2
    finally:
        plt.close(ax.figure)


def test_plot_without_matplotlib_names_the_extra(layers, monkeypatch):
    import sys

    df = alignment_matrix(layers, scorer=MeanCorr())
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"skalign\[plot\]"):
        plot_alignment_matrix(df)


# -- bad input ----------------------------------------------------------------------------
def test_different_n_names_the_layer(layers):
    bad = dict(layers, short=layers["l0"][:30])
    with pytest.raises(
        ValueError, match=r"reps_a\['short'\] has 30 rows.*reps_a\['l0'\] has 40"
    ):
        alignment_matrix(bad, scorer=MeanCorr())
    with pytest.raises(ValueError, match=r"reps_b\['z'\] has 39 rows"):
        alignment_matrix(layers, {"y": layers["l1"], "z": layers["l1"][1:]}, scorer=MeanCorr())


def test_empty_inputs(layers):
    with pytest.raises(ValueError, match="reps_a is empty"):
        alignment_matrix({}, scorer=MeanCorr())
    with pytest.raises(ValueError, match="reps_b is empty"):
        alignment_matrix(layers, [], scorer=MeanCorr())
    with pytest.raises(ValueError, match="empty list"):
        alignment_matrix(layers, scorer=[])


@pytest.mark.parametrize(
    "scorer",
    [
        lambda: __import__("sklearn.linear_model").linear_model.Ridge(),
        lambda: np.corrcoef,
        lambda: "cka",
        lambda: [MeanCorr(), object()],
    ],
    ids=["sklearn-estimator", "function", "string", "list-with-foreign"],
)
def test_foreign_scorer_names_the_interface(layers, scorer):
    with pytest.raises(TypeError, match=r"prepare\(X, name\).*combine\(PX, PY\).*fit\(X, Y\)"):
        alignment_matrix(layers, scorer=scorer())


def test_dataframe_layers_equal_arrays(layers):
    frames = {
        k: pd.DataFrame(v, columns=[f"u{c}" for c in range(v.shape[1])]) for k, v in layers.items()
    }
    pd.testing.assert_frame_equal(
        alignment_matrix(frames, scorer=MeanCorr()), alignment_matrix(layers, scorer=MeanCorr())
    )


def test_scorer_class_instead_of_instance(layers):
    with pytest.raises(TypeError, match=r"pass MeanCorr\(\)"):
        alignment_matrix(layers, scorer=MeanCorr)


def test_bad_containers_and_layers(layers):
    with pytest.raises(TypeError, match="reps_a must be a mapping"):
        alignment_matrix(layers["l0"], scorer=MeanCorr())
    bad = dict(layers)
    bad["l2"] = bad["l2"].copy()
    bad["l2"][3, 1] = np.nan
    with pytest.raises(ValueError, match=r"reps_a\['l2'\] contains 1 NaN"):
        alignment_matrix(bad, scorer=MeanCorr())
    with pytest.raises(ValueError, match=r"reps_b\[0\] must be a 2-D array"):
        alignment_matrix(layers, [layers["l0"][:, 0]], scorer=MeanCorr())
    with pytest.raises(ValueError, match="verbose"):
        alignment_matrix(layers, scorer=MeanCorr(), verbose=-1)


class BrokenCombine(MeanCorr):
    def combine(self, PX, PY):
        raise RuntimeError(f"cannot combine {PX[0]} with {PY[0]}")


def test_misaligned_arrays_give_identical_numbers(layers):
    # what a Dask worker may receive: float64 data at an odd byte offset
    def misaligned(X):
        buf = np.empty(X.nbytes + 1, dtype=np.uint8)[1:]
        out = buf.view(X.dtype).reshape(X.shape)
        out[...] = X
        assert not out.flags.aligned
        return out

    from skalign.matrix import _combine_task

    scorers = [MeanCorr()] + [
        getattr(skalign, n)()
        for n in ("CKAScorer", "TopologicalAlignmentSpectrum")
        if hasattr(skalign, n)
    ]
    for est, (a, b) in itertools.product(scorers, itertools.product(layers, repeat=2)):
        P = [est.prepare(layers[a]), est.prepare(layers[b])]
        moved = []
        for p in P:
            if isinstance(p, np.ndarray):
                moved.append(misaligned(p))
                continue
            if isinstance(p, tuple):  # MeanCorr's (name, values)
                moved.append((p[0], misaligned(p[1])))
                continue
            # prepared representations are dataclasses (any other object stays in place)
            if not dataclasses.is_dataclass(p):
                moved.append(p)
                continue
            q = copy.copy(p)
            for field in dataclasses.fields(p):
                v = getattr(p, field.name)
                if isinstance(v, np.ndarray) and v.dtype.itemsize > 1:
                    object.__setattr__(q, field.name, misaligned(v))
            moved.append(q)
        # without realignment numpy's non-BLAS product changes the last bits of some CKA pairs
        assert _combine_task(0, est, *moved) == _combine_task(0, est, *P), (
            type(est).__name__,
            a,
            b,
        )


def test_worker_error_reaches_the_caller(layers):
    with pytest.raises(RuntimeError, match=r"cannot combine reps_a\['l\d'\]"):
        alignment_matrix(layers, scorer=BrokenCombine(), n_jobs=2)


# -- failing pairs ----------------------------------------------------------------------------
class FailsOnPair(MeanCorr):
    """MeanCorr whose combine fails for the layers in ``bad`` (by prepared name)."""

    bad = ("reps_a['l1']", "reps_a['l3']")
    fail = True

    def combine(self, PX, PY):
        if type(self).fail and {PX[0], PY[0]} == set(self.bad):
            raise ValueError(f"cannot pair {PX[0]} with {PY[0]}")
        return super().combine(PX, PY)


class FailsToPrepare(MeanCorr):
    """MeanCorr that refuses to prepare layer l2."""

    def prepare(self, X, name="X"):
        if "'l2'" in name:
            raise ValueError(f"{name} is unusable")
        return super().prepare(X, name)


class RidgeFailsOnPair(RidgeR2):
    def _fit(self, X, Y):
        if X.shape[1] == 9 and Y.shape[1] == 3:  # l2 -> l3, one direction only
            raise np.linalg.LinAlgError("singular by construction")
        super()._fit(X, Y)


@pytest.fixture(autouse=True)
def reset_failures():
    FailsOnPair.fail = True
    yield
    FailsOnPair.fail = True


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_raise_names_the_pair_scorer_and_fold(layers, n_jobs):
    with pytest.raises(
        ValueError, match=r"a='l1', b='l3' with scorer 'FailsOnPair'.*cannot pair"
    ) as info:
        alignment_matrix(layers, scorer=FailsOnPair(), n_jobs=n_jobs)
    assert "fold" not in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)  # the scorer's own error, chained
    with pytest.raises(ValueError, match=r"a='l1', b='l3' with scorer 'x', fold 0: cannot pair"):
        alignment_matrix(layers, scorer={"x": FailsOnPair()}, cv=2)
    with pytest.raises(ValueError, match=r"prepare reps_a\['l2'\] for scorer 'FailsToPrepare'"):
        alignment_matrix(layers, scorer=FailsToPrepare(), n_jobs=n_jobs)
    with pytest.raises(
        np.linalg.LinAlgError, match=r"a='l2', b='l3' with scorer 'RidgeFailsOnPair', fold 0"
    ):
        alignment_matrix(layers, scorer=RidgeFailsOnPair(), cv=2)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_skip_records_the_reason_and_scores_the_rest(layers, n_jobs):
    df = alignment_matrix(
        layers, scorer=[FailsOnPair(), FailsToPrepare()], on_error="skip", n_jobs=n_jobs
    )
    assert list(df.columns) == ["a", "b", "scorer", "score", "error"]
    failed_pair = (df.scorer == "FailsOnPair") & (df.a == "l1") & (df.b == "l3")
    failed_prep = (df.scorer == "FailsToPrepare") & ((df.a == "l2") | (df.b == "l2"))
    assert failed_pair.sum() == 1 and failed_prep.sum() == len(layers)
    assert df.error[failed_pair].item().endswith(
        "a='l1', b='l3' with scorer 'FailsOnPair': ValueError: cannot pair reps_a['l1'] with "
        "reps_a['l3']"
    )
    for reason in df.error[failed_prep]:
        assert "prepare reps_a['l2'] for scorer 'FailsToPrepare'" in reason
        assert reason.endswith("ValueError: reps_a['l2'] is unusable")
    bad = failed_pair | failed_prep
    assert df.score[bad].isna().all()
    assert df.error[~bad].isna().all()
    for a, b, score in zip(df.a[~bad], df.b[~bad], df.score[~bad]):
        assert score == pytest.approx(mean_corr_brute(layers[a], layers[b]), abs=1e-12)
    # the same table as a run that raises nothing, but for the failed rows
    clean = alignment_matrix(layers, scorer=[MeanCorr(), MeanCorr()])
    np.testing.assert_allclose(df.score[~bad], clean.score[~bad], rtol=0, atol=1e-15)


def test_skipped_pairs_are_not_checkpointed_and_are_retried(layers, tmp_path):
    path = tmp_path / "skip.csv"
    first = alignment_matrix(layers, scorer=FailsOnPair(), on_error="skip", checkpoint=path)
    assert first.score.isna().sum() == 1
    assert len(pd.read_csv(path)) == len(first) - 1
    FailsOnPair.fail, MeanCorr.log = False, []
    second = alignment_matrix(layers, scorer=FailsOnPair(), on_error="skip", checkpoint=path)
    assert MeanCorr.log == [("reps_a['l1']", "reps_a['l3']")]  # only the failed pair again
    assert second.error.isna().all()
    clean = alignment_matrix(layers, scorer=MeanCorr())
    np.testing.assert_allclose(second.score, clean.score, rtol=0, atol=1e-15)


def test_pivot_keeps_failed_cells_missing(layers):
    df = alignment_matrix(layers, scorer=RidgeFailsOnPair(), on_error="skip")
    M = pivot_alignment(df)
    assert np.isnan(M.loc["l2", "l3"])
    assert np.isfinite(M.loc["l3", "l2"])  # computed, not mirrored into the failed cell
    assert np.isfinite(M.drop(index="l2").to_numpy()).all()
    # one failed fold leaves the cell missing instead of the mean of the other folds
    folds = alignment_matrix(layers, scorer=RidgeFailsOnPair(), cv=3, on_error="skip")
    assert folds.score.isna().sum() == 3
    assert np.isnan(pivot_alignment(folds).loc["l2", "l3"])


def test_on_error_must_be_an_option(layers):
    with pytest.raises(ValueError, match="on_error"):
        alignment_matrix(layers, scorer=MeanCorr(), on_error="ignore")


def test_bad_hyper_parameter_is_not_skipped_as_a_failed_pair(layers):
    if not hasattr(skalign, "CKAScorer"):
        pytest.skip("CKAScorer not there yet")
    with pytest.raises(ValueError, match="kernel"):
        alignment_matrix(layers, scorer=skalign.CKAScorer(kernel="bogus"), on_error="skip")


def test_checkpoint_in_missing_folder_fails_before_the_work(layers, tmp_path):
    MeanCorr.log = []
    with pytest.raises(ValueError, match="checkpoint=.*folder that does not exist"):
        alignment_matrix(layers, scorer=MeanCorr(), checkpoint=tmp_path / "nope" / "out.csv")
    assert MeanCorr.log == []


# -- the progress helper ------------------------------------------------------------------------
def test_progress_helper(capsys, monkeypatch):
    from skalign._progress import progress

    items = [3, 1, 2]
    assert progress(items, total=3, verbose=0) is items
    assert list(progress(iter(items), total=3, verbose=1, desc="demo")) == items
    assert "3/3" in capsys.readouterr().err
    hide_tqdm(monkeypatch)
    assert list(progress(range(5), total=8, verbose=True, desc="x", initial=3, unit="pair")) == [
        0,
        1,
        2,
        3,
        4,
    ]
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[x] 3/8 pairs done"
    assert out[-1].startswith("[x] 8/8 pairs done")


# -- inference: p-values and intervals per cell -------------------------------------------
from skalign.inference import bootstrap, draw_permutations, permutation_test  # noqa: E402


@pytest.fixture
def loose(rng):
    """Layers whose pairs range from unrelated to clearly related (intermediate p-values)."""
    base = rng.normal(size=(40, 4))
    return {
        "u0": rng.normal(size=(40, 4)),
        "w": base + 2.5 * rng.normal(size=(40, 4)),
        "u1": rng.normal(size=(40, 3)),
        "s": base @ rng.normal(size=(4, 5)) + 0.3 * rng.normal(size=(40, 5)),
    }


def _row(df, a, b, fold=None):
    rows = df[(df.a == a) & (df.b == b)]
    if fold is not None:
        rows = rows[rows.fold == fold]
    assert len(rows) == 1
    return rows.iloc[0]


def _pairs(df):
    return [(a, b) for a, b in zip(df.a, df.b) if a != b]


class FailsToPermute(MeanCorr):
    """MeanCorr whose prepared layers refuse to be permuted."""

    def permute_prepared(self, P, perm):
        raise RuntimeError("cannot permute this layer")


@pytest.mark.parametrize(
    "make", [skalign.CKAScorer, MeanCorr, RidgeR2], ids=["permute-hook", "re-prepare", "fitted"]
)
def test_pvalue_of_each_cell_equals_permutation_test(loose, make):
    df = alignment_matrix(loose, scorer=make(), n_permutations=39, random_state=7)
    assert list(df.columns) == ["a", "b", "scorer", "score", "pvalue", "pvalue_se"]
    seen = set()
    for a, b in _pairs(df):
        row = _row(df, a, b)
        res = permutation_test(make(), loose[a], loose[b], n_permutations=39, random_state=7)
        assert row.score == pytest.approx(res.statistic, rel=1e-12)
        assert row.pvalue == res.pvalue and row.pvalue_se == res.pvalue_se
        seen.add(res.pvalue)
    assert len(seen) >= 3  # the pairs do not all sit at the floor, so the test can fail


def test_pvalue_brute_force_over_the_drawn_permutations(loose):
    df = alignment_matrix(loose, scorer=MeanCorr(), n_permutations=59, random_state=3)
    perms = draw_permutations(40, 59, random_state=3)
    for a, b in _pairs(df):
        A, B = loose[a], loose[b]
        s = mean_corr_brute(A, B)
        null = np.array([mean_corr_brute(A, B[perm]) for perm in perms])
        p = (1 + np.sum(null >= s - 1e-12)) / 60
        row = _row(df, a, b)
        assert row.pvalue == pytest.approx(p, abs=1e-15)
        assert row.pvalue_se == pytest.approx(np.sqrt(p * (1 - p) / 59), rel=1e-12)


def test_structure_reaches_the_floor_and_independence_does_not(rng):
    X = rng.normal(size=(60, 5))
    reps = {
        "x": X,
        "rotated": X @ np.linalg.qr(rng.normal(size=(5, 5)))[0] + 0.1 * rng.normal(size=(60, 5)),
        "independent": rng.normal(size=(60, 5)),
    }
    df = alignment_matrix(reps, scorer=skalign.CKAScorer(), n_permutations=99, random_state=0)
    assert _row(df, "x", "rotated").pvalue == pytest.approx(1 / 100)
    assert _row(df, "x", "independent").pvalue > 0.05


def test_interval_brute_force_over_resamples_with_replacement(loose):
    df = alignment_matrix(loose, scorer=MeanCorr(), n_resamples=49, confidence_level=0.9, random_state=5)
    assert list(df.columns) == ["a", "b", "scorer", "score", "ci_low", "ci_high"]
    rs = np.random.RandomState(5)
    draws = [rs.randint(0, 40, 40) for _ in range(49)]
    for a, b in _pairs(df):
        A, B = loose[a], loose[b]
        dist = [mean_corr_brute(A[r], B[r]) for r in draws]
        lo, hi = np.quantile(dist, [0.05, 0.95])
        row = _row(df, a, b)
        assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi), rel=1e-10)
        assert row.ci_low < row.ci_high


class NeighbourhoodMeanCorr(MeanCorr):
    """MeanCorr declared a neighbourhood measure, so that it is resampled by half-samples."""

    def _metadata(self):
        return {"distinct_rows": True}


class DeclaredMutualKNN(skalign.MutualKNNScorer):
    """MutualKNNScorer that declares itself a neighbourhood measure in its metadata."""

    def _metadata(self):
        return {**super()._metadata(), "distinct_rows": True}


def test_neighbourhood_interval_brute_force_over_half_samples(loose):
    df = alignment_matrix(loose, scorer=NeighbourhoodMeanCorr(), n_resamples=49, random_state=5)
    rs = np.random.RandomState(5)
    halves = [np.sort(rs.permutation(40)[:20]) for _ in range(49)]
    for a, b in _pairs(df):
        A, B = loose[a], loose[b]
        s = mean_corr_brute(A, B)
        dist = np.array([mean_corr_brute(A[h], B[h]) for h in halves])
        dist = dist - dist.mean() + s  # recentred on the full-sample score
        lo, hi = np.clip(np.quantile(dist, [0.025, 0.975]), -1, 1)  # within score_range
        row = _row(df, a, b)
        assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi), rel=1e-10)


class TopOnAllRows(NeighbourhoodMeanCorr):
    """A neighbourhood measure in [0, 1] at its top, 1, on all rows: its recentred
    half-sample values spread around 1, beyond the range."""

    score_range = (0.0, 1.0)

    def combine(self, PX, PY):
        return 1.0 if PX[1].size == 40 else abs(super().combine(PX, PY))


def test_intervals_are_clipped_to_the_score_range(loose):
    df = alignment_matrix(loose, scorer=TopOnAllRows(), n_resamples=39, random_state=0)
    for a, b in _pairs(df):
        row = _row(df, a, b)
        assert row.score == 1.0 and row.ci_high == 1.0 and 0.0 <= row.ci_low < 1.0


@pytest.mark.parametrize(
    "make", [skalign.CKAScorer, RidgeR2, DeclaredMutualKNN, skalign.MutualKNNScorer],
    ids=["resampled", "fitted", "neighbourhood-half-samples", "neighbourhood-by-invariance"],
)
def test_interval_of_each_cell_equals_bootstrap(loose, make):
    df = alignment_matrix(loose, scorer=make(), n_resamples=39, random_state=11)
    for a, b in _pairs(df)[:3]:
        res = bootstrap(make(), loose[a], loose[b], n_resamples=39, random_state=11)
        row = _row(df, a, b)
        assert (row.ci_low, row.ci_high) == pytest.approx(tuple(res.confidence_interval), rel=1e-12)


@pytest.mark.parametrize("make", [skalign.CKAScorer, RidgeR2], ids=["stateless", "fitted"])
def test_cv_inference_is_on_the_mean_rows_and_equals_the_cross_validated_tests(loose, make):
    cv = KFold(2)
    df = alignment_matrix(
        loose, scorer=make(), cv=cv, n_permutations=19, n_resamples=39, random_state=2
    )
    assert list(df.columns) == [
        "a", "b", "scorer", "score", "fold", "pvalue", "pvalue_se", "ci_low", "ci_high"
    ]
    folds, means = df[df.fold != "mean"], df[df.fold == "mean"]
    assert set(folds.fold) == {0, 1} and len(means) == len(folds) // 2
    assert folds[["pvalue", "ci_low"]].isna().all().all()
    assert df.index[df.fold == "mean"].min() > df.index[df.fold != "mean"].max()
    for a, b in _pairs(means)[:3]:
        row = _row(df, a, b, "mean")
        assert row.score == pytest.approx(folds[(folds.a == a) & (folds.b == b)].score.mean(), rel=1e-12)
        res = permutation_test(make(), loose[a], loose[b], n_permutations=19, cv=cv, random_state=2)
        assert row.score == pytest.approx(res.statistic, rel=1e-12)
        assert row.pvalue == res.pvalue
        boot = bootstrap(make(), loose[a], loose[b], n_resamples=39, cv=cv, random_state=2)
        assert (row.ci_low, row.ci_high) == pytest.approx(tuple(boot.confidence_interval), rel=1e-12)
    # pivoting: scores from the fold rows, p-values from the mean rows
    M = pivot_alignment(df)
    P = pivot_alignment(df, values="pvalue")
    a, b = _pairs(means)[0]
    assert M.loc[a, b] == pytest.approx(_row(df, a, b, "mean").score, rel=1e-12)
    assert P.loc[a, b] == _row(df, a, b, "mean").pvalue


def test_inference_parallel_equals_sequential(loose):
    kwargs = dict(scorer=[skalign.CKAScorer(), MeanCorr()], n_permutations=19, n_resamples=39,
                  random_state=4)
    one = alignment_matrix(loose, **kwargs)
    two = alignment_matrix(loose, n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    # the draws do not depend on which pairs are scored or in what order
    names = list(loose)[::-1]
    rev = alignment_matrix({k: loose[k] for k in names}, scorer=MeanCorr(), n_permutations=19,
                           n_resamples=39, random_state=4)
    for a, b in _pairs(rev):
        r = _row(rev, a, b)
        o = one[(one.scorer == "MeanCorr") & (((one.a == a) & (one.b == b)) | ((one.a == b) & (one.b == a)))]
        if (o.a.iloc[0], o.b.iloc[0]) == (a, b):
            assert (r.pvalue, r.ci_low, r.ci_high) == (o.pvalue.iloc[0], o.ci_low.iloc[0], o.ci_high.iloc[0])


@pytest.mark.filterwarnings("ignore:n_permutations=6:UserWarning")
def test_each_layer_prepared_once_and_permuted_at_most_once_per_permutation(layers, prepared_names, monkeypatch):
    seen = prepared_names
    reps_b = {"x": layers["l0"], "y": layers["l1"]}
    alignment_matrix(layers, reps_b, scorer=MeanCorr(), n_permutations=6, random_state=0)
    # MeanCorr's prepared tuple has no permute hook: one new preparation per b layer per permutation
    assert sorted(seen) == sorted(
        [f"reps_a[{k!r}]" for k in layers] + ["reps_b['x']", "reps_b['y']"] * 7
    )

    # per resample, each layer is prepared once on the resampled rows, whatever its pairs
    seen.clear()
    with pytest.warns(UserWarning, match="n_resamples=4"):
        alignment_matrix(layers, reps_b, scorer=MeanCorr(), n_resamples=4, random_state=0)
    assert sorted(seen) == sorted(
        [f"reps_a[{k!r}]" for k in layers] * 5 + ["reps_b['x']", "reps_b['y']"] * 5
    )

    cka_seen = []
    cka_prepare = skalign.CKAScorer.prepare

    def cka_counting(self, X, name="X"):
        cka_seen.append(name)
        return cka_prepare(self, X, name)

    monkeypatch.setattr(skalign.CKAScorer, "prepare", cka_counting)
    alignment_matrix(layers, scorer=skalign.CKAScorer(), n_permutations=6, random_state=0)
    assert sorted(cka_seen) == sorted(f"reps_a[{k!r}]" for k in layers)  # permuted by its hook


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_permutations=-1), "n_permutations"),
        (dict(n_resamples=-3), "n_resamples"),
        (dict(n_resamples=9, confidence_level=1.0), "confidence_level"),
        (dict(n_resamples=9, confidence_level=0), "confidence_level"),
        (dict(n_permutations=9, random_state="seed"), "random_state"),
    ],
)
def test_bad_inference_arguments_are_named(layers, kwargs, match):
    with pytest.raises(ValueError, match=match):
        alignment_matrix(layers, scorer=MeanCorr(), **kwargs)


def test_too_few_permutations_warn_in_one_line(layers):
    with pytest.warns(UserWarning, match=r"n_permutations=9: the smallest p-value it can give is 0\.1") as rec:
        alignment_matrix(layers, scorer=MeanCorr(), n_permutations=9, random_state=0)
    assert all("\n" not in str(w.message) for w in rec)


def test_failed_inference_keeps_the_score(layers):
    df = alignment_matrix(layers, scorer=FailsToPermute(), n_permutations=19, random_state=0,
                          on_error="skip")
    plain = alignment_matrix(layers, scorer=MeanCorr())
    np.testing.assert_array_equal(df.score, plain.score)
    assert df.pvalue.isna().all()
    assert df.error.str.contains("could not test a=.*cannot permute this layer").all()
    with pytest.raises(RuntimeError, match=r"could not test a='l0', b='l0'.*cannot permute"):
        alignment_matrix(layers, scorer=FailsToPermute(), n_permutations=19, random_state=0)


def test_pivot_of_an_inference_column(loose):
    df = alignment_matrix(loose, scorer=MeanCorr(), n_permutations=19, n_resamples=39, random_state=0)
    for column in ("pvalue", "ci_high"):
        M = pivot_alignment(df, values=column)
        for a, b, v in zip(df.a, df.b, df[column]):
            assert M.loc[a, b] == v and M.loc[b, a] == v  # mirrored: symmetric scorer
    with pytest.raises(ValueError, match="'values' parameter"):
        pivot_alignment(df, values="nope")
    with pytest.raises(ValueError, match="n_resamples > 0"):
        pivot_alignment(alignment_matrix(loose, scorer=MeanCorr()), values="ci_low")


@pytest.mark.parametrize("ext", [".parquet", ".csv"])
def test_checkpoint_resume_with_inference_equals_an_uninterrupted_run(loose, tmp_path, ext):
    path = tmp_path / f"inference{ext}"
    settings = dict(n_permutations=19, n_resamples=39, random_state=1)
    scorers = {"ok": MeanCorr(), "late": InterruptedMeanCorr()}
    everything = alignment_matrix(loose, scorer=scorers, **settings)

    n_cells = len(loose) * (len(loose) + 1) // 2
    # the second scorer fails in its inference pass, after every score is in
    InterruptedMeanCorr.log, InterruptedMeanCorr.limit = [], n_cells + 30
    with pytest.raises(RuntimeError, match="simulated interruption"):
        alignment_matrix(loose, scorer=scorers, checkpoint=path, **settings)
    saved = pd.read_parquet(path) if ext == ".parquet" else pd.read_csv(path)
    assert list(saved.columns[:10]) == skalign._checkpoint.COLUMNS
    assert len(saved) == n_cells and set(saved.scorer) == {"ok"}  # stored once tested
    assert saved.pvalue.notna().all() and saved.ci_low.notna().all()

    MeanCorr.log, InterruptedMeanCorr.log, InterruptedMeanCorr.limit = [], [], None
    resumed = alignment_matrix(loose, scorer=scorers, checkpoint=path, **settings)
    assert MeanCorr.log == []  # the finished scorer is read back, with its inference
    pd.testing.assert_frame_equal(resumed, everything, check_exact=True)

    # other inference settings are other rows: recomputed
    for other in (dict(settings, n_permutations=29), dict(settings, random_state=2),
                  dict(settings, confidence_level=0.9)):
        MeanCorr.log = []
        alignment_matrix(loose, scorer={"ok": MeanCorr()}, checkpoint=path, **other)
        assert MeanCorr.log


def test_checkpoint_with_cv_and_inference(loose, tmp_path):
    path = tmp_path / "cv.csv"
    kwargs = dict(scorer=RidgeR2(), cv=2, n_permutations=5, random_state=0, checkpoint=path)
    with pytest.warns(UserWarning, match="n_permutations=5"):
        first = alignment_matrix(loose, **kwargs)
    RidgeR2.fits = []
    with pytest.warns(UserWarning, match="n_permutations=5"):
        second = alignment_matrix(loose, **kwargs)
    assert RidgeR2.fits == []
    pd.testing.assert_frame_equal(first, second, check_exact=True)


def test_score_only_checkpoint_is_read_and_upgraded(loose, tmp_path):
    from skalign._checkpoint import _SCORE_COLUMNS, _crc, _format_line

    path = tmp_path / "old.csv"
    full = alignment_matrix(loose, scorer=MeanCorr())
    key = skalign._checkpoint.scorer_params_key(MeanCorr())
    lines = [_format_line(_SCORE_COLUMNS + ["crc"])]
    for a, b, score in zip(full.a, full.b, full.score):
        fields = [a, b, "MeanCorr", key, "-1", repr(float(score))]
        lines.append(_format_line(fields + [_crc(fields)]))
    path.write_text("".join(lines))
    MeanCorr.log = []
    again = alignment_matrix(loose, scorer=MeanCorr(), checkpoint=path)
    assert MeanCorr.log == []
    pd.testing.assert_frame_equal(again, full)
    alignment_matrix(loose, scorer=MeanCorr(), n_permutations=19, random_state=0, checkpoint=path)
    upgraded = pd.read_csv(path)
    assert list(upgraded.columns) == skalign._checkpoint.COLUMNS + ["crc"]
    assert len(upgraded) == 2 * len(full)


def test_plot_hatches_exactly_the_cells_that_are_not_significant(loose):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = alignment_matrix(loose, scorer=MeanCorr(), n_permutations=99, random_state=0)
    P = pivot_alignment(df, values="pvalue").to_numpy()
    expected = {(r, c) for r in range(P.shape[0]) for c in range(P.shape[1]) if P[r, c] >= 0.05}
    assert expected and len(expected) < P.size  # both kinds of cell are present
    ax = plot_alignment_matrix(df, alpha=0.05)
    try:
        hatched = [p for p in ax.patches if p.get_gid() == "not significant"]
        cells = {(round(p.get_y() + 0.5), round(p.get_x() + 0.5)) for p in hatched}
        assert cells == expected and len(hatched) == len(expected)
        assert all(p.get_hatch() for p in hatched)
        assert "not significant" in ax.get_title() and "0.05" in ax.get_title()
    finally:
        plt.close(ax.figure)
    ax = plot_alignment_matrix(df)
    try:
        assert not [p for p in ax.patches if p.get_gid() == "not significant"]
    finally:
        plt.close(ax.figure)
    for bad in (5, 0, 1.0, "0.05"):
        with pytest.raises(ValueError, match="'alpha' parameter"):
            plot_alignment_matrix(df, alpha=bad)
    with pytest.raises(ValueError, match="'pvalue' column"):
        plot_alignment_matrix(alignment_matrix(loose, scorer=MeanCorr()), alpha=0.05)


def test_skip_with_cv_leaves_the_mean_of_a_failed_pair_untested(layers):
    df = alignment_matrix(layers, scorer=FailsOnPair(), cv=2, n_permutations=19, random_state=0,
                          on_error="skip")
    bad = (df.a == "l1") & (df.b == "l3")
    means = df.fold == "mean"
    assert df[bad & ~means].score.isna().all()
    row = df[bad & means].iloc[0]
    assert np.isnan(row.score) and np.isnan(row.pvalue) and "fold(s) [0, 1] failed" in row.error
    ok = df[~bad & means]
    assert ok.pvalue.notna().all() and ok.error.isna().all()


def test_cv_inference_parallel_equals_sequential(loose):
    kwargs = dict(scorer=[skalign.CKAScorer(), RidgeR2()], cv=2, n_permutations=19, n_resamples=39,
                  random_state=4)
    one = alignment_matrix(loose, **kwargs)
    two = alignment_matrix(loose, n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
