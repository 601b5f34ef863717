"""Generalized shape metrics: checks against scipy, closed forms and metric axioms."""

import numpy as np
import pytest
from scipy.linalg import fractional_matrix_power, orthogonal_procrustes
from sklearn.decomposition import PCA
from sklearn.model_selection import KFold, cross_val_score

from skalign import ProcrustesScorer
from skalign.metrics import (
    combine_shape,
    fit_shape_transform,
    optimal_rotation,
    prepare_shape,
    procrustes_score,
    shape_distance,
)


def _orth(rng, d, k=None):
    """A d x k matrix with orthonormal columns (k <= d)."""
    return np.linalg.qr(rng.normal(size=(d, k or d)))[0]


def _normalised(A, mean=None, norm=None):
    """Centred rows scaled to mean squared row norm 1, written out directly."""
    mean = A.mean(axis=0) if mean is None else mean
    Ac = A - mean
    norm = np.sqrt((Ac**2).sum() / len(A)) if norm is None else norm
    return Ac / norm, mean, norm


# ------------------------------------------------------------------ exact answers
@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.0])
def test_rotated_scaled_translated_copy_scores_one(rng, alpha):
    X = rng.normal(size=(80, 6)) @ rng.normal(size=(6, 6))
    Y = 2.5 * X @ _orth(rng, 6) + rng.normal(size=6) * 10
    est = ProcrustesScorer(alpha=alpha).fit(X, Y)
    assert est.score(X, Y) == pytest.approx(1.0, abs=1e-10)
    assert est.distance(X, Y) == pytest.approx(0.0, abs=1e-5)  # arccos near 1 loses half the digits
    assert procrustes_score(X, Y, alpha=alpha) == pytest.approx(1.0, abs=1e-10)


def test_heldout_copy_scores_one(rng):
    Q = _orth(rng, 6)
    X = rng.normal(size=(120, 6))
    Y = 3.0 * X @ Q - 4.0
    est = ProcrustesScorer().fit(X[:80], Y[:80])
    assert est.score(X[80:], Y[80:]) == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(est.rotation_, Q, atol=1e-10)


@pytest.mark.parametrize("alpha", [1.0, 0.0])
def test_unequal_widths_embedding_scores_one(rng, alpha):
    # Y lives in a 9-dim space but is an isometric embedding of the 5-dim X: padding X with
    # zeros makes them equal up to rotation
    X = rng.normal(size=(60, 5))
    Y = X @ _orth(rng, 9, 5).T
    assert procrustes_score(X, Y, alpha=1.0) == pytest.approx(1.0, abs=1e-10)
    assert procrustes_score(Y, X, alpha=1.0) == pytest.approx(1.0, abs=1e-10)
    if alpha == 0.0:  # Y's covariance is singular (rank 5 of 9): whitening must refuse
        with pytest.raises(ValueError, match="singular.*No alpha < 1 can whiten it: use alpha=1"):
            procrustes_score(X, Y, alpha=alpha)


# ------------------------------------------------------------------ independent references
def test_alpha1_agrees_with_scipy_orthogonal_procrustes(rng):
    X = rng.normal(size=(70, 5)) + 3
    Y = X @ rng.normal(size=(5, 5)) + rng.normal(size=(70, 5))
    Xn, _, _ = _normalised(X)
    Yn, _, _ = _normalised(Y)
    R, nuclear = orthogonal_procrustes(Xn, Yn)
    est = ProcrustesScorer(alpha=1.0).fit(X, Y)
    np.testing.assert_allclose(est.rotation_, R, atol=1e-10)
    np.testing.assert_allclose(fit_shape_transform(X).apply(X), Xn, atol=1e-12)
    np.testing.assert_allclose(optimal_rotation(Xn, Yn), R, atol=1e-10)
    cos = nuclear / (np.linalg.norm(Xn) * np.linalg.norm(Yn))
    assert est.score(X, Y) == pytest.approx(cos, rel=1e-12)
    assert est.distance(X, Y) == pytest.approx(np.arccos(cos), rel=1e-10)
    d_e = np.linalg.norm(Xn @ R - Yn) / np.sqrt(len(X))
    eu = ProcrustesScorer(alpha=1.0, score_method="euclidean").fit(X, Y)
    assert eu.distance(X, Y) == pytest.approx(d_e, rel=1e-10)
    assert eu.score(X, Y) == pytest.approx(-d_e, rel=1e-10)
    assert d_e == pytest.approx(np.sqrt(2 - 2 * cos), rel=1e-10)  # chord of the angle


