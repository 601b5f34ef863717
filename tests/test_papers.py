"""Reproducing the source papers' numbers with their documented conventions.

Each test recomputes a paper's recipe independently (on the reference
implementation the authors used where it is installed) and compares it with
the library's preset for that recipe.
"""

import numpy as np
import pytest
from scipy import ndimage

from skalign.topology import complexity_decay, topological_complexity

# the thresholds of the released notebook of Suresh et al. (2023)
SURESH_THRESHOLDS = np.arange(0.0, 2.0, 0.25)


# ---------------------------------------------------------------------------
# Topological complexity (Suresh et al., 2023), against Cubical Ripser
# ---------------------------------------------------------------------------
def _released_omega(layer, eta, *, closed_at_death):
    """Mean over images of beta_0 + beta_1 + beta_2 of {a <= eta}, counted from Cubical Ripser's bars.

    Cubical Ripser's default is the V-construction of the sublevel filtration;
    the released code feeds it each image's activation volume transposed, with
    no rescaling, and counts a bar when ``b <= eta <= d``.
    """
    cripser = pytest.importorskip("cripser")
    total = 0
    for vol in layer:
        ph = cripser.computePH(np.ascontiguousarray(np.asarray(vol, dtype=np.float64).T), maxdim=2)
        b, d = ph[:, 1], ph[:, 2]
        alive = (b <= eta) & ((d >= eta) if closed_at_death else (d > eta))
        total += int(alive.sum())
    return total / len(layer)


def _layers(rng):
    relu = np.maximum(rng.normal(size=(4, 3, 6, 7)), 0.0)  # exact zeros, as after a ReLU
    return {
        "conv": rng.normal(0.5, 0.7, size=(4, 2, 7, 6)),
        "relu": relu,
        "map": rng.uniform(0.0, 2.0, size=(4, 8, 8)),
    }


@pytest.mark.parametrize("eta", SURESH_THRESHOLDS)
def test_suresh2023_omega_matches_cubical_ripser(rng, eta):
    layers = _layers(rng)
    prof = topological_complexity(layers, convention="suresh2023", eta=eta)
    want = [_released_omega(A, eta, closed_at_death=True) for A in layers.values()]
    # generic values: no threshold equals a death value, so closed or open at death agree
    np.testing.assert_allclose(prof["omega"], want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(prof[["betti0", "betti1", "betti2"]].sum(axis=1), prof["omega"])


def test_suresh2023_differs_from_the_default_recipe(rng):
    layers = _layers(rng)
    ours = topological_complexity(layers, convention="suresh2023", eta=0.5)["omega"]
    default = topological_complexity(layers, summary="threshold", eta=0.5)["omega"]
    assert not np.allclose(ours, default)


def test_suresh2023_count_at_a_death_value_is_the_betti_number(rng):
    # integer values put thresholds exactly on death values: the count b <= eta < d
    # is the Betti number of {a <= eta}; the released b <= eta <= d counts more
    vols = rng.integers(0, 4, size=(3, 2, 6, 6)).astype(np.float64)
    six = ndimage.generate_binary_structure(3, 1)  # the V-construction's 6-connectivity
    worse = False
    for eta in (0.0, 1.0, 2.0):
        prof = topological_complexity([vols], convention="suresh2023", eta=eta)
        b0 = np.mean([ndimage.label(v <= eta, structure=six)[1] for v in vols])
        assert prof["betti0"].iloc[0] == pytest.approx(b0)
        assert prof["omega"].iloc[0] == pytest.approx(_released_omega(vols, eta, closed_at_death=False))
        worse |= _released_omega(vols, eta, closed_at_death=True) > prof["omega"].iloc[0]
    assert worse  # the double count does occur on such data


def test_suresh2023_fixes_its_recipe(rng):
    layer = rng.normal(size=(2, 2, 5, 5))
    same = topological_complexity([layer], convention="suresh2023", construction="V", per_channel=False,
                                  homology_dimensions=(0, 1, 2), normalize="none", summary="threshold")
    np.testing.assert_array_equal(same["omega"], topological_complexity([layer], convention="suresh2023")["omega"])
    with pytest.raises(ValueError, match="normalize"):
        topological_complexity([layer], convention="suresh2023", normalize="layer")
    with pytest.raises(ValueError, match="homology_dimensions"):
        topological_complexity([layer], convention="suresh2023", homology_dimensions=(0,))


def test_omega_per_cell_is_free_of_resolution(rng):
    # nearest-neighbour upsampling by 2 keeps every sublevel set's topology (4- and
    # 6-adjacency of blocks is that of the pixels) and multiplies the cells by 4
    maps = rng.normal(size=(3, 6, 6))
    big = maps.repeat(2, axis=1).repeat(2, axis=2)
    small_p = topological_complexity([maps], convention="suresh2023", eta=0.2, per_cell=True)
    big_p = topological_complexity([big], convention="suresh2023", eta=0.2, per_cell=True)
    assert big_p["omega"].iloc[0] == pytest.approx(small_p["omega"].iloc[0])
    assert big_p["omega_per_cell"].iloc[0] == pytest.approx(small_p["omega_per_cell"].iloc[0] / 4)
    assert small_p["omega_per_cell"].iloc[0] == pytest.approx(small_p["omega"].iloc[0] / 36)


def _released_theta(omega):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    omega = np.asarray(omega, dtype=np.float64)
    x = np.arange(1, omega.size + 1).reshape(-1, 1)
    model = make_pipeline(PolynomialFeatures(degree=3), Ridge(alpha=1e-3)).fit(x, omega / np.linalg.norm(omega))
    return float(model.steps[1][1].coef_ @ np.array([0.0, 1.0, 0.5, 0.5]))


@pytest.mark.parametrize("n_layers", [2, 4, 7, 12])
def test_suresh2023_theta_matches_the_cubic_ridge_fit(rng, n_layers):
    omega = rng.uniform(1.0, 50.0, size=n_layers)
    fit = complexity_decay(omega, convention="suresh2023")
    assert fit.theta == pytest.approx(_released_theta(omega), rel=1e-6, abs=1e-9)
    # scale-free in Omega (it is normalised first)
    assert complexity_decay(7.5 * omega, convention="suresh2023").theta == pytest.approx(fit.theta, rel=1e-9)


def test_suresh2023_theta_from_a_profile_uses_the_layer_index(rng):
    layers = _layers(rng)
    prof = topological_complexity(layers, convention="suresh2023", eta=0.75)
    fit = complexity_decay(prof, convention="suresh2023")
    assert fit.theta == pytest.approx(_released_theta(prof["omega"].to_numpy()), rel=1e-6, abs=1e-9)
    # a cubic in the index is fitted almost exactly (alpha is tiny)
    x = np.arange(1.0, 6.0)
    cubic = 3.0 + x - 0.1 * x**3
    assert complexity_decay(cubic, convention="suresh2023").r2 == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="log"):
        complexity_decay(prof, convention="suresh2023", log=True)
    with pytest.raises(ValueError, match="Omega is zero"):
        complexity_decay([0.0, 0.0, 0.0], convention="suresh2023")


