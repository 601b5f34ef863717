"""Normalized Bures similarity: the n x n kernel formula, Procrustes, and bad input."""

import numpy as np
import pytest
import scipy.linalg

from skalign import BuresScorer, ProcrustesScorer
from skalign.metrics import combine_bures, normalized_bures_similarity, prepare_bures


def _pair(n=50, dx=6, dy=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dx))
    Y = np.tanh(X[:, :dy] @ rng.normal(size=(dy, dy))) + 0.3 * rng.normal(size=(n, dy))
    return X, Y


def _kernel_formula(X, Y, center=True):
    """tr((K^1/2 L K^1/2)^1/2) / sqrt(tr K tr L) with dense n x n matrix square roots."""
    if center:
        X, Y = X - X.mean(0), Y - Y.mean(0)
    K, L = X @ X.T, Y @ Y.T
    Kh = np.real(scipy.linalg.sqrtm(K))
    M = np.real(scipy.linalg.sqrtm(Kh @ L @ Kh))
    return np.trace(M) / np.sqrt(np.trace(K) * np.trace(L))


@pytest.mark.parametrize("n, dx, dy", [(50, 6, 4), (12, 30, 20), (8, 3, 40)])
@pytest.mark.parametrize("center", [True, False])
def test_equals_kernel_formula(n, dx, dy, center):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, dx))
    Y = np.column_stack([X[:, :1] ** 2, rng.normal(size=(n, dy - 1))]) + 0.5
    # sqrtm of a rank-deficient kernel is accurate to about sqrt(eps)
    assert normalized_bures_similarity(X, Y, center=center) == pytest.approx(
        _kernel_formula(X, Y, center), abs=1e-6)


def test_wide_route_equals_feature_route():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(20, 300)), rng.normal(size=(20, 7))
    # an orthogonal embedding of X into 300 more columns changes nothing
    Q = np.linalg.qr(rng.normal(size=(600, 300)))[0]
    assert normalized_bures_similarity(X @ Q.T, Y) == pytest.approx(normalized_bures_similarity(X, Y), abs=1e-12)


def test_equals_in_sample_procrustes_cosine():
    X, Y = _pair()
    proc = ProcrustesScorer(alpha=1.0, score_method="angular")
    assert proc.fit(X, Y).score(X, Y) == pytest.approx(normalized_bures_similarity(X, Y), abs=1e-12)
    assert BuresScorer().fit(X, Y).score(X, Y) == pytest.approx(proc.score(X, Y), abs=1e-12)


def test_identical_similarity_transform_and_chance():
    X, _ = _pair()
    Q = np.linalg.qr(np.random.default_rng(3).normal(size=(6, 6)))[0]
    assert normalized_bures_similarity(X, -2 * X @ Q + 5) == pytest.approx(1.0, abs=1e-12)
    P = prepare_bures(X)
    assert combine_bures(P, P) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(0)
    # independent: positive, and larger when the widths approach n
    low = normalized_bures_similarity(rng.normal(size=(2000, 3)), rng.normal(size=(2000, 3)))
    high = normalized_bures_similarity(rng.normal(size=(60, 50)), rng.normal(size=(60, 50)))
    assert 0 < low < 0.1 < high


def test_float32_offsets_dead_units_tiny():
    X, Y = _pair()
    want = normalized_bures_similarity(X, Y)
    X32 = (np.column_stack([X, np.zeros(len(X))]) + 1e4).astype(np.float32)
    assert normalized_bures_similarity(X32, Y) == pytest.approx(want, abs=1e-3)
    assert normalized_bures_similarity(np.column_stack([X, np.zeros(len(X))]), Y) == pytest.approx(want, abs=1e-12)
    assert np.isfinite(normalized_bures_similarity(X[:3], Y[:3]))


def test_bad_input_messages():
    X, Y = _pair()
    with pytest.raises(ValueError, match="center"):
        normalized_bures_similarity(X, Y, center="yes")
    with pytest.raises(ValueError, match="same samples"):
        normalized_bures_similarity(X, Y[:-1])
    with pytest.raises(ValueError, match="Y has zero variance"):
        normalized_bures_similarity(X, np.ones_like(Y))
    with pytest.raises(ValueError, match="all zero"):
        normalized_bures_similarity(X, np.zeros_like(Y), center=False)
    with pytest.raises(ValueError, match="different settings"):
        combine_bures(prepare_bures(X), prepare_bures(Y, center=False))
    with pytest.raises(ValueError, match="prepared with center=False"):
        BuresScorer().combine(prepare_bures(X, center=False), prepare_bures(Y, center=False))


def test_estimator_metadata():
    assert "translation" in BuresScorer().invariances
    assert "translation" not in BuresScorer(center=False).invariances
