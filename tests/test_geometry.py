"""Intrinsic dimension (TwoNN, local, GRIDE) and information imbalance.

References are independent: scipy's cKDTree for neighbours, numpy's lstsq for
the TwoNN fit, a direct likelihood maximisation for GRIDE, full argsort ranks
for the information imbalance, and analytic values for known manifolds.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar
from scipy.spatial import cKDTree
from scipy.special import betaln
from sklearn.base import clone

from skalign import InformationImbalance, LocalIntrinsicDimension, TwoNN
from skalign.geometry import (
    local_intrinsic_dimension,
    multiscale_intrinsic_dimension,
    twonn_dimension,
    twonn_from_ratios,
)
from skalign.imbalance import (
    information_imbalance,
    information_imbalance_prepared,
    information_imbalance_score,
    prepare_information_imbalance,
)
from skalign.neighbors import iter_rank_blocks


def _sphere(n, dim, rng):
    """Uniform on the unit sphere S^dim in R^(dim+1)."""
    X = rng.normal(size=(n, dim + 1))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _embed(X, D, rng):
    """Isometric embedding of X into R^D by a random orthonormal frame."""
    Q = np.linalg.qr(rng.normal(size=(D, D)))[0][: X.shape[1]]
    return X @ Q


def _ratios_kdtree(X):
    d, _ = cKDTree(X).query(X, k=3)  # column 0 is the point itself
    return d[:, 2] / d[:, 1]


def _linear_fit_lstsq(mu, discard_fraction):
    """TwoNN's linear fit written from the paper: F_i = i / N, top fraction dropped."""
    mu = np.sort(mu)
    N = mu.size
    m = min(int(np.floor(N * (1 - discard_fraction) + 1e-9)), N - 1)
    x = np.log(mu[:m])[:, None]
    y = -np.log(1 - np.arange(1, m + 1) / N)
    return float(np.linalg.lstsq(x, y, rcond=None)[0][0])


# ----------------------------------------------------------------------------- TwoNN, known values
@pytest.mark.parametrize(
    "make, n, dim, tol",
    [
        (lambda n, rng: _sphere(n, 2, rng), 10_000, 2.0, 0.1),  # S^2 in R^3
        (lambda n, rng: _sphere(n, 5, rng), 10_000, 5.0, 0.2),  # S^5 in R^6
        (lambda n, rng: rng.random((n, 2)), 10_000, 2.0, 0.1),  # square
        (lambda n, rng: _sphere(n, 1, rng), 10_000, 1.0, 0.05),  # circle
    ],
    ids=["S2", "S5", "square", "circle"],
)
def test_twonn_known_manifolds(make, n, dim, tol):
    # On exact Pareto ratios the linear fit's sd at N = 10,000 is 0.011 (d=1), 0.020
    # (d=2) and 0.051 (d=5); neighbouring points share neighbours, which adds a little.
    rng = np.random.default_rng(42)
    X = make(n, rng)
    assert abs(twonn_dimension(X, algorithm="brute") - dim) < tol


def test_twonn_on_exact_pareto_ratios():
    # mu = U^(-1/d) is exactly Pareto(d): no neighbours, no manifold, only the estimator.
    rng = np.random.default_rng(0)
    for d in (1.5, 4.0, 12.0):
        mu = rng.random(200_000) ** (-1.0 / d)
        assert twonn_from_ratios(mu) == pytest.approx(d, rel=0.02)
        assert twonn_from_ratios(mu, method="mle") == pytest.approx(d, rel=0.02)


def test_twonn_mle_and_linear_equal_independent_computation():
    rng = np.random.default_rng(1)
    X = _embed(rng.normal(size=(1500, 4)), 9, rng)
    mu = _ratios_kdtree(X)
    mle = (mu.size - 1) / np.log(mu).sum()
    assert twonn_dimension(X, method="mle", algorithm="brute") == pytest.approx(mle, rel=1e-9)
    for f in (0.0, 0.1, 0.37):
        ref = _linear_fit_lstsq(mu, f)
        assert twonn_dimension(X, discard_fraction=f, algorithm="brute") == pytest.approx(ref, rel=1e-9)


