"""GULP: the n x n hat-matrix formula of the paper, its CKA and CCA limits, and bad input."""

import numpy as np
import pytest
import scipy.linalg

from skalign import GULPScorer
from skalign.metrics import combine_gulp, gulp_distance, gulp_similarity, prepare_gulp


def _pair(n=50, dx=6, dy=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dx)) @ np.diag(np.linspace(2, 0.3, dx))
    Y = np.column_stack([np.tanh(X[:, : min(dx, dy)]), rng.normal(size=(n, max(dy - dx, 0)))])
    return X, Y + 0.3 * rng.normal(size=Y.shape)


def _hat(A, lam, normalize):
    """Ridge hat matrix A_c (A_c^T A_c / n + lam I)^-1 A_c^T / n, as a dense n x n matrix."""
    Ac = A - A.mean(0)
    n = len(A)
    if normalize:
        Ac = Ac * np.sqrt(n / np.sum(Ac**2))
    return Ac @ np.linalg.solve(Ac.T @ Ac / n + lam * np.eye(A.shape[1]), Ac.T) / n


def _traces_formula(X, Y, lam):
    """The paper's covariance form, written with explicit inverses."""
    n = len(X)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Xc, Yc = Xc * np.sqrt(n / np.sum(Xc**2)), Yc * np.sqrt(n / np.sum(Yc**2))
    Sx, Sy, Sxy = Xc.T @ Xc / n, Yc.T @ Yc / n, Xc.T @ Yc / n
    Rx, Ry = np.linalg.inv(Sx + lam * np.eye(len(Sx))), np.linalg.inv(Sy + lam * np.eye(len(Sy)))
    d2 = np.trace(Rx @ Sx @ Rx @ Sx) + np.trace(Ry @ Sy @ Ry @ Sy) - 2 * np.trace(Rx @ Sxy @ Ry @ Sxy.T)
    return np.sqrt(d2)


@pytest.mark.parametrize("n, dx, dy", [(50, 6, 4), (10, 40, 3), (12, 30, 25)])
@pytest.mark.parametrize("lam", [1e-3, 0.1, 10.0])
@pytest.mark.parametrize("normalize", [True, False])
def test_equals_hat_matrix_formula(n, dx, dy, lam, normalize):
    X, Y = _pair(n, dx, dy)
    Hx, Hy = _hat(X, lam, normalize), _hat(Y, lam, normalize)
    assert gulp_distance(X, Y, lam=lam, normalize=normalize) == pytest.approx(np.linalg.norm(Hx - Hy), abs=1e-9)
    cos = np.sum(Hx * Hy) / (np.linalg.norm(Hx) * np.linalg.norm(Hy))
    assert gulp_similarity(X, Y, lam=lam, normalize=normalize) == pytest.approx(cos, abs=1e-10)


def test_equals_covariance_formula():
    X, Y = _pair()
    assert gulp_distance(X, Y, lam=0.05) == pytest.approx(_traces_formula(X, Y, 0.05), abs=1e-9)


def test_limits_cka_and_cca():
    X, Y = _pair(n=80)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    K, L = Xc @ Xc.T, Yc @ Yc.T
    cka = np.sum(K * L) / (np.linalg.norm(K) * np.linalg.norm(L))
    assert gulp_similarity(X, Y, lam=1e6) == pytest.approx(cka, abs=1e-5)
    rho = np.cos(scipy.linalg.subspace_angles(Xc, Yc))
    r2 = np.sum(rho**2) / np.sqrt(X.shape[1] * Y.shape[1])
    assert gulp_similarity(X, Y, lam=1e-9) == pytest.approx(r2, abs=1e-5)


def test_identical_rotation_scale_translation():
    X, _ = _pair()
    Q = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))[0]
    Z = -4 * X @ Q + 2
    assert gulp_similarity(X, Z) == pytest.approx(1.0, abs=1e-12)
    assert gulp_distance(X, Z) < 1e-6
    P = prepare_gulp(X)
    assert combine_gulp(P, P).similarity() == pytest.approx(1.0, abs=1e-12)
    # without normalisation the scale matters to the ridge
    assert gulp_distance(X, 4 * X, normalize=False) > 0.1
    # nor is it invariant to a general linear map
    M = np.diag(np.linspace(1, 10, 6))
    assert gulp_similarity(X, X @ M) < 1 - 1e-3


def test_dead_units_wide_tiny_float32():
    X, Y = _pair()
    want = gulp_similarity(X, Y)
    assert gulp_similarity(np.column_stack([X, np.zeros(len(X))]), Y) == pytest.approx(want, abs=1e-12)
    X32 = (X + 1e4).astype(np.float32)
    assert gulp_similarity(X32, Y) == pytest.approx(gulp_similarity(X32.astype(np.float64), Y), abs=1e-12)
    assert gulp_similarity(X32, Y) == pytest.approx(want, abs=1e-3)
    assert np.isfinite(gulp_distance(X[:3], Y[:3]))
    rng = np.random.default_rng(0)
    assert np.isfinite(gulp_similarity(rng.normal(size=(5, 500)), rng.normal(size=(5, 2))))


def test_bad_input_messages():
    X, Y = _pair()
    with pytest.raises(ValueError, match="lam"):
        gulp_distance(X, Y, lam=0.0)
    with pytest.raises(ValueError, match="normalize"):
        gulp_distance(X, Y, normalize=1.5)
    with pytest.raises(ValueError, match="same samples"):
        gulp_distance(X, Y[:-1])
    with pytest.raises(ValueError, match="Y has zero variance"):
        gulp_distance(X, np.ones_like(Y))
    with pytest.raises(ValueError, match="different settings"):
        combine_gulp(prepare_gulp(X), prepare_gulp(Y, lam=1.0))
    with pytest.raises(ValueError, match="prepared with"):
        GULPScorer().combine(prepare_gulp(X, lam=1.0), prepare_gulp(Y, lam=1.0))


def test_estimator_score_methods():
    X, Y = _pair()
    assert GULPScorer().fit(X, Y).score(X, Y) == pytest.approx(gulp_similarity(X, Y), abs=1e-14)
    est = GULPScorer(score_method="distance", lam=0.2).fit(X, Y)
    assert est.score(X, Y) == pytest.approx(-gulp_distance(X, Y, lam=0.2), abs=1e-14)
    assert est.score_range == (float("-inf"), 0.0)
    assert "isotropic_scaling" not in GULPScorer(normalize=False).invariances


def test_independent_below_dependent():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 5))
    indep = gulp_similarity(X, rng.normal(size=(400, 5)))
    dep = gulp_similarity(X, np.tanh(X) + 0.2 * rng.normal(size=(400, 5)))
    # independent: small, of the order of the widths over n
    assert indep < 0.05 < 0.8 < dep
