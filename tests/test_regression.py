"""Ridge linear predictivity: closed-form and leave-one-out brute force, honest CV."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skalign import LinearRegressionScorer
from skalign.metrics import fit_ridge, ridge_regression_score


def _ridge_closed_form(X, Y, lam):
    """Ridge with an unpenalised intercept via centring and a linear solve."""
    mx, my = X.mean(0), Y.mean(0)
    Xc, Yc = X - mx, Y - my
    B = np.linalg.solve(Xc.T @ Xc + lam * np.eye(X.shape[1]), Xc.T @ Yc)
    return lambda Z: (Z - mx) @ B + my


def _mean_r2(Y, P):
    """Per-column 1 - SSE/SST, averaged, with explicit loops over columns."""
    out = []
    for j in range(Y.shape[1]):
        sse = sum((Y[i, j] - P[i, j]) ** 2 for i in range(Y.shape[0]))
        sst = sum((Y[i, j] - Y[:, j].mean()) ** 2 for i in range(Y.shape[0]))
        out.append(1 - sse / sst)
    return float(np.mean(out))


def _relative_to_absolute(X, a):
    Xc = X - X.mean(0)
    return a * np.sum(Xc**2) / X.shape[1]


def _pair(rng, n=150, dx=8, dy=4, noise=0.5):
    X = rng.normal(size=(n, dx))
    Y = X @ rng.normal(size=(dx, dy)) + noise * rng.normal(size=(n, dy))
    return X, Y


def test_single_alpha_matches_closed_form_held_out(rng):
    X, Y = _pair(rng)
    tr, te = slice(0, 100), slice(100, None)
    a = 0.05
    est = LinearRegressionScorer(alphas=[a], multioutput="uniform_average").fit(X[tr], Y[tr])
    predict = _ridge_closed_form(X[tr], Y[tr], _relative_to_absolute(X[tr], a))
    assert est.score(X[te], Y[te]) == pytest.approx(_mean_r2(Y[te], predict(X[te])), rel=1e-10)
    assert ridge_regression_score(X[tr], Y[tr], X[te], Y[te], alphas=[a], multioutput="uniform_average") == pytest.approx(
        est.score(X[te], Y[te]), rel=1e-12
    )


def test_alpha_is_chosen_by_leave_one_out_on_training_rows(rng):
    X, Y = _pair(rng, n=40, dx=15, noise=2.0)
    grid = [1e-4, 1e-2, 1.0, 100.0]

    def loo_error(a):
        err = 0.0
        for i in range(X.shape[0]):
            keep = np.arange(X.shape[0]) != i
            predict = _ridge_closed_form(X[keep], Y[keep], _relative_to_absolute(X, a))
            err += np.sum((Y[i] - predict(X[i:i + 1])) ** 2)
        return err

    best = grid[int(np.argmin([loo_error(a) for a in grid]))]
    est = LinearRegressionScorer(alphas=grid).fit(X, Y)
    assert est.alpha_ == pytest.approx(best)


def test_cross_validated_score_below_in_sample_for_noise():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 300))  # more features than rows: a perfect fit is available
    Y = rng.normal(size=(120, 5))
    in_sample = LinearRegressionScorer().fit(X, Y).score(X, Y)
    held_out = cross_val_score(LinearRegressionScorer(), X, Y, cv=KFold(5, shuffle=True, random_state=0))
    assert held_out.mean() < 0.02
    assert held_out.mean() < in_sample - 0.05


def test_recovers_linear_map(rng):
    X, Y = _pair(rng, n=300, noise=0.01)
    scores = cross_val_score(LinearRegressionScorer(), X, Y, cv=KFold(5, shuffle=True, random_state=0))
    assert scores.min() > 0.99


def test_symmetric_averages_both_directions(rng):
    X, Y = _pair(rng, dy=6)
    tr, te = slice(0, 100), slice(100, None)
    fwd = LinearRegressionScorer().fit(X[tr], Y[tr]).score(X[te], Y[te])
    bwd = LinearRegressionScorer().fit(Y[tr], X[tr]).score(Y[te], X[te])
    sym = LinearRegressionScorer(symmetric=True).fit(X[tr], Y[tr]).score(X[te], Y[te])
    assert sym == pytest.approx((fwd + bwd) / 2, rel=1e-12)
    assert fwd != pytest.approx(bwd, rel=1e-3)  # the one-way score is not symmetric


def test_scale_free_penalty(rng):
    X, Y = _pair(rng)
    s = LinearRegressionScorer().fit(X, Y).score(X, Y)
    assert LinearRegressionScorer().fit(1e4 * X, Y).score(1e4 * X, Y) == pytest.approx(s, rel=1e-8)


def test_pipeline_with_scaler_and_pca(rng):
    X, Y = _pair(rng, n=200, dx=12)
    pipe = make_pipeline(StandardScaler(), PCA(n_components=8), LinearRegressionScorer())
    cv = KFold(5, shuffle=True, random_state=0)
    scores = cross_val_score(pipe, X, Y, cv=cv)
    # by hand: the transformers are fitted on each training fold only
    expect = []
    for tr, te in cv.split(X):
        sc = StandardScaler().fit(X[tr])
        pca = PCA(n_components=8).fit(sc.transform(X[tr]))
        f = lambda Z: pca.transform(sc.transform(Z))  # noqa: E731
        expect.append(LinearRegressionScorer().fit(f(X[tr]), Y[tr]).score(f(X[te]), Y[te]))
    np.testing.assert_allclose(scores, expect, rtol=1e-10)


def test_alpha_per_target_and_explicit_cv(rng):
    X, Y = _pair(rng)
    est = LinearRegressionScorer(alpha_per_target=True).fit(X, Y)
    assert np.shape(est.alpha_) == (Y.shape[1],)
    est = LinearRegressionScorer(cv=3).fit(X, Y)
    assert est.score(X, Y) > 0.5


def test_bad_input(rng):
    X, Y = _pair(rng, n=30)
    with pytest.raises(ValueError, match="Y has zero variance"):
        LinearRegressionScorer().fit(X, np.ones((30, 2)))
    with pytest.raises(ValueError, match="alphas"):
        fit_ridge(X, Y, alphas=[1.0, -1.0])
    with pytest.raises(ValueError, match="alpha_per_target"):
        LinearRegressionScorer(alpha_per_target=True, cv=3).fit(X, Y)
    with pytest.raises(ValueError, match="X_test"):
        ridge_regression_score(X, Y, X_test=X)
    with pytest.raises(ValueError, match="features"):
        LinearRegressionScorer().fit(X, Y).score(X, Y[:, :2])
    assert clone(LinearRegressionScorer(alphas=[1.0])).get_params()["alphas"] == [1.0]


# ------------------------------------------------------------------ extreme magnitudes
# decimal factors (not powers of two), so every entry is rounded once on the way
SCALES = [1e-300, 1e-150, 1e100, 1e154, 1e300]


@pytest.mark.parametrize("s", SCALES)
def test_r2_does_not_depend_on_the_magnitude(rng, s):
    # the relative penalty grid makes R² invariant to scaling X; R² is invariant to scaling Y
    X, Y = _pair(rng, n=60, dx=5, dy=3)
    tr, te = slice(0, 40), slice(40, None)
    for kw in ({}, {"symmetric": True}, {"alpha_per_target": True}, {"cv": 3}):
        ref = LinearRegressionScorer(**kw).fit(X[tr], Y[tr])
        pairs = ((s * X, Y), (X, s * Y), (s * X, s * Y)) if 1e-200 <= s <= 1e200 else ((s * X, s * Y),)
        for A, B in pairs:
            est = LinearRegressionScorer(**kw).fit(A[tr], B[tr])
            assert est.score(A[te], B[te]) == pytest.approx(ref.score(X[te], Y[te]), abs=1e-10), kw
            np.testing.assert_allclose(est.alpha_, ref.alpha_, rtol=1e-12)
            got = ridge_regression_score(A[tr], B[tr], A[te], B[te], **kw)
            assert got == pytest.approx(ref.score(X[te], Y[te]), abs=1e-10), kw


@pytest.mark.parametrize("s", [1e-150, 1e100, 1e150])
def test_model_is_expressed_in_the_units_of_the_data(rng, s):
    X, Y = _pair(rng, n=60, dx=5, dy=3)
    ref = fit_ridge(X, Y)
    model = fit_ridge(s * X, Y)
    np.testing.assert_allclose(model.predict(s * X), ref.predict(X), rtol=1e-10)
    assert model.alpha_ == pytest.approx(ref.alpha_ * s * s, rel=1e-10, abs=0)
    assert model.relative_alpha_ == pytest.approx(ref.relative_alpha_, rel=1e-12)
    model = fit_ridge(X, s * Y)
    np.testing.assert_allclose(model.predict(X), s * ref.predict(X), rtol=1e-10)
    # the closed form, at this magnitude, through the model's own predictions
    predict = _ridge_closed_form(s * X, Y, _relative_to_absolute(X, 0.05) * s * s)
    est = LinearRegressionScorer(alphas=[0.05]).fit(s * X, Y)
    np.testing.assert_allclose(est.model_.predict(s * X), predict(s * X), rtol=1e-8)


@pytest.mark.parametrize("s", [1e-20, 1e20])
def test_float32_at_the_ends_of_its_range(rng, s):
    X, Y = _pair(rng, n=80, dx=5, dy=3)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    ref = LinearRegressionScorer().fit(X32, Y32).score(X32, Y32)
    A, B = (s * X).astype(np.float32), (s * Y).astype(np.float32)
    assert LinearRegressionScorer().fit(A, B).score(A, B) == pytest.approx(ref, abs=1e-4)


@pytest.mark.filterwarnings("ignore")  # few-sample and orientation warnings are not under test
def test_no_error_from_inside_at_any_magnitude():
    rng = np.random.default_rng(5)
    for trial in range(40):
        n, dx, dy = rng.integers(4, 25), rng.integers(1, 6), rng.integers(1, 4)
        X = rng.normal(size=(n, dx)) * 10.0 ** rng.uniform(-300, 300)
        Y = rng.normal(size=(n, dy)) * 10.0 ** rng.uniform(-300, 300)
        try:
            s = ridge_regression_score(X, Y, symmetric=bool(trial % 2))
        except ValueError as e:
            assert "X" in str(e) or "Y" in str(e) or "alphas" in str(e), str(e)
            continue
        assert np.isfinite(s) and s <= 1, (trial, s)


# ------------------------------------------------------------------ public building blocks
def test_pair_functions_are_what_the_scorer_computes(rng):
    from skalign.metrics import fit_ridge_pair, ridge_pair_r2
    from skalign.regression import RIDGE_PARAMETER_CONSTRAINTS

    X, Y = _pair(rng)
    tr, te = slice(0, 100), slice(100, None)
    model, reverse = fit_ridge_pair(X[tr], Y[tr], alphas=[0.05], symmetric=True)
    fwd = _mean_r2(Y[te], _ridge_closed_form(X[tr], Y[tr], _relative_to_absolute(X[tr], 0.05))(X[te]))
    bwd = _mean_r2(X[te], _ridge_closed_form(Y[tr], X[tr], _relative_to_absolute(Y[tr], 0.05))(Y[te]))
    uniform = {"multioutput": "uniform_average"}
    assert ridge_pair_r2(model, reverse, X[te], Y[te], **uniform) == pytest.approx((fwd + bwd) / 2, rel=1e-10)
    assert ridge_pair_r2(model, None, X[te], Y[te], **uniform) == pytest.approx(fwd, rel=1e-10)
    est = LinearRegressionScorer(alphas=[0.05], symmetric=True, **uniform).fit(X[tr], Y[tr])
    assert est.score(X[te], Y[te]) == pytest.approx((fwd + bwd) / 2, rel=1e-10)
    with pytest.raises(ValueError, match="'symmetric' parameter of fit_ridge_pair"):
        fit_ridge_pair(X, Y, symmetric="yes")
    assert LinearRegressionScorer._parameter_constraints == RIDGE_PARAMETER_CONSTRAINTS


def test_r2_far_below_zero_is_exact_or_refused(rng):
    from skalign.metrics import ridge_r2

    X, Y = _pair(rng, n=60)
    model = fit_ridge(X, Y)
    # rows 1e10 times the training rows: R² is about -1e20, still a float
    assert ridge_r2(model, 1e10 * X, Y, multioutput="uniform_average") == pytest.approx(
        _mean_r2(Y, model.predict(1e10 * X)), rel=1e-10)
    with pytest.raises(ValueError, match="below the float range"):
        ridge_r2(model, 1e200 * X, Y)
