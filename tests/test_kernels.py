"""CKA / HSIC: checks against brute force written independently of skalign.kernels."""

import itertools
import pickle

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform
from scipy.stats import ortho_group
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skalign.kernels as kernels
from skalign import CKAScorer
from skalign.metrics import (
    LinearCKAAccumulator,
    cka,
    combine_cka,
    hsic,
    linear_cka,
    minibatch_cka,
    prepare_cka,
    rbf_cka,
)


# ----------------------------------------------------------------------------- brute force
def _gram_linear(X):
    return X @ X.T


def _gram_rbf(X, sigma):
    return np.exp(-squareform(pdist(X, "sqeuclidean")) / (2 * sigma**2))


def _median_sigma(X, fraction=1.0):
    return fraction * np.sqrt(np.median(pdist(X, "sqeuclidean")))


def _cka_brute(K, L):
    """Biased CKA with an explicit centring matrix and traces."""
    n = K.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    Kc, Lc = H @ K @ H, H @ L @ H
    return np.trace(Kc @ Lc) / np.sqrt(np.trace(Kc @ Kc) * np.trace(Lc @ Lc))


def _hsic_u_loop(K, L):
    """Song et al. (2012), Theorem 2: HSIC_1 as a U-statistic over 4-tuples of distinct indices,
    h(i,j,q,r) = 1/4! sum over orderings (t,u,v,w) of K_tu L_tu + K_tu L_vw - 2 K_tu L_tv."""
    n = K.shape[0]
    total = 0.0
    count = 0
    for tup in itertools.combinations(range(n), 4):
        h = 0.0
        for t, u, v, w in itertools.permutations(tup):
            h += K[t, u] * L[t, u] + K[t, u] * L[v, w] - 2.0 * K[t, u] * L[t, v]
        total += h / 24.0
        count += 1
    return total / count


def _pair(rng, n=120, dx=6, dy=5, noise=0.5):
    X = rng.normal(size=(n, dx))
    Y = X @ rng.normal(size=(dx, dy)) + noise * rng.normal(size=(n, dy))
    return X, Y


# ----------------------------------------------------------------------------- invariances
@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("debiased", [False, True])
def test_one_for_scaled_rotated_translated_copy(rng, kernel, debiased):
    X = rng.normal(size=(80, 7))
    Q = ortho_group.rvs(7, random_state=1)
    Y = 3.7 * X @ Q + rng.normal(size=7) * 10
    assert cka(X, Y, kernel=kernel, debiased=debiased) == pytest.approx(1.0, abs=1e-10)


def test_not_invariant_to_invertible_linear_map(rng):
    X = rng.normal(size=(300, 5))
    A = np.diag([1.0, 1.0, 1.0, 1.0, 30.0]) @ ortho_group.rvs(5, random_state=2)
    assert np.linalg.cond(A) > 10  # invertible, far from orthogonal
    value = linear_cka(X, X @ A)
    assert value < 0.5
    # ...and the brute-force CKA agrees, so the drop is real, not an artefact
    assert value == pytest.approx(_cka_brute(_gram_linear(X), _gram_linear(X @ A)), rel=1e-10)


# ----------------------------------------------------------------------------- routes and brute force
@pytest.mark.parametrize("debiased", [False, True])
def test_gram_route_equals_feature_route(rng, debiased):
    X, Y = _pair(rng, n=60, dx=8, dy=12)
    feat = linear_cka(X, Y, debiased=debiased, method="feature")
    gram = linear_cka(X, Y, debiased=debiased, method="gram")
    assert feat == pytest.approx(gram, rel=1e-10, abs=1e-12)
    # mixed: one representation on each route
    PX = prepare_cka(X, method="gram")
    PY = prepare_cka(Y, method="feature")
    assert PX.gram is not None and PY.features is not None
    assert combine_cka(PX, PY, debiased=debiased) == pytest.approx(feat, rel=1e-10, abs=1e-12)
    assert combine_cka(PY, PX, debiased=debiased) == pytest.approx(feat, rel=1e-10, abs=1e-12)


def test_auto_route_follows_width(rng):
    wide = rng.normal(size=(20, 50))
    narrow = rng.normal(size=(20, 5))
    assert prepare_cka(wide).gram is not None and prepare_cka(wide).features is None
    assert prepare_cka(narrow).features is not None and prepare_cka(narrow).gram is None
    # d >= n on one side: the value still matches the brute force
    expect = _cka_brute(_gram_linear(wide), _gram_linear(narrow))
    assert linear_cka(wide, narrow) == pytest.approx(expect, rel=1e-10)