def test_unscaled_euclidean_agrees_with_scipy(rng):
    X = rng.normal(size=(50, 4)) * 3
    Y = rng.normal(size=(50, 4))
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    R, _ = orthogonal_procrustes(Xc, Yc)
    got = shape_distance(X, Y, scale=False, score_method="euclidean")
    assert got == pytest.approx(np.linalg.norm(Xc @ R - Yc) / np.sqrt(50), rel=1e-10)


def test_heldout_score_applies_training_maps(rng):
    X = rng.normal(size=(100, 4))
    Y = X @ rng.normal(size=(4, 4)) + 0.5 * rng.normal(size=(100, 4))
    tr, te = slice(0, 70), slice(70, 100)
    Xn, mx, sx = _normalised(X[tr])
    Yn, my, sy = _normalised(Y[tr])
    R, _ = orthogonal_procrustes(Xn, Yn)
    A = (X[te] - mx) / sx @ R
    B = (Y[te] - my) / sy
    expected = (A * B).sum() / (np.linalg.norm((X[te] - mx) / sx) * np.linalg.norm(B))
    assert ProcrustesScorer().fit(X[tr], Y[tr]).score(X[te], Y[te]) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("dx,dy", [(4, 4), (3, 6)])
def test_alpha0_is_canonical_correlation(rng, dx, dy):
    X = rng.normal(size=(90, dx)) @ rng.normal(size=(dx, dx))
    Y = X[:, :1] @ rng.normal(size=(1, dy)) + rng.normal(size=(90, dy))
    # canonical correlations = cosines of principal angles between the centred column spaces
    Qx = np.linalg.qr(X - X.mean(0))[0]
    Qy = np.linalg.qr(Y - Y.mean(0))[0]
    rho = np.linalg.svd(Qx.T @ Qy, compute_uv=False)
    # whitened shapes have equal variance in every direction, so the zero-padded cosine
    # is the sum of canonical correlations over sqrt(dx * dy)
    assert procrustes_score(X, Y, alpha=0.0) == pytest.approx(rho.sum() / np.sqrt(dx * dy), rel=1e-10)


def test_partial_whitening_matches_matrix_power_formula(rng):
    alpha = 0.3
    X = rng.normal(size=(60, 5)) @ rng.normal(size=(5, 5))
    Y = rng.normal(size=(60, 4)) @ rng.normal(size=(4, 4)) + X[:, :4]

    def phi(A):
        Ac = A - A.mean(0)
        S = Ac.T @ Ac / len(A)
        S = S / (np.trace(S) / S.shape[0])
        return Ac @ (alpha * np.eye(len(S)) + (1 - alpha) * fractional_matrix_power(S, -0.5)).real

    Zx, Zy = phi(X), phi(Y)
    cos = np.linalg.svd(Zx.T @ Zy, compute_uv=False).sum() / (np.linalg.norm(Zx) * np.linalg.norm(Zy))
    assert procrustes_score(X, Y, alpha=alpha) == pytest.approx(cos, rel=1e-10)


def test_pca_width_equals_sklearn_pca_then_procrustes(rng):
    X = rng.normal(size=(150, 8)) @ rng.normal(size=(8, 8))
    Y = X[:, :3] + 0.3 * rng.normal(size=(150, 3))
    tr, te = slice(0, 100), slice(100, 150)
    pca = PCA(3).fit(X[tr])
    ref = ProcrustesScorer(alpha=0.5).fit(pca.transform(X[tr]), Y[tr])
    est = ProcrustesScorer(alpha=0.5, width="pca").fit(X[tr], Y[tr])
    assert est.score(X[tr], Y[tr]) == pytest.approx(ref.score(pca.transform(X[tr]), Y[tr]), rel=1e-10)
    assert est.score(X[te], Y[te]) == pytest.approx(ref.score(pca.transform(X[te]), Y[te]), rel=1e-10)
    # zero-padding keeps X's other 5 dimensions, whose variance no rotation can match
    assert procrustes_score(X, Y) < procrustes_score(X, Y, width="pca")