def test_twonn_estimator_and_invariances():
    rng = np.random.default_rng(2)
    X = _embed(rng.random((800, 3)), 7, rng)
    est = TwoNN(algorithm="brute").fit(X)
    assert est.dimension_ == pytest.approx(twonn_dimension(X, algorithm="brute"), rel=1e-12)
    assert est.n_features_in_ == 7
    moved = 3.0 * X @ np.linalg.qr(rng.normal(size=(7, 7)))[0] + 5.0
    assert clone(est).fit(moved).dimension_ == pytest.approx(est.dimension_, rel=1e-6)
    # cosine = chord distance of unit rows: a cone over a 2-sphere patch has ID 2 there
    S = _sphere(3000, 2, rng) + np.array([0, 0, 3.0])
    assert twonn_dimension(S * rng.uniform(1, 2, size=(3000, 1)), metric="cosine") == pytest.approx(2, abs=0.15)


def test_twonn_duplicates_are_merged_and_counted():
    rng = np.random.default_rng(3)
    X = rng.random((600, 3))
    Xd = np.vstack([X, X[:25], X[:5]])
    with pytest.warns(UserWarning, match="30 duplicated row"):
        got = twonn_dimension(Xd, algorithm="brute")
    assert got == pytest.approx(twonn_dimension(X, algorithm="brute"), rel=1e-12)
    with pytest.warns(UserWarning, match="30 duplicated"):
        lid = local_intrinsic_dimension(Xd, 10, algorithm="brute")
    assert np.isfinite(lid).all()
    np.testing.assert_allclose(lid[600:625], lid[:25])
    np.testing.assert_allclose(lid[:600], local_intrinsic_dimension(X, 10, algorithm="brute"))


def test_twonn_bad_input():
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="2 sample.*at least 3"):
        twonn_dimension(rng.random((2, 3)))
    with pytest.raises(ValueError, match="only 2 distinct"):
        with pytest.warns(UserWarning):
            twonn_dimension(np.array([[0.0, 1], [0, 1], [1, 1], [1, 1]]))
    with pytest.raises(ValueError, match="method"):
        twonn_dimension(rng.random((10, 2)), method="ols")
    with pytest.raises(ValueError, match="discard_fraction"):
        twonn_dimension(rng.random((10, 2)), discard_fraction=1.0)
    with pytest.raises(ValueError, match="n_neighbors=20 is outside"):
        local_intrinsic_dimension(rng.random((20, 2)), 20)
    with pytest.raises(ValueError, match=r"n_neighbors.*\[3, inf\)"):
        local_intrinsic_dimension(rng.random((20, 2)), 2)
    with pytest.raises(ValueError, match="only 6 distinct"):
        with pytest.warns(UserWarning):
            local_intrinsic_dimension(np.repeat(rng.random((6, 2)), 3, axis=0), 8)
    with pytest.raises(ValueError, match="r2 / r1 >= 1"):
        twonn_from_ratios([0.5, 2.0, 3.0])
    with pytest.raises(ValueError, match="max_neighbors=30 is outside"):
        multiscale_intrinsic_dimension(rng.random((30, 2)), max_neighbors=30)
    Xn = rng.random((10, 3))
    Xn[4, 1] = np.nan
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        twonn_dimension(Xn)