def test_linear_matches_brute_force(rng):
    X, Y = _pair(rng)
    assert linear_cka(X, Y) == pytest.approx(_cka_brute(_gram_linear(X), _gram_linear(Y)), rel=1e-10)


@pytest.mark.parametrize("fraction", [0.4, 1.0])
def test_rbf_matches_brute_force_with_median_sigma(rng, fraction):
    X, Y = _pair(rng, n=70)
    K = _gram_rbf(X, _median_sigma(X, fraction))
    L = _gram_rbf(Y, _median_sigma(Y, fraction))
    assert rbf_cka(X, Y, sigma_fraction=fraction) == pytest.approx(_cka_brute(K, L), rel=1e-10)
    assert prepare_cka(X, kernel="rbf", sigma_fraction=fraction).sigma == pytest.approx(
        _median_sigma(X, fraction), rel=1e-12
    )


def test_rbf_fixed_sigma_matches_brute_force(rng):
    X, Y = _pair(rng, n=50)
    K, L = _gram_rbf(X, 2.0), _gram_rbf(Y, 3.0)
    PX = prepare_cka(X, kernel="rbf", sigma=2.0)
    PY = prepare_cka(Y, kernel="rbf", sigma=3.0)
    assert combine_cka(PX, PY) == pytest.approx(_cka_brute(K, L), rel=1e-10)


def test_rbf_is_row_blocked(rng):
    from sklearn import config_context

    from skalign.neighbors import block_rows

    X, Y = _pair(rng, n=90)
    full = rbf_cka(X, Y, debiased=True)
    with config_context(working_memory=0.005):  # MiB: 7 rows of 90 float64 per block
        assert block_rows(90) == 7  # so 13 uneven blocks are really used
        assert rbf_cka(X, Y, debiased=True) == pytest.approx(full, rel=1e-12)


# ----------------------------------------------------------------------------- debiased
@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_debiased_hsic_equals_u_statistic_loop(rng, kernel):
    X, Y = _pair(rng, n=9, dx=3, dy=4, noise=1.0)
    if kernel == "linear":
        K, L, kw = _gram_linear(X), _gram_linear(Y), {}
    else:
        K, L, kw = _gram_rbf(X, 1.5), _gram_rbf(Y, 1.5), {"kernel": "rbf", "sigma": 1.5}
    expect = _hsic_u_loop(K, L)
    assert hsic(X, Y, debiased=True, **kw) == pytest.approx(expect, rel=1e-9, abs=1e-12)
    cka_expect = expect / np.sqrt(_hsic_u_loop(K, K) * _hsic_u_loop(L, L))
    assert cka(X, Y, debiased=True, **kw) == pytest.approx(cka_expect, rel=1e-9)


def test_debiased_linear_cka_equals_u_statistic_loop(rng):
    X, Y = _pair(rng, n=8, dx=3, dy=2, noise=1.0)
    K, L = _gram_linear(X), _gram_linear(Y)
    expect = _hsic_u_loop(K, L) / np.sqrt(_hsic_u_loop(K, K) * _hsic_u_loop(L, L))
    for method in ("feature", "gram"):
        assert linear_cka(X, Y, debiased=True, method=method) == pytest.approx(expect, rel=1e-9)


def test_biased_hsic_is_trace_formula(rng):
    X, Y = _pair(rng, n=30)
    n = 30
    H = np.eye(n) - 1.0 / n
    expect = np.trace(_gram_linear(X) @ H @ _gram_linear(Y) @ H) / (n - 1) ** 2
    assert hsic(X, Y) == pytest.approx(expect, rel=1e-10)


def test_debiased_near_zero_and_below_biased_for_independent(rng):
    X = rng.normal(size=(200, 50))
    Y = rng.normal(size=(200, 50))
    biased = linear_cka(X, Y)
    unbiased = linear_cka(X, Y, debiased=True)
    assert biased > 0.15  # the bias of the plug-in estimator at n=200, d=50
    assert abs(unbiased) < 0.05
    assert -1.0 <= unbiased <= 1.0


