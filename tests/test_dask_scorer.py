"""CKAScorer on dask.array input: equal to in memory, fit reads nothing, errors named."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
from dask.callbacks import Callback  # noqa: E402
from sklearn.base import clone  # noqa: E402

from skalign import CKAScorer  # noqa: E402


class _Computes(Callback):
    """Counts the graphs the local scheduler runs."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def _start(self, dsk):
        self.n += 1


def _pair(seed=0, n=600, offset=1e6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 12))
    Y = np.tanh(X @ rng.normal(size=(12, 5))) + 0.3 * rng.normal(size=(n, 5))
    return X + offset, Y


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("sides", ["both", "x", "y"])
def test_dask_score_equals_in_memory(debiased, sides):
    X, Y = _pair()
    Xd = da.from_array(X, chunks=(97, -1)) if sides in ("both", "x") else X
    Yd = da.from_array(Y, chunks=(131, 3)) if sides in ("both", "y") else Y
    ours = CKAScorer(debiased=debiased).fit(Xd, Yd).score(Xd, Yd)
    ref = CKAScorer(debiased=debiased).fit(X, Y).score(X, Y)
    assert abs(ours - ref) < 1e-10


def test_fit_reads_no_data_and_score_reads_once():
    X, Y = _pair(1)
    Xd, Yd = da.from_array(X, chunks=100), da.from_array(Y, chunks=100)
    with _Computes() as c:
        est = CKAScorer().fit(Xd, Yd)
    assert c.n == 0
    assert (est.n_features_in_, est.n_features_y_) == (12, 5)
    with _Computes() as c:
        est.score(Xd, Yd)
    # one graph (one read of each array) whatever the chunking
    assert c.n == 1


def test_dask_errors_name_the_argument():
    X, Y = _pair(2)
    Xn = X.copy()
    Xn[7, 3] = np.nan
    est = CKAScorer()
    with pytest.raises(ValueError, match="X contains NaN"):
        est.fit(da.from_array(Xn, chunks=50), Y).score(da.from_array(Xn, chunks=50), Y)
    with pytest.raises(ValueError, match="Y has zero variance"):
        est.fit(X, da.ones((600, 3), chunks=100)).score(X, da.ones((600, 3), chunks=100))
    with pytest.raises(ValueError, match="X has 600 samples and Y has 599|same samples|600.*599"):
        est.fit(da.from_array(X), da.from_array(Y[:-1]))
    fitted = CKAScorer().fit(da.from_array(X), Y)
    with pytest.raises(ValueError, match="features"):
        fitted.score(da.from_array(X[:, :4]), Y)
    with pytest.raises(ValueError, match="kernel='rbf'"):
        CKAScorer(kernel="rbf").fit(da.from_array(X), Y).score(da.from_array(X), Y)
    with pytest.raises(TypeError, match="Dask array"):
        CKAScorer().prepare(da.from_array(X))
    assert clone(fitted).get_params() == fitted.get_params()


def test_dask_scorer_on_a_distributed_client():
    distributed = pytest.importorskip("distributed")
    X, Y = _pair(3, n=400)
    with distributed.Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None):
        Xd, Yd = da.from_array(X, chunks=(61, -1)), da.from_array(Y, chunks=(77, -1))
        ours = CKAScorer(debiased=True).fit(Xd, Yd).score(Xd, Yd)
    assert abs(ours - CKAScorer(debiased=True).fit(X, Y).score(X, Y)) < 1e-10


@pytest.mark.parametrize(
    "make",
    [
        lambda: __import__("skalign").ProcrustesScorer(),
        lambda: __import__("skalign").ProcrustesScorer(alpha=0.5),
        lambda: __import__("skalign").LinearRegressionScorer(),
    ],
    ids=["procrustes", "procrustes_alpha0.5", "ridge"],
)
def test_fitted_scorers_take_dask_train_and_test_rows(make):
    X, Y = _pair(4, n=700, offset=1e5)
    tr, te = slice(0, 500), slice(500, None)
    dask_est = make().fit(da.from_array(X[tr], chunks=77), da.from_array(Y[tr], chunks=101))
    ours = dask_est.score(da.from_array(X[te], chunks=50), da.from_array(Y[te], chunks=64))
    ref = make().fit(X[tr], Y[tr]).score(X[te], Y[te])
    assert abs(ours - ref) < 1e-10
    with _Computes() as c:
        make().fit(da.from_array(X[tr], chunks=77), Y[tr])
    assert c.n >= 1  # a fitted scorer reads its training rows in fit (a few graphs, not one per chunk)
    assert c.n <= 4


def test_prepare_refuses_dask_instead_of_loading_it():
    from skalign import LinearRegressionScorer, ProcrustesScorer

    X, _ = _pair(5, n=100)
    for est in (CKAScorer(), ProcrustesScorer(), LinearRegressionScorer()):
        with pytest.raises(TypeError, match="layer is a Dask array"):
            est.prepare(da.from_array(X, chunks=30), name="layer")