def test_pca_width_is_zero_pad_for_equal_widths(rng):
    X, Y = rng.normal(size=(40, 5)), rng.normal(size=(40, 5))
    for alpha in (1.0, 0.4):
        a = ProcrustesScorer(alpha=alpha).fit(X[:30], Y[:30]).score(X[30:], Y[30:])
        b = ProcrustesScorer(alpha=alpha, width="pca").fit(X[:30], Y[:30]).score(X[30:], Y[30:])
        assert a == pytest.approx(b, rel=1e-10)


# ------------------------------------------------------------------ metric and invariances
@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.0])
def test_angular_distance_triangle_inequality(alpha):
    rng = np.random.default_rng(11)
    worst = -np.inf
    for trial in range(40):
        n = 40
        widths = rng.integers(2, 7, size=3)
        A = rng.normal(size=(n, widths[0]))
        # B and C partly built from A so that some triples are nearly collinear (tight cases)
        extra = max(widths[1] - widths[0], 0)
        B = np.hstack([A, rng.normal(size=(n, extra))])[:, : widths[1]]
        B = B + rng.uniform(0.05, 2) * rng.normal(size=B.shape)
        if trial % 2:
            C = rng.normal(size=(n, widths[2]))
        else:
            C = B[:, :1] @ rng.normal(size=(1, widths[2])) + 0.1 * rng.normal(size=(n, widths[2]))
        if trial % 3 == 2:  # B on the straight segment from A to C: nearly tight
            C = rng.normal(size=A.shape)
            s = rng.uniform(0.2, 0.8)
            B = (1 - s) * A + s * C
        ab, bc, ac = (shape_distance(P, R, alpha=alpha) for P, R in ((A, B), (B, C), (A, C)))
        for x, y, z in ((ab, bc, ac), (ab, ac, bc), (ac, bc, ab)):
            assert z <= x + y + 1e-10
            worst = max(worst, z - x - y)
        assert 0 <= min(ab, bc, ac) and max(ab, bc, ac) <= np.pi / 2 + 1e-12
    assert worst > -0.2  # some triples came close to equality, so the check had teeth


def test_invariances(rng):
    X = rng.normal(size=(60, 5))
    Y = X @ rng.normal(size=(5, 5)) + rng.normal(size=(60, 5))
    M = rng.normal(size=(5, 5)) + 2 * np.eye(5)
    Q = _orth(rng, 5)
    for alpha in (1.0, 0.5):
        base = procrustes_score(X, Y, alpha=alpha)
        assert procrustes_score(3 * X @ Q + 7, Y, alpha=alpha) == pytest.approx(base, rel=1e-10)
    # CCA is invariant to any invertible linear map, Procrustes is not
    assert procrustes_score(X @ M, Y, alpha=0.0) == pytest.approx(procrustes_score(X, Y, alpha=0.0), rel=1e-10)
    assert abs(procrustes_score(X @ M, Y) - procrustes_score(X, Y)) > 1e-3


def test_symmetry_and_prepare_combine(rng):
    X, Y = rng.normal(size=(50, 6)), rng.normal(size=(50, 3)) + rng.normal(size=(50, 1))
    for kw in ({"alpha": 0.5}, {"alpha": 0.2, "width": "pca"}, {"score_method": "euclidean", "alpha": 0.7}):
        est = ProcrustesScorer(**kw)
        s = est.fit(X, Y).score(X, Y)
        assert est.combine(est.prepare(X), est.prepare(Y, "Y")) == pytest.approx(s, rel=1e-10)
        assert ProcrustesScorer(**kw).fit(Y, X).score(Y, X) == pytest.approx(s, rel=1e-10)
    with pytest.raises(ValueError, match="different settings"):
        combine_shape(prepare_shape(X, alpha=1.0), prepare_shape(Y, alpha=0.5))
    with pytest.raises(ValueError, match="prepare it with this scorer"):
        ProcrustesScorer().combine(prepare_shape(X, alpha=0.5), prepare_shape(Y, alpha=0.5))