# ---------------------------------------------------------------------------
# Linear predictivity: multioutput and Pearson scoring
# ---------------------------------------------------------------------------
def _sparse_units(rng, n=160, dx=10):
    """Y's last unit is almost silent: it fires on two rows, one of them held out."""
    X = rng.normal(size=(n, dx))
    Y = X @ rng.normal(size=(dx, 4)) + 0.3 * rng.normal(size=(n, 4))
    Y[:, 3] = 0.0
    Y[[5, n - 3], 3] = 1.0
    return X, Y, slice(0, n - 40), slice(n - 40, None)


@pytest.mark.parametrize("multioutput", ["uniform_average", "variance_weighted", "raw_values"])
def test_ridge_multioutput_matches_r2_score(rng, multioutput):
    from sklearn.metrics import r2_score

    from skalign.metrics import fit_ridge, ridge_r2

    X, Y, tr, te = _sparse_units(rng)
    model = fit_ridge(X[tr], Y[tr])
    want = r2_score(Y[te], model.predict(X[te]), multioutput=multioutput)
    np.testing.assert_allclose(ridge_r2(model, X[te], Y[te], multioutput=multioutput), want, rtol=1e-12)


def test_variance_weighted_is_the_fraction_of_variance_explained(rng):
    from skalign import LinearRegressionScorer

    X, Y, tr, te = _sparse_units(rng)
    est = LinearRegressionScorer(multioutput="variance_weighted").fit(X[tr], Y[tr])
    P = est.model_.predict(X[te])
    sse = ((Y[te] - P) ** 2).sum()
    sst = ((Y[te] - Y[te].mean(axis=0)) ** 2).sum()
    assert est.score(X[te], Y[te]) == pytest.approx(1.0 - sse / sst, rel=1e-12)
    # the silent unit drags the uniform average far below the weighted score
    uniform = LinearRegressionScorer(multioutput="uniform_average").fit(X[tr], Y[tr]).score(X[te], Y[te])
    assert uniform < est.score(X[te], Y[te]) - 0.1


