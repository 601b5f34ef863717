"""Checks every public skalign estimator passes, found by introspection.

Paired scorers take Y as a second 2-D representation in the place of the target;
transformers take one representation. New estimators are picked up automatically
from ``skalign.estimators.__all__``; ``TEST_PARAMS`` and ``TEST_DATA`` hold the few
settings that make the default instance runnable on small test data.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skalign.base import INVARIANCES, METADATA_DEFAULTS, BasePairedScorer, RepresentationWarning
from skalign.utils import all_estimators

ESTIMATORS = dict(all_estimators())
PAIRED = sorted(n for n, c in ESTIMATORS.items() if issubclass(c, BasePairedScorer))
OTHERS = sorted(n for n in ESTIMATORS if n not in PAIRED)

# Small-data settings for the checks (the defaults target real activations).
TEST_PARAMS = {
    "TopologicalAlignmentSpectrum": {"n_neighbors": 3},
    # scikit-learn's checks pass one-column y, whose correlation distance is undefined
    "RSAScorer": {"rdm_metric": "euclidean"},
    "LocalIntrinsicDimension": {"n_neighbors": 8},
    "InformationImbalance": {},
}


def _paired_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    Y = X @ rng.normal(size=(5, 4)) + 0.3 * rng.normal(size=(n, 4))
    return X, Y


def _images(n=30, seed=0):
    return np.random.default_rng(seed).random((n, 6, 6))


def _clouds(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(25, 3)) for _ in range(n)]


TEST_DATA = {
    "CubicalBettiProfile": _images,
    "PersistenceSummary": _clouds,
}


def _make(name):
    est = ESTIMATORS[name]()
    return est.set_params(**TEST_PARAMS.get(name, {}))


def _single_data(name):
    if name in TEST_DATA:
        return TEST_DATA[name]()
    return np.random.default_rng(0).normal(size=(60, 5))


def test_estimators_were_found():
    assert ESTIMATORS, "no estimators found in skalign.estimators.__all__"


# ---------------------------------------------------------------- every estimator
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_params_roundtrip_and_clone(name):
    est = _make(name)
    params = est.get_params()
    est2 = clone(est)
    assert est2.get_params() == params
    est2.set_params(**params)
    assert est2.get_params() == params
    # hyper-parameters are stored as given, nothing fitted before fit
    assert not [a for a in vars(est) if a.endswith("_") and not a.startswith("_")]


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_docstring_has_reference_and_parameters(name):
    doc = ESTIMATORS[name].__doc__ or ""
    assert "Parameters" in doc and "References" in doc, f"{name} needs numpydoc Parameters and References"


# ---------------------------------------------------------------- paired scorers
@pytest.mark.parametrize("name", PAIRED)
def test_paired_fit_score_pickle(name):
    X, Y = _paired_data()
    est = _make(name).fit(X, Y)
    s = est.score(X, Y)
    assert isinstance(s, float) and np.isfinite(s)
    lo, hi = est.score_range
    assert lo - 1e-9 <= s <= hi + 1e-9
    est2 = pickle.loads(pickle.dumps(est))
    assert est2.score(X, Y) == pytest.approx(s, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", PAIRED)
def test_paired_metadata(name):
    meta = _make(name).metadata()
    lo, hi = meta["score_range"]
    assert lo < hi
    assert set(meta["invariances"]) <= set(INVARIANCES)
    assert isinstance(meta["symmetric"], bool) and isinstance(meta["stateless"], bool)


@pytest.mark.parametrize("name", PAIRED)
def test_paired_declared_invariances_hold(name):
    """Each declared invariance, applied to X, leaves the in-sample score unchanged."""
    X, Y = _paired_data(seed=1)
    est = _make(name)
    base = est.fit(X, Y).score(X, Y)
    rng = np.random.default_rng(5)
    d = X.shape[1]
    transforms = {
        "translation": lambda A: A + rng.normal(size=d) * 3,
        "isotropic_scaling": lambda A: 2.5 * A,
        "orthogonal": lambda A: A @ np.linalg.qr(rng.normal(size=(d, d)))[0],
        "invertible_linear": lambda A: A @ (rng.normal(size=(d, d)) + 3 * np.eye(d)),
        "permutation": lambda A: A[:, rng.permutation(d)],
    }
    for inv in est.invariances:
        if inv == "monotone_distance":
            # squaring distances changes every distance but no neighbour order
            assert "metric" in est.get_params(), f"{name} declares monotone_distance but has no metric"
            sq = clone(est).set_params(metric="sqeuclidean")
            got = sq.fit(X, Y).score(X, Y)
        elif inv == "sample_permutation":
            p = rng.permutation(X.shape[0])
            got = clone(est).fit(X[p], Y[p]).score(X[p], Y[p])
        else:
            Xt = transforms[inv](X)
            got = clone(est).fit(Xt, Y).score(Xt, Y)
        assert got == pytest.approx(base, rel=1e-6, abs=1e-8), inv


# asymmetric by its formula, not by what it measures: CKNNA's unbiased-HSIC term 1ᵀAB1 of
# two non-symmetric masked kernels changes on a swap, by about 3e-4 here (well above rounding)
ASYMMETRY_AT_LEAST = {"CKNNAScorer": 1e-5}

# parameter settings that change whether a scorer is symmetric
SYMMETRY_VARIANTS = {
    "InformationImbalance": [{"direction": "x_to_y"}, {"direction": "y_to_x"}],
    "LinearRegressionScorer": [{"symmetric": True}],
}


@pytest.mark.parametrize(
    "name, params",
    [(n, {}) for n in PAIRED] + [(n, p) for n in PAIRED for p in SYMMETRY_VARIANTS.get(n, [])],
)
def test_paired_symmetry_flag(name, params):
    """The flag is honest both ways: symmetric scorers give equal scores on swapped inputs,
    asymmetric ones give different scores on a pair where one side predicts the other better."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 5))
    Y = np.column_stack([X[:, :2] + 0.05 * rng.normal(size=(80, 2)), rng.normal(size=(80, 2))])
    est = _make(name).set_params(**params)
    a = clone(est).fit(X, Y).score(X, Y)
    b = clone(est).fit(Y, X).score(Y, X)
    if est.symmetric:
        assert a == pytest.approx(b, rel=1e-8, abs=1e-10)
    else:
        assert abs(a - b) > ASYMMETRY_AT_LEAST.get(name, 1e-3)


