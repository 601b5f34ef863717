"""CCA family: principal angles, a covariance-formula brute force, PCA for SVCCA, held-out scoring."""

import numpy as np
import pytest
import scipy.linalg
from sklearn.decomposition import PCA
from sklearn.model_selection import KFold, cross_val_score

from skalign import CCAScorer
from skalign.metrics import cca_score, cca_transfer_score, combine_cca, fit_cca, prepare_cca


def _pair(n=80, dx=6, dy=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dx)) @ np.diag(np.linspace(3, 0.5, dx))
    k = min(dx, 4)
    Y = np.tanh(X[:, :k] @ rng.normal(size=(k, dy))) + 0.5 * rng.normal(size=(n, dy))
    return X, Y


def _angles_mean(X, Y):
    """Mean cosine of the principal angles between the centred column spaces."""
    return float(np.mean(np.cos(scipy.linalg.subspace_angles(X - X.mean(0), Y - Y.mean(0)))))


def _brute_cca(X, Y):
    """Canonical weights and correlations from Sigma_xx^-1/2 Sigma_xy Sigma_yy^-1/2 (full-rank data)."""
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    ix = np.linalg.inv(np.real(scipy.linalg.sqrtm(Xc.T @ Xc)))
    iy = np.linalg.inv(np.real(scipy.linalg.sqrtm(Yc.T @ Yc)))
    U, rho, Vt = np.linalg.svd(ix @ Xc.T @ Yc @ iy)
    m = rho.size
    return ix @ U[:, :m], iy @ Vt[:m].T, rho


@pytest.mark.parametrize("shape", [(80, 6, 5), (80, 3, 9), (40, 12, 12)])
def test_mean_equals_principal_angles(shape):
    X, Y = _pair(*shape)
    assert cca_score(X, Y) == pytest.approx(_angles_mean(X, Y), abs=1e-10)


def test_mean_against_covariance_formula_and_sklearn():
    X, Y = _pair()
    _, _, rho = _brute_cca(X, Y)
    assert cca_score(X, Y) == pytest.approx(rho.mean(), abs=1e-10)
    np.testing.assert_allclose(fit_cca(X, Y).correlations, rho, atol=1e-10)
    from sklearn.cross_decomposition import CCA

    # scikit-learn's iterative CCA: its first canonical correlation, to its convergence tolerance
    u, v = CCA(n_components=1, max_iter=5000, tol=1e-12).fit(X, Y).transform(X, Y)
    assert abs(np.corrcoef(u[:, 0], v[:, 0])[0, 1]) == pytest.approx(rho[0], abs=1e-6)


def test_rank_deficient_input():
    X, Y = _pair()
    rng = np.random.default_rng(5)
    # dead units and a collinear column change nothing; no 'singular covariance'
    Xd = np.column_stack([X, np.zeros(len(X)), X[:, 0] - 2 * X[:, 1], np.zeros(len(X))])
    assert cca_score(Xd, Y) == pytest.approx(cca_score(X, Y), abs=1e-10)
    for kind in ("svcca", "pwcca"):
        assert np.isfinite(cca_score(Xd, Y, kind=kind))
    # far more features than samples: every in-sample canonical correlation is 1
    W = rng.normal(size=(10, 200))
    assert cca_score(W, rng.normal(size=(10, 40))) == pytest.approx(1.0, abs=1e-10)
    # n = 3 works
    assert np.isfinite(cca_score(X[:3], Y[:3]))


def test_invariances_that_can_fail():
    X, Y = _pair()
    rng = np.random.default_rng(1)
    M = rng.normal(size=(6, 6)) + 3 * np.eye(6)
    Q = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    assert cca_score(X @ M + 4, Y) == pytest.approx(cca_score(X, Y), abs=1e-10)
    assert cca_score(X @ Q, Y, kind="svcca", variance_fraction=0.9) == pytest.approx(
        cca_score(X, Y, kind="svcca", variance_fraction=0.9), abs=1e-10)
    # the weights of PWCCA follow X's columns, so a general linear map changes it
    assert abs(cca_score(X @ M, Y, kind="pwcca") - cca_score(X, Y, kind="pwcca")) > 1e-4
    # and it is not symmetric
    assert abs(cca_score(X, Y, kind="pwcca") - cca_score(Y, X, kind="pwcca")) > 1e-4