# ----------------------------------------------------------------------------- local ID
@pytest.mark.parametrize("latent", [3, 12])  # 12: many rims take the Gram fallback
def test_local_id_exact_and_fast_match_brute_force(latent):
    rng = np.random.default_rng(5)
    X = _embed(rng.normal(size=(400, latent)), 14, rng)
    k, f = 20, 0.1
    _, nn = cKDTree(X).query(X, k=k + 1)
    nn = nn[:, 1:]
    mu_global = _ratios_kdtree(X)
    exact = local_intrinsic_dimension(X, k, algorithm="brute", mode="exact")
    fast = local_intrinsic_dimension(X, k, algorithm="brute", mode="fast")
    mle = local_intrinsic_dimension(X, k, algorithm="brute", mode="exact", estimator="mle")
    for i in range(0, 400, 7):
        mu_in = _ratios_kdtree(X[nn[i]])  # r1, r2 recomputed inside the neighbourhood
        assert exact[i] == pytest.approx(_linear_fit_lstsq(mu_in, f), rel=1e-6)
        assert mle[i] == pytest.approx((k - 1) / np.log(mu_in).sum(), rel=1e-6)
        assert fast[i] == pytest.approx(_linear_fit_lstsq(mu_global[nn[i]], f), rel=1e-9)


def test_local_id_exact_shortcut_equals_gram_path():
    from skalign.geometry import _exact_log_ratios, _gram_log_ratios
    from skalign.neighbors import kneighbors

    rng = np.random.default_rng(17)
    X = _embed(rng.normal(size=(500, 6)), 10, rng)
    dist, ind = kneighbors(X, 16, algorithm="brute")
    rows = slice(0, 500)
    L_short, _ = _exact_log_ratios(X, ind, rows, dist)
    L_gram, _ = _gram_log_ratios(X, ind, rows)
    np.testing.assert_allclose(L_short, L_gram, rtol=1e-7, atol=1e-9)


def test_local_id_separates_plane_and_blob():
    rng = np.random.default_rng(6)
    plane = np.hstack([rng.random((1200, 2)) * 4, np.zeros((1200, 3))])
    blob = rng.normal(size=(1200, 5)) + np.array([20.0, 0, 0, 0, 0])
    X = _embed(np.vstack([plane, blob]), 20, rng)
    truth = np.r_[np.zeros(1200), np.ones(1200)].astype(bool)
    for mode in ("exact", "fast"):
        lid = local_intrinsic_dimension(X, 64, mode=mode, algorithm="brute")
        assert 1.8 < np.median(lid[~truth]) < 2.3
        assert 4.0 < np.median(lid[truth]) < 5.5
        # a threshold half-way between 2 and 5 classifies nearly every point (the
        # blob's sparse Gaussian tail reads lower, as TwoNN does at density edges)
        assert ((lid > 3.5) == truth).mean() > 0.95


def test_local_id_exact_versus_fast():
    """How far apart the modes are (also quoted in the docstrings).

    The exact mode's neighbourhood is a sample ~k times sparser with a rim, where
    points find their two neighbours on one side only: it reads lower. The fast
    mode's global ratios come from the full density. Measured: the exact mean is
    lower by about 6 % of d at d = 3 and 10 % at d = 6 (k = 64, n = 4000), pointwise
    estimates correlate at 0.7-0.9.
    """
    rng = np.random.default_rng(7)
    for d in (3, 6):
        X = _embed(rng.normal(size=(4000, d)), 12, rng)
        exact = local_intrinsic_dimension(X, 64, mode="exact", algorithm="brute")
        fast = local_intrinsic_dimension(X, 64, mode="fast", algorithm="brute")
        gap = (fast.mean() - exact.mean()) / d
        assert 0.02 < gap < 0.15, gap
        assert abs(fast.mean() - d) < 0.1 * d
        assert abs(exact.mean() - d) < 0.15 * d
        assert np.corrcoef(exact, fast)[0, 1] > 0.5


def test_local_id_transformer():
    rng = np.random.default_rng(8)
    X = _embed(rng.random((300, 2)), 5, rng)
    est = LocalIntrinsicDimension(n_neighbors=16, algorithm="brute")
    out = est.fit_transform(X)
    assert out.shape == (300, 1)
    np.testing.assert_allclose(out[:, 0], local_intrinsic_dimension(X, 16, algorithm="brute"))
    assert list(est.get_feature_names_out()) == ["local_id"]
    df = clone(est).set_output(transform="pandas").fit(X).transform(pd.DataFrame(X))
    assert list(df.columns) == ["local_id"]
    with pytest.raises(ValueError, match="n_neighbors"):
        LocalIntrinsicDimension(n_neighbors=2).fit(X)
    with pytest.raises(ValueError, match="mode"):
        LocalIntrinsicDimension(mode="slow").fit(X)