# ----------------------------------------------------------------------------- streaming
@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("offset", [0.0, 1e3])
def test_partial_fit_over_seven_uneven_batches_is_exact(rng, debiased, offset):
    X, Y = _pair(rng, n=301, dx=9, dy=6)
    X = X + offset
    one_shot = linear_cka(X, Y, debiased=debiased)
    cuts = [1, 3, 40, 41, 150, 220]  # 7 batches: sizes 1, 2, 37, 1, 109, 70, 81
    est = CKAScorer(debiased=debiased)
    for part_x, part_y in zip(np.split(X, cuts), np.split(Y, cuts)):
        est.partial_fit(part_x, part_y)
    assert est.n_samples_seen_ == 301
    assert est.cka_ == pytest.approx(one_shot, rel=1e-10, abs=1e-12)


def test_partial_fit_value_undefined_until_enough_rows(rng):
    X, Y = _pair(rng, n=10)
    est = CKAScorer(debiased=True).partial_fit(X[:2], Y[:2])
    assert not hasattr(est, "cka_")  # fewer than 4 rows: debiased CKA undefined, no silent NaN
    est.partial_fit(X[2:], Y[2:])
    assert est.cka_ == pytest.approx(linear_cka(X, Y, debiased=True), rel=1e-10)
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:, :-1], Y)
    # fit starts over
    est.fit(X, Y)
    assert not hasattr(est, "cka_")


def test_accumulator_refuses_zero_variance(rng):
    acc = LinearCKAAccumulator().update(np.ones((5, 3)), rng.normal(size=(5, 2)))
    with pytest.raises(ValueError, match="X has zero variance"):
        acc.value()


def test_minibatch_single_batch_is_full_debiased_cka(rng):
    X, Y = _pair(rng, n=64)
    assert minibatch_cka(X, Y, batch_size=64) == pytest.approx(linear_cka(X, Y, debiased=True), rel=1e-10)


def test_minibatch_is_ratio_of_mean_unbiased_hsics(rng):
    X, Y = _pair(rng, n=90, noise=2.0)

    def ub_hsic(K, L):  # Kornblith et al.'s "unbiased centring" form of HSIC_1
        n = K.shape[0]

        def centre(G):
            G = G.copy()
            np.fill_diagonal(G, 0)
            m = G.sum(0) / (n - 2)
            m -= m.sum() / (2 * (n - 1))
            G -= m[:, None] + m[None, :]
            np.fill_diagonal(G, 0)
            return G

        return np.sum(centre(K) * centre(L)) / (n * (n - 3))

    s = np.zeros(3)
    for idx in np.array_split(np.arange(90), 3):
        K, L = _gram_rbf(X[idx], 1.7), _gram_rbf(Y[idx], 1.7)
        s += (ub_hsic(K, L), ub_hsic(K, K), ub_hsic(L, L))
    expect = s[0] / np.sqrt(s[1] * s[2])
    got = minibatch_cka(X, Y, kernel="rbf", sigma=1.7, batch_size=30, shuffle=False)
    assert got == pytest.approx(expect, rel=1e-10)


def test_minibatch_rbf_partial_fit_matches_function(rng):
    X, Y = _pair(rng, n=120)
    est = CKAScorer(kernel="rbf", debiased=True)
    for idx in np.array_split(np.arange(120), 4):
        est.partial_fit(X[idx], Y[idx])
    assert est.cka_ == pytest.approx(minibatch_cka(X, Y, kernel="rbf", batch_size=30, shuffle=False), rel=1e-12)
    assert 0.3 < est.cka_ <= 1.0


# ----------------------------------------------------------------------------- estimator
def test_score_is_combine_of_prepare_and_identity_shortcut(rng):
    X, Y = _pair(rng)
    est = CKAScorer(kernel="rbf", sigma_fraction=0.8).fit(X, Y)
    PX, PY = est.prepare(X), est.prepare(Y)
    assert est.score(X, Y) == pytest.approx(est.combine(PX, PY), rel=1e-12)
    assert est.combine(PX, PX) == 1.0
    pickle.loads(pickle.dumps(PX))


def test_score_uses_rows_given(rng):
    X, Y = _pair(rng, n=100)
    est = CKAScorer().fit(X[:50], Y[:50])
    assert est.score(X[50:], Y[50:]) == pytest.approx(linear_cka(X[50:], Y[50:]), rel=1e-12)