@pytest.mark.parametrize("multioutput", ["uniform_average", "variance_weighted"])
def test_pearson_score_is_the_mean_correlation(rng, multioutput):
    from skalign import LinearRegressionScorer
    from skalign.metrics import ridge_r2, ridge_regression_score

    X, Y, tr, te = _sparse_units(rng)
    est = LinearRegressionScorer(score_method="pearson", multioutput=multioutput).fit(X[tr], Y[tr])
    P = est.model_.predict(X[te])
    r = np.array([np.corrcoef(Y[te][:, j], P[:, j])[0, 1] for j in range(Y.shape[1])])
    w = Y[te].var(axis=0) if multioutput == "variance_weighted" else np.ones(Y.shape[1])
    assert est.score(X[te], Y[te]) == pytest.approx(np.dot(w, r) / w.sum(), rel=1e-10)
    np.testing.assert_allclose(ridge_r2(est.model_, X[te], Y[te], multioutput="raw_values",
                                        score_method="pearson"), r, rtol=1e-10)
    assert ridge_regression_score(X[tr], Y[tr], X[te], Y[te], score_method="pearson",
                                  multioutput=multioutput) == pytest.approx(est.score(X[te], Y[te]), rel=1e-12)
    # scale-free in Y, as a correlation is, at any magnitude
    for s in (1e-300, 1e300):
        got = LinearRegressionScorer(score_method="pearson", multioutput=multioutput).fit(X[tr], s * Y[tr])
        assert got.score(X[te], s * Y[te]) == pytest.approx(est.score(X[te], Y[te]), abs=1e-10)


def test_pearson_of_a_constant_column_is_zero(rng):
    from skalign.metrics import fit_ridge, ridge_r2

    X = rng.normal(size=(60, 4))
    Y = np.c_[X @ rng.normal(size=4), X[:, 0] ** 2]
    model = fit_ridge(X[:40], Y[:40])
    Yte = Y[40:].copy()
    Yte[:, 1] = 3.0  # constant on the scored rows
    r = ridge_r2(model, X[40:], Yte, multioutput="raw_values", score_method="pearson")
    assert r[1] == 0.0 and r[0] == pytest.approx(np.corrcoef(Yte[:, 0], model.predict(X[40:])[:, 0])[0, 1])


def test_bad_multioutput(rng):
    from skalign import LinearRegressionScorer
    from skalign.metrics import ridge_regression_score

    X, Y, tr, te = _sparse_units(rng)
    with pytest.raises(ValueError, match="multioutput"):
        LinearRegressionScorer(multioutput="raw_values").fit(X, Y)
    with pytest.raises(ValueError, match="score_method"):
        ridge_regression_score(X, Y, score_method="spearman")


# ---------------------------------------------------------------------------
# Bootstrap interval of the decay rate over images
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("convention", ["skalign", "suresh2023"])
def test_decay_interval_resamples_images_jointly_over_layers(rng, convention):
    from skalign.topology import complexity_decay_interval

    layers = [rng.normal(size=(9, 2, 6, 6)), np.maximum(rng.normal(size=(9, 2, 6, 6)), 0), rng.normal(size=(9, 3, 3))]
    kw = {"summary": "threshold", "eta": 0.25} if convention == "suresh2023" else {"n_thresholds": 6}
    got = complexity_decay_interval(layers, convention=convention, n_resamples=25, random_state=3, **kw)
    prof = topological_complexity(layers, convention=convention, **kw)
    assert got.theta == pytest.approx(complexity_decay(prof, convention=convention).theta, rel=1e-12)
    # by hand: each image's Omega from a profile of that image alone, the same draws for every layer
    per_image = np.array([
        topological_complexity([A[i:i + 1] for A in layers], convention=convention, **kw)["omega"].to_numpy()
        for i in range(9)
    ])
    draws = np.random.RandomState(3)
    want = [complexity_decay(per_image[draws.randint(0, 9, size=9)].mean(axis=0), convention=convention).theta
            for _ in range(25)]
    np.testing.assert_allclose(got.bootstrap, want, rtol=1e-10, atol=1e-12)
    assert got.low <= np.median(want) <= got.high


def test_decay_interval_of_identical_images_is_a_point(rng):
    from skalign.topology import complexity_decay_interval

    one = [rng.normal(size=(1, 7, 7)), rng.normal(size=(1, 5, 5))]
    layers = [np.repeat(A, 6, axis=0) for A in one]
    got = complexity_decay_interval(layers, n_resamples=10, random_state=0)
    assert got.low == got.high == pytest.approx(got.theta)
    with pytest.raises(ValueError, match="same samples"):
        complexity_decay_interval([layers[0], layers[1][:4]])
    with pytest.raises(ValueError, match="confidence_level"):
        complexity_decay_interval(layers, confidence_level=1.5)