# ----------------------------------------------------------------------------- GRIDE
def _gride_loglik(d, mu, n1, n2):
    """Log-likelihood of Denti et al. (2022), eq. 4, written out directly."""
    return np.sum(
        np.log(d)
        + (n2 - n1 - 1) * np.log(mu**d - 1.0)
        - ((n2 - 1) * d + 1) * np.log(mu)
        - betaln(n2 - n1, n1)
    )


def test_gride_matches_direct_likelihood_and_twonn():
    rng = np.random.default_rng(10)
    X = _embed(rng.normal(size=(2000, 3)), 8, rng)
    spec = multiscale_intrinsic_dimension(X, max_neighbors=16, algorithm="brute")
    assert list(spec.columns) == ["scale", "n1", "n2", "dimension", "dimension_std", "mean_distance", "n_points"]
    assert spec["n2"].tolist() == [2, 4, 8, 16]
    d, _ = cKDTree(X).query(X, k=17)
    mu = d[:, 2] / d[:, 1]
    assert spec["dimension"].iloc[0] == pytest.approx(mu.size / np.log(mu).sum(), rel=1e-8)
    for _, row in spec.iterrows():
        n1, n2 = int(row.n1), int(row.n2)
        mu = d[:, n2] / d[:, n1]
        best = minimize_scalar(lambda t: -_gride_loglik(t, mu, n1, n2), bounds=(0.1, 30), method="bounded",
                               options={"xatol": 1e-10})
        assert row.dimension == pytest.approx(best.x, rel=1e-5)
        assert row.mean_distance == pytest.approx(d[:, n2].mean(), rel=1e-9)


def test_gride_reads_scales():
    rng = np.random.default_rng(11)
    square = _embed(rng.random((6000, 2)), 10, rng)
    spec = multiscale_intrinsic_dimension(square, max_neighbors=64, algorithm="brute")
    assert np.all(np.abs(spec["dimension"] - 2.0) < 3 * spec["dimension_std"] + 0.1)
    # a circle with small isotropic noise in R^10: noise dimensions at the smallest
    # scale, the curve itself once neighbourhoods are much wider than the noise
    th = rng.random(5000) * 2 * np.pi
    noisy = np.zeros((5000, 10))
    noisy[:, 0], noisy[:, 1] = np.cos(th), np.sin(th)
    noisy += 1e-3 * rng.normal(size=noisy.shape)
    spec = multiscale_intrinsic_dimension(noisy, max_neighbors=128, algorithm="brute")
    assert spec["dimension"].iloc[0] > 5
    assert spec["dimension"].iloc[-1] < 1.5
    assert spec["mean_distance"].is_monotonic_increasing


# ----------------------------------------------------------------------------- information imbalance
def _imbalance_reference(A, B, k):
    """Delta(A -> B) from full argsort ranks of both spaces (the shared rank mode)."""
    RA = np.vstack([r for _, r in iter_rank_blocks(A)])
    RB = np.vstack([r for _, r in iter_rank_blocks(B)])
    picked = RB[(RA >= 1) & (RA <= k)]
    return 2.0 * picked.mean() / A.shape[0]


@pytest.mark.parametrize("k", [1, 4])
def test_imbalance_matches_full_ranks_with_ties(k):
    rng = np.random.default_rng(12)
    A = rng.integers(0, 4, size=(150, 3)).astype(float)  # many tied distances and duplicates
    B = A[:, :2] + rng.integers(0, 2, size=(150, 1))
    for P, Q in ((A, B), (B, A)):
        got = information_imbalance(P, Q, n_neighbors=k, working_memory=0.02)
        assert got == pytest.approx(_imbalance_reference(P, Q, k), rel=1e-12)