def test_float32_close_to_float64(rng):
    X, Y = rng.normal(size=(200, 10)), rng.normal(size=(200, 10))
    Y += X
    a = procrustes_score(X, Y, alpha=0.5)
    b = procrustes_score(X.astype(np.float32), Y.astype(np.float32), alpha=0.5)
    assert b == pytest.approx(a, abs=1e-5)


# ------------------------------------------------------------------ cross-validation
def test_heldout_below_in_sample_for_noise():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(300, 60)), rng.normal(size=(300, 60))
    in_sample = ProcrustesScorer().fit(X, Y).score(X, Y)
    held_out = cross_val_score(ProcrustesScorer(), X, Y, cv=KFold(5, shuffle=True, random_state=0))
    # a rotation fitted to noise finds spurious alignment that does not transfer
    assert in_sample > 0.3
    assert held_out.mean() < in_sample - 0.25
    assert abs(held_out.mean()) < 0.1


# ------------------------------------------------------------------ bad input
def test_zero_variance_is_refused(rng):
    X = rng.normal(size=(20, 3))
    with pytest.raises(ValueError, match="Y has zero variance"):
        ProcrustesScorer().fit(X, np.full((20, 2), 4.0))
    with pytest.raises(ValueError, match="X has zero variance"):
        procrustes_score(np.ones((20, 3)), X)


def test_whitening_with_too_few_rows_suggests_regularising(rng):
    X, Y = rng.normal(size=(20, 30)), rng.normal(size=(20, 5))
    with pytest.raises(ValueError, match=r"alpha=0.5.*X.*30.*only 19.*singular.*No alpha < 1.*use alpha=1"):
        ProcrustesScorer(alpha=0.5).fit(X, Y)
    assert np.isfinite(ProcrustesScorer(alpha=1.0).fit(X, Y).score(X, Y))  # no whitening: fine
    Xs = np.hstack([X[:, :4], X[:, :1] + X[:, 1:2]])  # collinear column
    with pytest.raises(ValueError, match="singular"):
        procrustes_score(Xs, Y, alpha=0.0)


def test_invalid_parameters(rng):
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    with pytest.raises(ValueError, match="alpha"):
        ProcrustesScorer(alpha=1.5).fit(X, Y)
    with pytest.raises(ValueError, match="score_method"):
        ProcrustesScorer(score_method="cosine").fit(X, Y)
    with pytest.raises(ValueError, match="alpha"):
        procrustes_score(X, Y, alpha=-0.1)
    with pytest.raises(ValueError, match="width"):
        shape_distance(X, Y, width="crop")


def test_pipeline_with_pca_on_x(rng):
    from sklearn.pipeline import make_pipeline

    X = rng.normal(size=(120, 10))
    Y = X[:, :4] @ rng.normal(size=(4, 4)) + 0.2 * rng.normal(size=(120, 4))
    pipe = make_pipeline(PCA(4), ProcrustesScorer(alpha=0.5)).fit(X[:80], Y[:80])
    pca = PCA(4).fit(X[:80])
    ref = ProcrustesScorer(alpha=0.5).fit(pca.transform(X[:80]), Y[:80])
    assert pipe.score(X[80:], Y[80:]) == pytest.approx(ref.score(pca.transform(X[80:]), Y[80:]), rel=1e-10)


# ------------------------------------------------------------------ extreme magnitudes
# decimal factors (not powers of two), so every entry is rounded once on the way
SCALES = [1e-300, 1e-200, 1e-150, 1e-60, 1e60, 1e150, 1e154, 1e200, 1e300]
SHAPE_SETTINGS = [{}, {"alpha": 0.5}, {"alpha": 0.0}, {"width": "pca", "alpha": 0.3},
                  {"score_method": "euclidean"}]


def _shape_pair(rng, n=50):
    X = rng.normal(size=(n, 4)) @ rng.normal(size=(4, 4)) + 3.0
    Y = X[:, :3] @ rng.normal(size=(3, 3)) + rng.normal(size=(n, 3))
    return X, Y