def test_pipeline_with_scaler_and_pca(rng):
    X, Y = _pair(rng, n=150, dx=12)
    pipe = make_pipeline(StandardScaler(), PCA(n_components=6), CKAScorer())
    s = pipe.fit(X, Y).score(X, Y)
    Xt = PCA(n_components=6).fit_transform(StandardScaler().fit_transform(X))
    assert s == pytest.approx(linear_cka(Xt, Y), rel=1e-8)
    scores = cross_val_score(pipe, X, Y, cv=KFold(5, shuffle=True, random_state=0))
    assert scores.shape == (5,) and np.all((scores > 0) & (scores <= 1))


def test_float32_input(rng):
    X, Y = _pair(rng, n=500)
    assert linear_cka(X.astype(np.float32), Y.astype(np.float32)) == pytest.approx(linear_cka(X, Y), rel=1e-5)


# ----------------------------------------------------------------------------- bad input
def test_zero_variance_is_refused(rng):
    X = rng.normal(size=(30, 4))
    const = np.full((30, 3), 0.1)  # 0.1 is not exact in binary: its column mean is rounded
    for kernel in ("linear", "rbf"):
        with pytest.raises(ValueError, match="Y has zero variance"):
            cka(X, const, kernel=kernel)
        with pytest.raises(ValueError, match="X has zero variance"):
            CKAScorer(kernel=kernel).fit(const, X)
        with pytest.raises(ValueError, match="layer has zero variance"):
            CKAScorer(kernel=kernel).prepare(const.astype(np.float32), name="layer")


def test_rbf_refuses_large_n(rng, monkeypatch):
    monkeypatch.setattr(kernels, "RBF_MAX_SAMPLES", 40)
    X, Y = _pair(rng, n=41)
    with pytest.raises(ValueError, match="RBF_MAX_SAMPLES = 40"):
        rbf_cka(X, Y)
    assert 0 < minibatch_cka(X, Y, kernel="rbf", batch_size=20, random_state=0) <= 1


def test_other_bad_input(rng):
    X, Y = _pair(rng, n=20)
    with pytest.raises(ValueError, match="at least 4"):
        CKAScorer(debiased=True).fit(X[:3], Y[:3])
    with pytest.raises(ValueError, match="same samples"):
        combine_cka(prepare_cka(X), prepare_cka(Y[:10]))
    with pytest.raises(ValueError, match="kernel"):
        cka(X, Y, kernel="poly")
    with pytest.raises(ValueError, match="sigma"):
        cka(X, Y, kernel="rbf", sigma=-1.0)
    dup = np.vstack([np.repeat(X[:1], 15, axis=0), X[1:6]])  # 105 of 190 pairs identical: median 0
    with pytest.raises(ValueError, match="median"):
        rbf_cka(dup, Y)
    with pytest.raises(Exception, match="kernel"):
        CKAScorer(kernel="poly").fit(X, Y)
    with pytest.raises(ValueError, match="batch_size"):
        minibatch_cka(X, Y, batch_size=2)
    assert clone(CKAScorer(sigma=2.0)).get_params()["sigma"] == 2.0


# ----------------------------------------------------------------------------- debiased RBF: the direct estimator
def _rbf_zero_diag(X, sigma):
    K = _gram_rbf(X, sigma)
    np.fill_diagonal(K, 0.0)
    return K


def _hsic1_direct(K, L):
    """n(n-3) HSIC_1 by Song et al.'s three-term formula on zero-diagonal, *uncentred* kernels."""
    n = K.shape[0]
    return np.sum(K * L) + K.sum() * L.sum() / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * (K.sum(0) @ L.sum(0))


def _cka1_direct(K, L):
    return _hsic1_direct(K, L) / np.sqrt(_hsic1_direct(K, K) * _hsic1_direct(L, L))