def test_imbalance_matches_python_loop():
    rng = np.random.default_rng(13)
    A, B = rng.normal(size=(60, 3)), rng.normal(size=(60, 2))
    n, total = len(A), 0
    for i in range(n):
        da = [(np.linalg.norm(A[i] - A[j]), j) for j in range(n) if j != i]
        db = sorted((np.linalg.norm(B[i] - B[j]), j) for j in range(n) if j != i)
        nearest = min(da)[1]
        total += 1 + [j for _, j in db].index(nearest)
    assert information_imbalance(A, B) == pytest.approx(2 * total / n**2, rel=1e-12)


def test_imbalance_cube_and_projection():
    """X uniform in [0,1]^3, Y = (x, y): the full space predicts the projection.

    Reference values, derived independently of the code:
    * Delta(X -> Y): the 3-D nearest neighbour at distance r lies at projected
      distance r sin(theta), E[sin^2] = 2/3, E[r^2] = Gamma(5/3) (4 pi N / 3)^(-2/3),
      so the mean 2-D rank is 1 + N pi (2/3) E[r^2] and Delta = 2/N of it: 0.0054 at
      N = 5000 (interior points; the cube's faces add a little). A value "about
      0.01" quoted for this example is the same quantity at smaller N (it falls as N^(-2/3)).
    * Delta(Y -> X): the 2-D neighbour is about |z - z'| away in 3-D, so its rank
      is N times the volume of the ball of that radius inside the cube; a Monte Carlo
      average over x and z' gives 0.333 +- 0.003. The spread of Delta over samples at
      N = 5000 is about 0.006, hence the tolerance.
    """
    rng = np.random.default_rng(14)
    X = rng.random((5000, 3))
    Y = X[:, :2]
    PX, PY = prepare_information_imbalance(X), prepare_information_imbalance(Y)
    dxy, dyx = information_imbalance_prepared(PX, PY), information_imbalance_prepared(PY, PX)
    assert 0.004 < dxy < 0.008
    assert abs(dyx - 0.333) < 0.025


def test_imbalance_estimator_directions():
    rng = np.random.default_rng(14)
    X = rng.random((800, 3))
    Y = X[:, :2]
    dxy, dyx = information_imbalance(X, Y), information_imbalance(Y, X)
    est = InformationImbalance().fit(X, Y)
    assert est.delta_xy_ == pytest.approx(dxy, rel=1e-12)
    assert est.delta_yx_ == pytest.approx(dyx, rel=1e-12)
    assert est.score(X, Y) == pytest.approx(1 - (dxy + dyx) / 2, rel=1e-12)
    PX, PY = est.prepare(X), est.prepare(Y, "Y")
    assert est.set_params(direction="x_to_y").combine(PX, PY) == pytest.approx(1 - dxy, rel=1e-12)
    assert est.set_params(direction="y_to_x").combine(PX, PY) == pytest.approx(1 - dyx, rel=1e-12)


def test_imbalance_identical_and_independent():
    rng = np.random.default_rng(15)
    X = rng.normal(size=(1000, 4))
    # same neighbour order: every nearest neighbour has rank 1 -> 2/N; k neighbours -> (k+1)/N
    assert information_imbalance(X, 3 * X + 1) == pytest.approx(2 / 1000, rel=1e-12)
    assert information_imbalance(X, X, n_neighbors=5) == pytest.approx(6 / 1000, rel=1e-12)
    assert InformationImbalance().fit(X, X).score(X, X) == pytest.approx(1 - 2 / 1000, rel=1e-12)
    # independent: a uniformly random rank in 1..N-1 averages N/2, Delta -> 1; the sd
    # of the mean is 2 / sqrt(12 N) = 0.018, so 0.07 is about four sd
    Z = rng.normal(size=(1000, 4))
    assert information_imbalance(X, Z) == pytest.approx(1.0, abs=0.07)
    assert InformationImbalance(n_neighbors=3).fit(X, Z).score(X, Z) == pytest.approx(0.0, abs=0.07)