@pytest.mark.parametrize("fraction", [0.5, 0.8, 0.95])
def test_svcca_equals_pca_then_cca(fraction):
    X, Y = _pair(dx=8, dy=8)
    px = PCA(n_components=fraction, svd_solver="full").fit_transform(X)
    py = PCA(n_components=fraction, svd_solver="full").fit_transform(Y)
    got = cca_score(X, Y, kind="svcca", variance_fraction=fraction)
    assert got == pytest.approx(_angles_mean(px, py), abs=1e-10)
    assert prepare_cca(X, kind="svcca", variance_fraction=fraction).U.shape[1] == px.shape[1]


def test_pwcca_equals_morcos_weights():
    X, Y = _pair()
    wx, _, rho = _brute_cca(X, Y)
    Xc = X - X.mean(0)
    # Morcos et al.: orthonormalise the canonical variates, weigh by sum_j |<h_i, x_j>|
    P, _ = np.linalg.qr(Xc @ wx)
    alpha = np.abs(P.T @ Xc).sum(axis=1)
    want = float(alpha @ rho / alpha.sum())
    assert cca_score(X, Y, kind="pwcca") == pytest.approx(want, abs=1e-10)


def test_held_out_score_applies_training_weights():
    X, Y = _pair(n=200)
    train, test = np.arange(150), np.arange(150, 200)
    wx, wy, _ = _brute_cca(X[train], Y[train])
    mx, my = X[train].mean(0), Y[train].mean(0)
    cx, cy = (X[test] - mx) @ wx, (Y[test] - my) @ wy
    want = np.mean([np.corrcoef(cx[:, i], cy[:, i])[0, 1] for i in range(cx.shape[1])])
    est = CCAScorer().fit(X[train], Y[train])
    assert est.score(X[test], Y[test]) == pytest.approx(want, abs=1e-10)
    assert cca_transfer_score(est.cca_, X[test], Y[test]) == pytest.approx(want, abs=1e-10)
    # in sample, the variates' correlations are the canonical correlations
    assert est.score(X[train], Y[train]) == pytest.approx(est.canonical_correlations_.mean(), abs=1e-12)


def test_held_out_is_not_inflated_for_independent_wide_data():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(120, 60)), rng.normal(size=(120, 60))
    assert cca_score(X, Y) > 0.6  # in sample, overfitted
    scores = cross_val_score(CCAScorer(), X, Y, cv=KFold(3, shuffle=True, random_state=0))
    assert np.all(np.isfinite(scores)) and abs(scores.mean()) < 0.1


def test_identical_and_float32_offsets():
    X, Y = _pair()
    PX = prepare_cca(X)
    assert combine_cca(PX, PX).score() == pytest.approx(1.0, abs=1e-12)
    X32 = (X + 1e4).astype(np.float32)
    assert cca_score(X32, Y) == pytest.approx(cca_score(X32.astype(np.float64), Y), abs=1e-12)
    assert cca_score(X32, Y) == pytest.approx(cca_score(X, Y), abs=1e-3)


def test_bad_input_messages():
    X, Y = _pair()
    with pytest.raises(ValueError, match="kind"):
        cca_score(X, Y, kind="kernel")
    with pytest.raises(ValueError, match="variance_fraction"):
        cca_score(X, Y, variance_fraction=0.0)
    with pytest.raises(ValueError, match="tol"):
        cca_score(X, Y, tol=-1.0)
    with pytest.raises(ValueError, match="same samples"):
        cca_score(X, Y[:-1])
    with pytest.raises(ValueError, match="Y has zero variance"):
        cca_score(X, np.ones_like(Y))
    fit = fit_cca(X, Y)
    with pytest.raises(ValueError, match="X has 5 features, but the CCA was fitted with 6"):
        cca_transfer_score(fit, X[:, :5], Y)
    with pytest.raises(TypeError, match="CCAFit"):
        cca_transfer_score("fit", X, Y)
    with pytest.raises(ValueError, match="different settings"):
        combine_cca(prepare_cca(X), prepare_cca(Y, kind="pwcca"))
    with pytest.raises(ValueError, match="prepared with"):
        CCAScorer().combine(prepare_cca(X, kind="svcca"), prepare_cca(Y, kind="svcca"))


def test_estimator_metadata():
    assert CCAScorer(kind="pwcca").symmetric is False and CCAScorer().symmetric is True
    assert "invertible_linear" in CCAScorer().invariances
    assert "invertible_linear" not in CCAScorer(kind="svcca").invariances
    assert "orthogonal" not in CCAScorer(kind="pwcca").invariances
