"""Distance correlation: against the dcor package, a dense brute force, and on bad input."""

import numpy as np
import pytest
import sklearn
from scipy.spatial.distance import cdist

from skalign import DistanceCorrelationScorer
from skalign.metrics import combine_distance_correlation, distance_correlation, prepare_distance_correlation


def _pair(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    Y = np.tanh(X[:, :3]) ** 2 + 0.5 * rng.normal(size=(n, 3))
    return X, Y


def _dense(X, Y, bias_corrected):
    """The definitions written out on dense n x n matrices."""
    a, b = cdist(X, X), cdist(Y, Y)
    n = len(X)

    def centred(d):
        if not bias_corrected:
            return d - d.mean(0) - d.mean(1)[:, None] + d.mean()
        u = d - d.sum(0) / (n - 2) - d.sum(1)[:, None] / (n - 2) + d.sum() / ((n - 1) * (n - 2))
        np.fill_diagonal(u, 0.0)
        return u

    A, B = centred(a), centred(b)
    scale = n * n if not bias_corrected else n * (n - 3)
    v = lambda P, Q: np.sum(P * Q) / scale  # noqa: E731
    r = v(A, B) / np.sqrt(v(A, A) * v(B, B))
    return r if bias_corrected else np.sqrt(r)


@pytest.mark.parametrize("bias_corrected", [False, True])
def test_equals_dense_definition(bias_corrected):
    X, Y = _pair()
    assert distance_correlation(X, Y, bias_corrected=bias_corrected) == pytest.approx(
        _dense(X, Y, bias_corrected), abs=1e-12)


@pytest.mark.parametrize("bias_corrected", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_dcor(bias_corrected, seed):
    dcor = pytest.importorskip("dcor", reason="dcor is the reference implementation")
    X, Y = _pair(seed=seed)
    # dcor.distance_correlation is R_n (2007); u_distance_correlation_sqr is the bias-corrected R*_n (2013)
    want = dcor.u_distance_correlation_sqr(X, Y) if bias_corrected else dcor.distance_correlation(X, Y)
    assert distance_correlation(X, Y, bias_corrected=bias_corrected) == pytest.approx(want, abs=1e-10)


def test_row_blocks_change_nothing():
    X, Y = _pair(n=200)
    want = _dense(X, Y, True)
    with sklearn.config_context(working_memory=0.01):  # blocks of a few rows
        assert distance_correlation(X, Y, bias_corrected=True) == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("bias_corrected", [False, True])
def test_identical_and_similarity_transform_give_one(bias_corrected):
    X, _ = _pair()
    Q = np.linalg.qr(np.random.default_rng(4).normal(size=(5, 5)))[0]
    P = prepare_distance_correlation(X, bias_corrected=bias_corrected)
    assert combine_distance_correlation(P, P) == pytest.approx(1.0, abs=1e-12)
    assert distance_correlation(X, -3 * X @ Q + 7, bias_corrected=bias_corrected) == pytest.approx(1.0, abs=1e-10)


def test_chance_levels():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(300, 50)), rng.normal(size=(300, 50))
    # the plain statistic is biased well above 0 at this width; the corrected one is not
    assert distance_correlation(X, Y) > 0.5
    assert abs(distance_correlation(X, Y, bias_corrected=True)) < 0.02


def test_float32_offsets_dead_units_wide_and_tiny():
    X, Y = _pair()
    want = _dense(X, Y, False)
    X32 = (np.column_stack([X, np.zeros(len(X))]) + 1e4).astype(np.float32)
    assert distance_correlation(X32, Y) == pytest.approx(_dense(X32.astype(np.float64), Y, False), abs=1e-10)
    assert distance_correlation(X32, Y) == pytest.approx(want, abs=1e-3)
    rng = np.random.default_rng(2)
    W = rng.normal(size=(10, 2000))
    assert distance_correlation(W, W[:, :5], bias_corrected=True) == pytest.approx(
        _dense(W, W[:, :5], True), abs=1e-10)
    assert np.isfinite(distance_correlation(X[:3], Y[:3]))
    with pytest.raises(ValueError, match="at least 4"):
        distance_correlation(X[:3], Y[:3], bias_corrected=True)
    # duplicated rows: their distance is exactly 0, not the square root of rounding noise
    D = np.vstack([X, X[:5]])
    E = np.vstack([Y, Y[:5]])
    assert distance_correlation(D, E) == pytest.approx(_dense(D, E, False), abs=1e-12)


def test_bad_input_messages():
    X, Y = _pair()
    with pytest.raises(ValueError, match="bias_corrected"):
        distance_correlation(X, Y, bias_corrected="yes")
    with pytest.raises(ValueError, match="same samples"):
        distance_correlation(X, Y[:-1])
    with pytest.raises(ValueError, match="Y has zero variance"):
        distance_correlation(X, np.ones_like(Y))
    with pytest.raises(ValueError, match="different settings"):
        combine_distance_correlation(prepare_distance_correlation(X),
                                     prepare_distance_correlation(Y, bias_corrected=True))
    with pytest.raises(ValueError, match="prepared with bias_corrected=True"):
        DistanceCorrelationScorer().combine(prepare_distance_correlation(X, bias_corrected=True),
                                            prepare_distance_correlation(Y, bias_corrected=True))


def test_estimator_matches_function():
    X, Y = _pair()
    for bc in (False, True):
        est = DistanceCorrelationScorer(bias_corrected=bc).fit(X, Y)
        assert est.score(X, Y) == pytest.approx(distance_correlation(X, Y, bias_corrected=bc), abs=1e-14)
    assert DistanceCorrelationScorer(bias_corrected=True).score_range == (-1.0, 1.0)