@pytest.mark.parametrize("s", SCALES)
def test_scores_do_not_depend_on_the_magnitude(rng, s):
    X, Y = _shape_pair(rng)
    tr, te = slice(0, 35), slice(35, 50)
    for kw in SHAPE_SETTINGS:
        ref = procrustes_score(X, Y, **kw)
        ref_out = ProcrustesScorer(**kw).fit(X[tr], Y[tr]).score(X[te], Y[te])
        for A, B in ((s * X, Y), (X, s * Y), (s * X, s * Y)):
            assert procrustes_score(A, B, **kw) == pytest.approx(ref, abs=1e-12), kw
            est = ProcrustesScorer(**kw).fit(A[tr], B[tr])
            assert est.score(A[te], B[te]) == pytest.approx(ref_out, abs=1e-12), kw
            assert est.combine(est.prepare(A), est.prepare(B, "Y")) == pytest.approx(ref, abs=1e-12), kw


@pytest.mark.parametrize("s", SCALES)
def test_unscaled_euclidean_distance_is_in_the_units_of_the_data(rng, s):
    # scale=False keeps the units: d_E(sX, sY) = s d_E(X, Y), checked against scipy at unit scale
    from scipy.linalg import orthogonal_procrustes

    X, Y = _shape_pair(rng)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Yp = np.hstack([Yc, np.zeros((50, 1))])  # zero-padded to X's width
    R, _ = orthogonal_procrustes(Xc, Yp)
    d = np.linalg.norm(Xc @ R - Yp) / np.sqrt(50)
    got = shape_distance(s * X, s * Y, scale=False, score_method="euclidean")
    assert got == pytest.approx(s * d, rel=1e-10, abs=0)
    P = ProcrustesScorer(scale=False, score_method="euclidean")
    assert P.combine(P.prepare(s * X), P.prepare(s * Y, "Y")) == pytest.approx(-s * d, rel=1e-10, abs=0)


def test_held_out_rows_of_another_magnitude(rng):
    # the cosine is invariant to scaling the held-out rows of X; for rows 1e200 times the
    # training rows the training mean is negligible, so the mapped rows are those of X itself
    X, Y = _shape_pair(rng)
    est = ProcrustesScorer().fit(X[:35], Y[:35])
    B = est.transform_y_.apply(Y[35:])
    expected = np.sum((X[35:] @ est.rotation_) * B) / (np.linalg.norm(X[35:]) * np.linalg.norm(B))
    assert est.score(1e200 * X[35:], Y[35:]) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("s", [1e-30, 1e-20, 1e20, 1e30])
def test_float32_at_the_ends_of_its_range(rng, s):
    X, Y = _shape_pair(rng)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    for kw in SHAPE_SETTINGS[:3]:
        ref = procrustes_score(X32, Y32, **kw)
        got = procrustes_score((s * X).astype(np.float32), (s * Y).astype(np.float32), **kw)
        assert got == pytest.approx(ref, abs=1e-5), kw


def test_transform_is_expressed_in_the_units_of_the_data(rng):
    X, _ = _shape_pair(rng)
    for s in (1e-200, 1e200):
        for kw in ({}, {"alpha": 0.5}, {"scale": False}):
            ref = fit_shape_transform(X, **kw).apply(X)
            np.testing.assert_allclose(fit_shape_transform(s * X, **kw).apply(s * X),
                                       ref * (s if kw.get("scale") is False else 1.0), rtol=1e-10)
        Zx, Zy = X - X.mean(0), X[:, ::-1] - X.mean(0)[::-1] + rng.normal(size=X.shape)
        np.testing.assert_allclose(optimal_rotation(s * Zx, Zy), optimal_rotation(Zx, Zy), atol=1e-12)