def test_imbalance_prepare_combine_and_errors():
    rng = np.random.default_rng(16)
    X, Y = rng.normal(size=(300, 5)), rng.normal(size=(300, 2))
    est = InformationImbalance(n_neighbors=2, metric="cosine")
    PX, PY = est.prepare(X), est.prepare(Y, "Y")
    assert PX.neighbors.shape == (300, 2)
    assert est.combine(PX, PY) == pytest.approx(est.fit(X, Y).score(X, Y), rel=1e-12)
    assert information_imbalance_prepared(PX, PY) == pytest.approx(
        information_imbalance(X, Y, n_neighbors=2, metric="cosine"), rel=1e-12
    )
    with pytest.raises(ValueError, match="same samples"):
        information_imbalance_prepared(PX, prepare_information_imbalance(Y[:200], 2))
    with pytest.raises(ValueError, match="n_neighbors=300 is outside"):
        information_imbalance(X, Y, n_neighbors=300)
    with pytest.raises(ValueError, match="zero variance"):
        information_imbalance(X, np.ones((300, 2)))
    with pytest.raises(ValueError, match="direction"):
        InformationImbalance(direction="up").fit(X, Y)


def test_lattice_raises_naming_x_never_nan_or_inf():
    # a square lattice: r1 = r2 at every point, so every ratio is 1 and TwoNN has no
    # finite value: a ValueError naming X, never inf/NaN, never a RuntimeWarning from log(0)
    g = np.stack(np.meshgrid(np.arange(12.0), np.arange(12.0)), -1).reshape(-1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for call in (
            lambda: twonn_dimension(g),
            lambda: twonn_dimension(g, method="mle"),
            lambda: TwoNN().fit(g),
            lambda: local_intrinsic_dimension(g, 4, algorithm="brute", mode="fast"),
            lambda: local_intrinsic_dimension(g, 4, algorithm="brute", estimator="mle"),
            lambda: LocalIntrinsicDimension(n_neighbors=4).fit_transform(g),
        ):
            with pytest.raises(ValueError, match="^X: .*r2/r1 equal to 1"):
                call()
        with pytest.raises(ValueError, match="^mu: .*r2/r1 equal to 1"):
            twonn_from_ratios(np.ones(50))
    # GRIDE's first scale is TwoNN's: NaN with a warning there, finite where ranks differ
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(UserWarning, match=r"no finite GRIDE estimate at scale\(s\) j = \[0\]"):
            spec = multiscale_intrinsic_dimension(g, max_neighbors=16, algorithm="brute")
    assert np.isnan(spec["dimension"].iloc[0]) and np.isfinite(spec["dimension"].iloc[1:]).all()
    # a few ratios above 1 among the kept ones are enough for a finite estimate
    mu = np.ones(50)
    mu[:10] = 1.5
    assert np.isfinite(twonn_from_ratios(mu)) and np.isfinite(twonn_from_ratios(mu, method="mle"))


@pytest.mark.parametrize("scale", [2.0**-1000, 1e-300, 1e-150, 1e-20, 3.7, 1e40, 1e150, 1e300, 2.0**1000])
def test_intrinsic_dimension_is_scale_free(scale):
    # every estimator is a function of distance ratios: the unit-scale value at any
    # finite scale, never NaN/inf from squared distances that under- or overflow
    rng = np.random.default_rng(21)
    X = _embed(rng.normal(size=(400, 3)), 6, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, underflow or r1 = 0 warnings
        Xs = X * scale
        for method in ("linear", "mle"):
            want = twonn_dimension(X, method=method, algorithm="brute")
            assert twonn_dimension(Xs, method=method, algorithm="brute") == pytest.approx(want, rel=1e-9)
        for mode in ("exact", "fast"):
            want = local_intrinsic_dimension(X, 16, mode=mode, algorithm="brute")
            got = local_intrinsic_dimension(Xs, 16, mode=mode, algorithm="brute")
            np.testing.assert_allclose(got, want, rtol=1e-9)
        want = multiscale_intrinsic_dimension(X, max_neighbors=16, algorithm="brute")
        got = multiscale_intrinsic_dimension(Xs, max_neighbors=16, algorithm="brute")
        np.testing.assert_allclose(got["dimension"], want["dimension"], rtol=1e-9)
        np.testing.assert_allclose(got["mean_distance"], want["mean_distance"] * scale, rtol=1e-9)
        cos = twonn_dimension(X + 1.0, metric="cosine", algorithm="brute")
        assert twonn_dimension((X + 1.0) * scale, metric="cosine", algorithm="brute") == pytest.approx(cos, rel=1e-9)


def test_intrinsic_dimension_subnormal_and_float32_extremes():
    rng = np.random.default_rng(22)
    X = _embed(rng.normal(size=(300, 2)), 5, rng)
    want = twonn_dimension(X, algorithm="brute")
    # subnormal values keep ~13 digits at 1e-310: the ratios stay close to the unit-scale ones
    assert twonn_dimension(X * 1e-310, algorithm="brute") == pytest.approx(want, rel=1e-6)
    # float32 near its largest value: squared distances overflow float32 without rescaling
    X32 = X.astype(np.float32)
    want32 = twonn_dimension(X32, algorithm="brute")
    assert twonn_dimension(X32 * np.float32(1e37), algorithm="brute") == pytest.approx(want32, rel=1e-5)
    assert twonn_dimension(X32 * np.float32(1e-37), algorithm="brute") == pytest.approx(want32, rel=1e-5)


def test_imbalance_score_is_one_minus_mean_delta():
    rng = np.random.default_rng(17)
    X = rng.normal(size=(120, 4))
    Y = X[:, :2] + 0.3 * rng.normal(size=(120, 2))
    dxy, dyx = _imbalance_reference(X, Y, 2), _imbalance_reference(Y, X, 2)
    PX, PY = prepare_information_imbalance(X, 2), prepare_information_imbalance(Y, 2)
    assert information_imbalance_score(PX, PY) == pytest.approx(1 - (dxy + dyx) / 2, rel=1e-12)
    assert information_imbalance_score(PX, PY, direction="x_to_y") == pytest.approx(1 - dxy, rel=1e-12)
    assert information_imbalance_score(PX, PY, direction="y_to_x") == pytest.approx(1 - dyx, rel=1e-12)
    for direction in ("both", "x_to_y", "y_to_x"):
        est = InformationImbalance(n_neighbors=2, direction=direction).fit(X, Y)
        assert est.score(X, Y) == pytest.approx(information_imbalance_score(PX, PY, direction=direction), rel=1e-12)
    with pytest.raises(ValueError, match="direction"):
        information_imbalance_score(PX, PY, direction="up")
    with pytest.raises(ValueError, match="same samples"):
        information_imbalance_score(PX, prepare_information_imbalance(Y[:100], 2))


def test_imbalance_float32_offset_is_translation_invariant():
    # the neighbour order must be that of the exact distances of the float32 values
    # given, whatever their common offset
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 16)).astype(np.float32)
    at_zero = InformationImbalance().fit(X, X).score(X, X)
    for offset in (1e3, 1e4):
        Y = X + np.float32(offset)
        exact = Y.astype(np.float64) - offset  # the values of Y, less the offset, exactly
        moved = InformationImbalance().fit(X, Y).score(X, Y)
        assert moved == pytest.approx(InformationImbalance().fit(X, exact).score(X, exact), rel=1e-12)
        # Y rounds X to ~1e-3 (float32 spacing at 1e4), which moves at most a few near ties
        assert moved == pytest.approx(at_zero, abs=1e-3)