@pytest.mark.parametrize("name", PAIRED)
def test_paired_prepare_combine_is_score(name):
    X, Y = _paired_data(seed=3)
    est = _make(name)
    s = clone(est).fit(X, Y).score(X, Y)
    c = est.combine(est.prepare(X, "X"), est.prepare(Y, "Y"))
    assert c == pytest.approx(s, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", PAIRED)
def test_paired_pipeline_cv_and_grid_search(name):
    X, Y = _paired_data(n=90)
    est = _make(name)
    pipe = make_pipeline(StandardScaler(), clone(est))
    s_pipe = pipe.fit(X, Y).score(X, Y)
    s_direct = clone(est).fit(StandardScaler().fit_transform(X), Y).score(StandardScaler().fit_transform(X), Y)
    assert s_pipe == pytest.approx(s_direct, rel=1e-10, abs=1e-12)

    cv = KFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(clone(est), X, Y, cv=cv)
    assert scores.shape == (3,) and np.isfinite(scores).all()

    # a one-point grid must reproduce cross_val_score exactly
    param, value = sorted(est.get_params(deep=False).items())[0]
    gs = GridSearchCV(clone(est), {param: [value]}, cv=cv).fit(X, Y)
    assert gs.best_score_ == pytest.approx(scores.mean(), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", PAIRED)
def test_paired_dataframes(name):
    X, Y = _paired_data()
    dX = pd.DataFrame(X, columns=[f"u{i}" for i in range(X.shape[1])])
    dY = pd.DataFrame(Y, columns=[f"v{i}" for i in range(Y.shape[1])])
    est = _make(name).fit(dX, dY)
    assert list(est.feature_names_in_) == list(dX.columns)
    assert est.score(dX, dY) == pytest.approx(clone(est).fit(X, Y).score(X, Y), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", PAIRED)
def test_paired_metadata_attributes_come_from_metadata(name):
    """Every metadata attribute reads metadata(), for every parameter setting tried."""
    variants = [{}] + SYMMETRY_VARIANTS.get(name, []) + METADATA_VARIANTS.get(name, [])
    for params in variants:
        est = _make(name).set_params(**params)
        meta = est.metadata()
        assert meta["name"] == name
        for key in METADATA_DEFAULTS:
            assert getattr(est, key) == meta[key], (params, key)


# parameter settings that change a scorer's declared range
METADATA_VARIANTS = {
    "CKAScorer": [{"debiased": True}],
    "ProcrustesScorer": [{"score_method": "euclidean"}],
}


def test_metadata_follows_parameters():
    from skalign import CKAScorer, InformationImbalance, LinearRegressionScorer, ProcrustesScorer

    assert CKAScorer().score_range == (0.0, 1.0) and CKAScorer(debiased=True).score_range == (-1.0, 1.0)
    assert ProcrustesScorer(score_method="euclidean").score_range == (-np.inf, 0.0)
    # the hyper-parameter and the declared property are one value
    assert LinearRegressionScorer(symmetric=True).metadata()["symmetric"] is True
    assert LinearRegressionScorer().metadata()["symmetric"] is False
    assert InformationImbalance(direction="x_to_y").metadata()["symmetric"] is False
    # on the class: the default instance's value
    assert CKAScorer.score_range == (0.0, 1.0)


def test_subclass_with_class_attributes_is_honoured():
    """A scorer written as plain class attributes still reports them through metadata()."""

    class Corr(BasePairedScorer):
        score_range = (-1.0, 1.0)
        symmetric = False

        def combine(self, PX, PY):
            return float(np.corrcoef(PX[:, 0], PY[:, 0])[0, 1])

    est = Corr()
    assert est.metadata()["score_range"] == (-1.0, 1.0) and est.metadata()["symmetric"] is False
    assert est.stateless is True and est.metadata()["invariances"] == ()


@pytest.mark.parametrize("name", PAIRED)
def test_paired_y_by_keyword(name):
    """fit and score take the second representation as ``y``, as scikit-learn passes it."""
    X, Y = _paired_data()
    s = clone(_make(name)).fit(X, Y).score(X, Y)
    est = _make(name).fit(X, y=Y)
    assert est.score(X, y=Y) == pytest.approx(s, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", PAIRED)
def test_paired_methods_name_the_second_representation_y(name):
    """scikit-learn passes the target as ``y=``; every paired method that takes it says so."""
    import inspect

    for method in ("fit", "score", "partial_fit"):
        if hasattr(ESTIMATORS[name], method):
            params = list(inspect.signature(getattr(ESTIMATORS[name], method)).parameters)
            assert params[1:3] == ["X", "y"], (method, params)


@pytest.mark.parametrize("name", PAIRED)
def test_paired_y_column_names_are_checked(name):
    X, Y = _paired_data()
    dY = pd.DataFrame(Y, columns=[f"v{i}" for i in range(Y.shape[1])])
    est = _make(name).fit(X, dY)
    assert list(est.feature_names_y_) == list(dY.columns)
    # the same columns in another order would be compared with the wrong partners
    with pytest.raises(ValueError, match="feature names of Y.*same order"):
        est.score(X, dY[dY.columns[::-1]])
    with pytest.raises(ValueError, match="feature names of Y.*unseen at fit time: 'w0'"):
        est.score(X, dY.rename(columns={"v0": "w0"}))
    with pytest.warns(UserWarning, match="Y does not have valid feature names"):
        est.score(X, Y)
    plain = clone(_make(name)).fit(X, Y)
    assert not hasattr(plain, "feature_names_y_")
    with pytest.warns(UserWarning, match="Y has feature names, but"):
        plain.score(X, dY)


def _frames(X):
    """X as DataFrames of the dtypes users hold, each with the same values."""
    cols = [f"c{i}" for i in range(X.shape[1])]
    ints = np.round(X * 1000)  # few exactly tied distances, which some measures order by layout
    mixed = pd.DataFrame(X, columns=cols)
    mixed["c0"] = X[:, 0] > 0
    return {
        "nullable_float": (pd.DataFrame(X, columns=cols).astype("Float64"), X),
        "nullable_int": (pd.DataFrame(ints.astype(np.int64), columns=cols).astype("Int64"), ints),
        "pyarrow": (pd.DataFrame(X, columns=cols).astype("double[pyarrow]"), X),
        "bool_column": (mixed, np.column_stack([(X[:, 0] > 0).astype(float), X[:, 1:]])),
    }


@pytest.mark.parametrize("kind", ["nullable_float", "nullable_int", "pyarrow", "bool_column"])
@pytest.mark.parametrize("name", PAIRED)
def test_paired_dataframe_dtypes(name, kind):
    """Numeric frames of extension or mixed dtypes score as the float64 array of their values."""
    X, Y = _paired_data()
    dX, values = _frames(X)[kind]
    expected = clone(_make(name)).fit(values, Y).score(values, Y)
    est = _make(name).fit(dX, Y)
    assert est.score(dX, Y) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", PAIRED)
def test_paired_shape_warnings_once(name):
    """Few samples warn once per public call, not once per internal check; enough samples do not."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(9, 3))
    Y = X @ rng.normal(size=(3, 2)) + 0.5 * rng.normal(size=(9, 2))
    est = _make(name)
    if "n_neighbors" in est.get_params() and name != "InformationImbalance":
        est.set_params(n_neighbors=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, Y)
    few = [w for w in caught if issubclass(w.category, RepresentationWarning)]
    assert len(few) == 1 and "only 9 samples" in str(few[0].message)
    assert few[0].filename == __file__  # points at the caller's line
    X, Y = _paired_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RepresentationWarning)
        clone(est).fit(X, Y).score(X, Y)


@pytest.mark.parametrize("name", PAIRED)
def test_paired_bad_input(name):
    X, Y = _paired_data()
    est = _make(name)
    with pytest.raises(NotFittedError):
        est.score(X, Y)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        clone(est).fit(Xn, Y)
    with pytest.raises(ValueError, match=r"X has shape \(60, 5\) and Y has shape \(59, 4\)"):
        clone(est).fit(X, Y[:-1])
    with pytest.raises(ValueError, match="Y must be a 2-D array"):
        clone(est).fit(X, Y[:, 0])
    import scipy.sparse as sp

    with pytest.raises(TypeError, match="sparse"):
        clone(est).fit(sp.csr_matrix(X), Y)
    with pytest.raises(ValueError, match="zero variance|at least|constant"):
        clone(est).fit(X, np.ones_like(Y))


# ---------------------------------------------------------------- transformers and other estimators
@pytest.mark.parametrize("name", OTHERS)
def test_single_fit_pickle_and_pandas_output(name):
    X = _single_data(name)
    est = _make(name).fit(X)
    if hasattr(est, "transform"):
        out = est.transform(X)
        est2 = pickle.loads(pickle.dumps(est))
        np.testing.assert_allclose(est2.transform(X), out)
        names = est.get_feature_names_out()
        assert len(names) == out.shape[1]
        df = clone(est).set_output(transform="pandas").fit(X).transform(X)
        assert isinstance(df, pd.DataFrame) and list(df.columns) == list(names)
        np.testing.assert_allclose(df.to_numpy(), out)
    else:
        pickle.loads(pickle.dumps(est))


# ---------------------------------------------------------------- scikit-learn's own checks
# Every check listed here fails for the reason given, and only those (xfail_strict): a check
# that starts to pass must be taken off the list. Paired scorers get Y in the place of y.


def _expected_failed_checks(est):
    name = type(est).__name__
    if isinstance(est, BasePairedScorer):
        return {**_PAIRED_EXPECTED_FAILS, **_PAIRED_EXTRA_FAILS.get(name, {})}
    return _OTHER_EXPECTED_FAILS.get(name, {})


_ZERO_ROW_REASON = ("scikit-learn's y for this check has all-zero rows, whose cosine neighbourhoods "
                    "are undefined: CKNNA refuses them, naming y")
_PAIRED_EXTRA_FAILS = {
    "CKNNAScorer": {
        "check_fit_score_takes_y": _ZERO_ROW_REASON,
        "check_pipeline_consistency": _ZERO_ROW_REASON,
    },
}


_OBJECT_REASON = "object-dtype input is refused by design, even when it holds numbers"
_PAIRED_EXPECTED_FAILS = {
    "check_dtype_object": _OBJECT_REASON,
}

_OTHER_EXPECTED_FAILS = {
    "CubicalBettiProfile": {"check_dtype_object": _OBJECT_REASON},
    "TwoNN": {"check_dtype_object": _OBJECT_REASON},
    "LocalIntrinsicDimension": {
        "check_dtype_object": _OBJECT_REASON,
        "check_methods_subset_invariance": "neighbourhoods are taken among the rows transformed together, "
        "so one row alone has no neighbours",
    },
    # scikit-learn feeds 2-column arrays, which PersistenceSummary reads as clouds of 2 points and
    # refuses (a Rips H1 needs at least 3); the same properties are tested on real clouds in
    # tests/test_topology.py::test_persistence_summary_estimator_contract.
    "PersistenceSummary": {
        c: "2-column input is a cloud of 2 points, which is refused (at least 3 are needed)"
        for c in [
            "check_estimators_overwrite_params",
            "check_estimators_fit_returns_self",
            "check_readonly_memmap_input",
            "check_fit_idempotent",
            "check_fit_check_is_fitted",
        ]
    },
}


@parametrize_with_checks(
    [_make(n) for n in sorted(ESTIMATORS)],
    expected_failed_checks=_expected_failed_checks,
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