@pytest.mark.filterwarnings("ignore")  # few-sample and orientation warnings are not under test
def test_no_error_from_inside_at_any_magnitude():
    # every outcome is a score in range or a ValueError naming the argument; never an
    # arithmetic or linear-algebra error, a NaN or an inf
    rng = np.random.default_rng(5)
    for trial in range(120):
        n, dx, dy = rng.integers(3, 25), rng.integers(1, 7), rng.integers(1, 7)
        X = rng.normal(size=(n, dx)) * 10.0 ** rng.uniform(-320, 300)
        m = 10.0 ** rng.uniform(-300, 290)
        Y = m * (rng.normal(size=(n, dy)) + 10.0 ** rng.uniform(0, 6))  # offsets up to 1e6 x spread
        kw = SHAPE_SETTINGS[trial % len(SHAPE_SETTINGS)]
        try:
            s = procrustes_score(X, Y, **kw)
        except ValueError as e:
            assert "X" in str(e) or "Y" in str(e), str(e)
            continue
        assert np.isfinite(s) and (-np.inf < s <= 0 if kw.get("score_method") else 0 <= s <= 1), (trial, s)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.999])
def test_singular_covariance_message_offers_what_works(rng, alpha):
    # a singular covariance cannot be whitened by any alpha < 1, so the message must not
    # suggest moving alpha towards 1; alpha=1, which it does suggest, works
    X = rng.normal(size=(40, 4))
    X = np.hstack([X, X[:, :1] - X[:, 1:2]])
    Y = rng.normal(size=(40, 3))
    with pytest.raises(ValueError, match="singular") as info:
        procrustes_score(X, Y, alpha=alpha)
    assert "closer to 1" not in str(info.value) and "alpha=1" in str(info.value)
    with pytest.raises(ValueError, match="only 9") as info:
        procrustes_score(rng.normal(size=(10, 12)), rng.normal(size=(10, 3)), alpha=alpha)
    assert "closer to 1" not in str(info.value) and "alpha=1" in str(info.value)
    assert 0 < procrustes_score(X, Y, alpha=1.0) < 1


# ------------------------------------------------------------------ public building blocks
def test_fit_and_transfer_functions_are_what_the_scorer_computes(rng):
    from skalign.metrics import fit_shape_pair, transfer_shape_alignment

    X, Y = _shape_pair(rng, n=60)
    Xn, mx, sx = _normalised(X[:40])
    Yn, my, sy = _normalised(Y[:40])
    tx, ty, Q, stats = fit_shape_pair(X[:40], Y[:40])
    # in sample: the nuclear norm of the normalised cross-product, as scipy's Procrustes
    from scipy.linalg import orthogonal_procrustes

    R, nuclear = orthogonal_procrustes(Xn, np.hstack([Yn, np.zeros((40, 1))]))
    assert stats.cosine() == pytest.approx(nuclear / (np.linalg.norm(Xn) * np.linalg.norm(Yn)), rel=1e-12)
    held = transfer_shape_alignment(tx, ty, Q, X[40:], Y[40:])
    assert held.cosine() == pytest.approx(ProcrustesScorer().fit(X[:40], Y[:40]).score(X[40:], Y[40:]), rel=1e-12)
    A, B = (X[40:] - mx) / sx, (Y[40:] - my) / sy
    assert held.cosine() == pytest.approx(np.sum((A @ Q) * B) / (np.linalg.norm(A) * np.linalg.norm(B)), rel=1e-10)


def test_public_functions_validate_their_parameters(rng):
    from skalign.metrics import fit_shape_pair
    from skalign.shape import SHAPE_PARAMETER_CONSTRAINTS

    X, Y = _shape_pair(rng)
    with pytest.raises(ValueError, match="'width' parameter of fit_shape_pair"):
        fit_shape_pair(X, Y, width="crop")
    with pytest.raises(ValueError, match="'score_method' parameter of procrustes_score"):
        procrustes_score(X, Y, score_method="cosine")
    with pytest.raises(TypeError, match="'PX' parameter of combine_shape"):
        combine_shape(X, prepare_shape(Y))
    with pytest.raises(ValueError, match="'n_components' parameter"):
        fit_shape_transform(X, n_components=0)
    # one vocabulary: the scorer checks its parameters with the constraints of the functions
    assert ProcrustesScorer._parameter_constraints == SHAPE_PARAMETER_CONSTRAINTS