@pytest.mark.parametrize("fraction", [0.1, 0.15, 0.4, 1.0])
def test_debiased_rbf_is_the_direct_unbiased_estimator(fraction):
    # narrow bandwidths: the kernel is nearly the identity, whose centred form loses the signal
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 256))
    Y = X + rng.normal(size=(300, 256))
    Kx = _rbf_zero_diag(X, _median_sigma(X, fraction))
    Ky = _rbf_zero_diag(Y, _median_sigma(Y, fraction))
    expect = _cka1_direct(Kx, Ky)
    kw = dict(kernel="rbf", sigma_fraction=fraction, debiased=True)
    assert cka(X, Y, **kw) == pytest.approx(expect, rel=1e-9, abs=1e-12)
    assert hsic(X, Y, **kw) == pytest.approx(_hsic1_direct(Kx, Ky) / (300 * 297), rel=1e-9, abs=1e-15)
    est = CKAScorer(kernel="rbf", sigma_fraction=fraction, debiased=True).fit(X, Y)
    assert est.score(X, Y) == pytest.approx(expect, rel=1e-9, abs=1e-12)
    assert est.combine(est.prepare(X), est.prepare(Y)) == pytest.approx(expect, rel=1e-9, abs=1e-12)
    assert minibatch_cka(X, Y, batch_size=300, shuffle=False, kernel="rbf", sigma_fraction=fraction) \
        == pytest.approx(expect, rel=1e-9, abs=1e-12)


def test_debiased_rbf_minibatches_are_direct_estimators():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(240, 64))
    Y = X + 0.7 * rng.normal(size=(240, 64))
    batches = np.array_split(np.arange(240), 3)
    sx, sy = _median_sigma(X[batches[0]], 0.15), _median_sigma(Y[batches[0]], 0.15)  # fixed by the first batch
    s = np.zeros(3)
    for idx in batches:
        K, L = _rbf_zero_diag(X[idx], sx), _rbf_zero_diag(Y[idx], sy)
        s += (_hsic1_direct(K, L), _hsic1_direct(K, K), _hsic1_direct(L, L))
    got = minibatch_cka(X, Y, kernel="rbf", sigma_fraction=0.15, batch_size=80, shuffle=False)
    assert got == pytest.approx(s[0] / np.sqrt(s[1] * s[2]), rel=1e-9)


def test_rbf_prepared_for_one_estimator_is_refused_by_the_other(rng):
    X, Y = _pair(rng, n=40)
    biased = prepare_cka(X, kernel="rbf"), prepare_cka(Y, kernel="rbf")
    debiased = prepare_cka(X, kernel="rbf", debiased=True), prepare_cka(Y, kernel="rbf", debiased=True)
    with pytest.raises(ValueError, match=r"PX .*debiased=True"):
        combine_cka(*biased, debiased=True)
    with pytest.raises(ValueError, match=r"PX .*debiased=False"):
        combine_cka(*debiased, debiased=False)
    with pytest.raises(ValueError, match="different kernels"):
        combine_cka(debiased[0], prepare_cka(Y, debiased=True), debiased=True)
    assert combine_cka(*debiased, debiased=True) == pytest.approx(rbf_cka(X, Y, debiased=True), rel=1e-12)


# ----------------------------------------------------------------------------- magnitude
def _scale_cases(X, Y, W, V):
    """Every CKA entry point on (X, Y) (n > d) and (W, V) (d >= n: the Gram route)."""
    out = {}
    for kernel in ("linear", "rbf"):
        for debiased in (False, True):
            out[f"cka[{kernel},{debiased}]"] = cka(X, Y, kernel=kernel, debiased=debiased)
    out["cka[gram,True]"] = cka(W, V, debiased=True)
    out["cka[gram,False]"] = cka(W, V)
    out["CKAScorer"] = CKAScorer().fit(X, Y).score(X, Y)
    out["CKAScorer[rbf,debiased]"] = CKAScorer(kernel="rbf", debiased=True).fit(X, Y).score(X, Y)
    out["minibatch"] = minibatch_cka(X, Y, batch_size=30, random_state=0)
    out["minibatch[biased]"] = minibatch_cka(X, Y, batch_size=30, debiased=False, random_state=0)
    out["minibatch[rbf]"] = minibatch_cka(X, Y, kernel="rbf", batch_size=30, random_state=0)
    for debiased in (False, True):
        est = CKAScorer(debiased=debiased)
        for idx in np.array_split(np.arange(X.shape[0]), 4):
            est.partial_fit(X[idx], Y[idx])
        out[f"partial_fit[{debiased}]"] = est.cka_
    return out


def _scale_data():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 6))
    Y = X @ rng.normal(size=(6, 5)) + rng.normal(size=(120, 5))
    W = rng.normal(size=(40, 60))
    V = W[:, :50] + rng.normal(size=(40, 50))
    return X, Y, W, V


@pytest.mark.parametrize("dtype,scales,tol", [
    (np.float64, [1e-150, 1e-50, 1e50, 1e150], 1e-10),
    (np.float32, [1e-30, 1e-10, 1e10, 1e30], 1e-5),
])
def test_cka_is_free_of_scale(dtype, scales, tol):
    X, Y, W, V = _scale_data()
    ref = _scale_cases(X, Y, W, V)
    for scale in scales:
        for scale_y in (1.0, scale):  # both scaled, and one left at unit scale
            got = _scale_cases(*(A.astype(dtype) for A in (scale * X, scale_y * Y, scale * W, scale_y * V)))
            for key, value in got.items():
                assert value == pytest.approx(ref[key], abs=tol), (scale, scale_y, key)


def test_scorer_on_copy_scaled_by_1e77():
    X = np.random.default_rng(0).normal(size=(60, 8))
    assert CKAScorer().fit(X, 1e77 * X).score(X, 1e77 * X) == pytest.approx(1.0, abs=1e-12)
    assert CKAScorer(debiased=True).fit(X, 1e-77 * X).score(X, 1e-77 * X) == pytest.approx(1.0, abs=1e-12)


def test_streaming_batches_of_very_different_magnitude(rng):
    X, Y = _pair(rng, n=200)
    X[150:] *= 1e100  # a later batch far larger than the first: the sums move to its units
    for debiased in (False, True):
        est = CKAScorer(debiased=debiased)
        for idx in np.array_split(np.arange(200), 4):
            est.partial_fit(X[idx], Y[idx])
        assert est.cka_ == pytest.approx(linear_cka(X, Y, debiased=debiased), rel=1e-9, abs=1e-12)


def test_hsic_outside_float64_is_refused(rng):
    X, Y = _pair(rng, n=30)
    expect = hsic(X, Y)
    assert hsic(1e10 * X, Y) == pytest.approx(1e20 * expect, rel=1e-12)  # the linear HSIC is quadratic in X
    for scale in (1e160, 1e-170):
        with pytest.raises(ValueError, match="outside the range of float64"):
            hsic(scale * X, scale * Y)
    # the RBF kernel with a median bandwidth is free of scale
    assert hsic(1e160 * X, Y, kernel="rbf") == pytest.approx(hsic(X, Y, kernel="rbf"), rel=1e-12)


def test_float32_gives_the_float64_number_of_its_values():
    rng = np.random.default_rng(2)
    X = (rng.normal(size=(300, 16)) + 1e4).astype(np.float32)  # an offset 1e4 x the spread
    Y = (X @ rng.normal(size=(16, 12)).astype(np.float32) + rng.normal(size=(300, 12)).astype(np.float32))
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    for kw in ({}, {"debiased": True}, {"method": "gram"}, {"kernel": "rbf"}, {"kernel": "rbf", "debiased": True}):
        assert cka(X, Y, **kw) == pytest.approx(cka(X64, Y64, **kw), abs=1e-6), kw
    assert minibatch_cka(X, Y, batch_size=50, random_state=0) == pytest.approx(
        minibatch_cka(X64, Y64, batch_size=50, random_state=0), abs=1e-12)


def test_streamed_batches_are_small_without_a_warning(rng):
    import warnings

    X, Y = _pair(rng, n=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the few-samples warning is for whole data sets, not batches
        est = CKAScorer(debiased=True)
        for idx in np.array_split(np.arange(40), 8):
            est.partial_fit(X[idx], y=Y[idx])
        acc = LinearCKAAccumulator()
        for idx in np.array_split(np.arange(40), 8):
            acc.update(X[idx], Y[idx])
    assert est.cka_ == pytest.approx(linear_cka(X, Y, debiased=True), rel=1e-10)
    assert acc.value() == pytest.approx(linear_cka(X, Y), rel=1e-10)


@pytest.mark.parametrize("debiased", [False, True])
def test_wide_rbf_kernel_tends_to_linear_cka(rng, debiased):
    # exp(-D/2σ²) = 1 - D/2σ² + O(σ⁻⁴), and -HDH/2 = HXXᵀH: as σ grows, RBF CKA becomes linear CKA
    X, Y = _pair(rng, n=60)
    expect = linear_cka(X, Y, debiased=debiased)
    for factor in (1e5, 1e9):
        sx, sy = factor * _median_sigma(X), factor * _median_sigma(Y)
        PX = prepare_cka(X, kernel="rbf", sigma=sx, debiased=debiased)
        PY = prepare_cka(Y, kernel="rbf", sigma=sy, debiased=debiased)
        assert combine_cka(PX, PY, debiased=debiased) == pytest.approx(expect, abs=1e-7), factor


def test_constant_column_far_larger_than_the_variation(rng):
    # the scale is taken after centring: a constant column at 1e300 does not push the
    # varying ones (at 1) into underflow; it adds nothing to CKA
    X, Y = _pair(rng, n=80)
    wide_x = np.column_stack([np.full(80, 1e300), X])
    wide_y = np.column_stack([Y, np.full(80, -1e-300)])
    for debiased in (False, True):
        expect = linear_cka(X, Y, debiased=debiased)
        assert linear_cka(wide_x, wide_y, debiased=debiased) == pytest.approx(expect, rel=1e-12)
        assert minibatch_cka(wide_x, wide_y, debiased=debiased, batch_size=40, shuffle=False) == pytest.approx(
            minibatch_cka(X, Y, debiased=debiased, batch_size=40, shuffle=False), rel=1e-12)
    assert rbf_cka(wide_x, wide_y) == pytest.approx(rbf_cka(X, Y), rel=1e-12)


@pytest.mark.parametrize("debiased", [False, True])
def test_streaming_constant_column_and_first_row_alone(rng, debiased):
    X, Y = _pair(rng, n=200)
    wide = np.column_stack([np.full(200, 1.7e308), X])  # constant, near the largest float
    est = CKAScorer(debiased=debiased).partial_fit(wide[:1], Y[:1])  # one row: no variation yet
    for idx in np.array_split(np.arange(1, 200), 5):
        est.partial_fit(wide[idx], Y[idx])
    assert est.cka_ == pytest.approx(linear_cka(X, Y, debiased=debiased), rel=1e-12)
    acc = LinearCKAAccumulator(debiased=debiased).update(np.full((5, 2), 1e-300), Y[:5])
    with pytest.raises(ValueError, match="X has zero variance"):
        acc.value()


@pytest.mark.parametrize("n", [7, 8, 40])
def test_sigma_median_all_is_kornblith_median_over_all_entries(n):
    from scipy.spatial.distance import cdist

    from skalign.metrics import cka, prepare_cka

    rng = np.random.default_rng(n)
    X, Y = rng.normal(size=(n, 5)), rng.normal(size=(n, 3))
    Y[:, 0] += X[:, 0]
    sig = {}
    for name, A in (("X", X), ("Y", Y)):
        D = cdist(A, A, "sqeuclidean")
        sig[name] = np.sqrt(np.median(D))  # all n² entries, diagonal zeros included
        assert prepare_cka(A, kernel="rbf", sigma="median_all").sigma == pytest.approx(sig[name], rel=1e-12)
        # the pairs-only median is larger: n zeros pull the all-entries median down
        assert prepare_cka(A, kernel="rbf", sigma="median").sigma > sig[name]
    H = np.eye(n) - 1.0 / n
    K = H @ np.exp(-cdist(X, X, "sqeuclidean") / (2 * sig["X"] ** 2)) @ H
    L = H @ np.exp(-cdist(Y, Y, "sqeuclidean") / (2 * sig["Y"] ** 2)) @ H
    want = np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))
    assert cka(X, Y, kernel="rbf", sigma="median_all") == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("offset", [0.0, 50.0])
@pytest.mark.parametrize("method", ["feature", "gram"])
def test_prepared_for_biased_serves_debiased_too(rng, dtype, offset, method):
    # biased preparation skips the row norms; a debiased combine forms them, equal to preparing for it
    X, Y = _pair(rng, n=60, dx=8, dy=12)
    X, Y = (X + offset).astype(dtype), (Y - offset).astype(dtype)
    for deb in (False, True):
        lazy = combine_cka(prepare_cka(X, method=method), prepare_cka(Y, method=method), debiased=deb)
        eager = combine_cka(
            prepare_cka(X, method=method, debiased=True), prepare_cka(Y, method=method, debiased=True), debiased=deb
        )
        assert lazy == eager
        assert lazy == pytest.approx(linear_cka(X.astype(np.float64), Y.astype(np.float64), debiased=deb),
                                     abs=1e-5 if dtype == np.float32 else 1e-12)
