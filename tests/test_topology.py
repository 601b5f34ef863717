"""Tests of skalign.topology and its transformers against known answers.

The brute-force Betti numbers below share nothing with the code under test: they
build the binary superlevel complex at one threshold, count its cells for the
Euler characteristic, and count components of the set and of its complement with
scipy.ndimage.label (Alexander duality gives the top Betti number).
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skalign import CubicalBettiProfile, PersistenceSummary
from skalign.topology import (
    betti_curves,
    complexity_decay,
    diagram_features,
    minmax_per_sample,
    persistence_summary,
    rips_diagrams,
    topological_complexity,
)


# ---------------------------------------------------------------------------
# Independent brute force: Betti numbers of one binary set
# ---------------------------------------------------------------------------
def _euler_characteristic(mask, construction):
    """Alternating count of the cells of the T- or V-complex of a binary grid."""
    d = mask.ndim
    if construction == "T":
        # doubled grid: pixel centres at odd coordinates; a cell is present when it
        # lies in the closure of a present pixel
        big = np.zeros(tuple(2 * s + 1 for s in mask.shape), dtype=bool)
        big[tuple(slice(1, None, 2) for _ in range(d))] = mask
        cells = ndimage.maximum_filter(big, size=3, mode="constant", cval=False)
    else:
        # vertices at even coordinates; a cell is present when all its vertices are
        big = np.ones(tuple(2 * s - 1 for s in mask.shape), dtype=bool)
        big[tuple(slice(0, None, 2) for _ in range(d))] = mask
        cells = ndimage.minimum_filter(big, size=3, mode="constant", cval=True)
    # in both doubled grids vertices sit at even coordinates, so a cell's dimension is
    # its number of odd coordinates
    n_odd = sum(np.indices(cells.shape) % 2)
    return int(np.where(n_odd % 2 == 0, 1, -1)[cells].sum())


def brute_betti(mask, construction):
    """(beta_0, ..., beta_{d-1}) of the binary set ``mask`` (d = 1, 2, 3)."""
    mask = np.asarray(mask, dtype=bool)
    d = mask.ndim
    full = ndimage.generate_binary_structure(d, d)
    face = ndimage.generate_binary_structure(d, 1)
    own, dual = (full, face) if construction == "T" else (face, full)
    b0 = ndimage.label(mask, structure=own)[1]
    if d == 1:
        return (b0,)
    # components of the complement, the unbounded one included through the padding
    comp = ndimage.label(np.pad(~mask, 1, constant_values=True), structure=dual)[1]
    top = comp - 1
    chi = _euler_characteristic(mask, construction)
    if d == 2:
        assert b0 - top == chi  # Euler: chi = b0 - b1
        return (b0, top)
    b1 = b0 + top - chi  # chi = b0 - b1 + b2
    return (b0, b1, top)


def brute_curves(X, thresholds, dims, construction):
    out = np.zeros((len(X), len(dims), len(thresholds)), dtype=int)
    for i, x in enumerate(X):
        for k, eta in enumerate(thresholds):
            betti = brute_betti(x >= eta, construction)
            for j, q in enumerate(dims):
                out[i, j, k] = betti[q] if q < len(betti) else 0
    return out


def _annulus():
    img = np.zeros((7, 7))
    img[1:6, 1:6] = 1.0
    img[2:5, 2:5] = 0.0
    return img


def _shell():
    vol = np.zeros((5, 5, 5))
    vol[1:4, 1:4, 1:4] = 1.0
    vol[2, 2, 2] = 0.0
    return vol


def _extruded_annulus():
    vol = np.zeros((7, 7, 5))
    vol[:, :, 1:4] = _annulus()[:, :, None]
    return vol


# ---------------------------------------------------------------------------
# Known answers
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("construction", ["T", "V"])
def test_square_with_hole(construction):
    img = _annulus()
    assert brute_betti(img >= 0.5, construction) == (1, 1)
    curves = betti_curves(img[None], [0.5], construction=construction)
    assert curves[0, :, 0].tolist() == [1, 1]


def test_corner_touching_pixels_t_vs_v():
    img = np.zeros((4, 4))
    img[1, 1] = img[2, 2] = 1.0
    assert brute_betti(img >= 0.5, "T")[0] == 1
    assert brute_betti(img >= 0.5, "V")[0] == 2
    t = betti_curves(img[None], [0.5], homology_dimensions=(0,), construction="T")
    v = betti_curves(img[None], [0.5], homology_dimensions=(0,), construction="V")
    assert t[0, 0, 0] == 1
    assert v[0, 0, 0] == 2


@pytest.mark.parametrize("construction", ["T", "V"])
def test_hollow_cube_shell(construction):
    vol = _shell()
    assert brute_betti(vol >= 0.5, construction) == (1, 0, 1)
    curves = betti_curves(vol[None], [0.5], homology_dimensions=(0, 1, 2), construction=construction)
    assert curves[0, :, 0].tolist() == [1, 0, 1]


@pytest.mark.parametrize("construction", ["T", "V"])
def test_extruded_square_annulus(construction):
    vol = _extruded_annulus()
    assert brute_betti(vol >= 0.5, construction) == (1, 1, 0)
    curves = betti_curves(vol[None], [0.5], homology_dimensions=(0, 1, 2), construction=construction)
    assert curves[0, :, 0].tolist() == [1, 1, 0]


def test_brute_force_can_tell_apart():
    # guard on the oracle itself: two disjoint squares and a filled square differ
    img = np.zeros((6, 9))
    img[1:4, 1:4] = 1
    img[1:4, 5:8] = 1
    assert brute_betti(img > 0, "T") == (2, 0)
    assert brute_betti(np.ones((3, 3)) > 0, "V") == (1, 0)
    # a filled 3x3 block: 16 - 24 + 9 = 1 in V, 16 - 24 + 9 = 1 in T of a 3x3 block
    assert _euler_characteristic(np.ones((3, 3), bool), "V") == 1
    assert _euler_characteristic(np.ones((1, 1), bool), "T") == 1
    assert _euler_characteristic(_annulus() > 0, "T") == 0


# ---------------------------------------------------------------------------
# One pass == per-threshold recomputation
# ---------------------------------------------------------------------------
def _fields(rng, shape, n, integer):
    if integer:
        # few distinct values: many ties and thresholds equal to data values
        return rng.integers(0, 5, size=(n,) + shape).astype(float)
    X = rng.normal(size=(n,) + shape)
    return ndimage.gaussian_filter(X, sigma=(0,) + (1.0,) * len(shape))


@pytest.mark.parametrize("construction", ["T", "V"])
@pytest.mark.parametrize(
    "shape, integer", [((12, 11), False), ((12, 11), True), ((6, 5, 7), False), ((5, 6, 4), True), ((30,), False)]
)
def test_one_pass_matches_per_threshold(rng, construction, shape, integer):
    X = _fields(rng, shape, 4, integer)
    # quantiles, exact data values (ties at the boundary) and levels out of range
    thresholds = np.concatenate(
        [np.quantile(X, np.linspace(0, 1, 7)), rng.choice(X.ravel(), 3), [X.min() - 1, X.max() + 1]]
    )
    dims = tuple(range(len(shape) + 1))
    got = betti_curves(X, thresholds, homology_dimensions=dims, construction=construction, n_jobs=2)
    want = brute_curves(X, thresholds, dims, construction)
    np.testing.assert_array_equal(got, want)


def test_grid_shape_flat_input_equals_image_input(rng):
    X = _fields(rng, (9, 8), 5, False)
    a = CubicalBettiProfile(thresholds=6, grid_shape=(9, 8)).fit_transform(X.reshape(5, -1))
    b = CubicalBettiProfile(thresholds=6).fit_transform(X)
    np.testing.assert_array_equal(a, b)


def test_two_d_input_is_rows_as_signals(rng):
    X = rng.normal(size=(6, 25))
    est = CubicalBettiProfile(thresholds=[-0.5, 0.0, 0.5]).fit(X)
    out = est.transform(X).reshape(6, 2, 3)
    for i, x in enumerate(X):
        for k, eta in enumerate(est.thresholds_):
            assert out[i, 0, k] == ndimage.label(x >= eta)[1]
    assert (out[:, 1] == 0).all()  # a 1-D set has no loops


# ---------------------------------------------------------------------------
# The transformer
# ---------------------------------------------------------------------------
def test_thresholds_learned_in_fit_and_feature_names(rng):
    train = rng.normal(size=(8, 6, 6))
    est = CubicalBettiProfile(thresholds=10).fit(train)
    np.testing.assert_allclose(est.thresholds_, np.quantile(train, np.linspace(0, 1, 10)))
    names = est.get_feature_names_out()
    assert len(names) == 20 and names[0] == "betti0_t00" and "betti1_t07" in names
    test = rng.normal(size=(3, 6, 6)) + 100.0  # every value above every learned threshold
    out = est.transform(test)
    assert out.shape == (3, 20) and out.dtype == np.float64
    assert (out[:, :10] == 1).all() and (out[:, 10:] == 0).all()


def test_explicit_thresholds_and_pandas_output():
    img = _annulus()
    est = CubicalBettiProfile(thresholds=[2.0, 0.5, -1.0]).set_output(transform="pandas")
    df = est.fit_transform(np.stack([img, 1 - img]))
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["betti0_t00", "betti0_t01", "betti0_t02", "betti1_t00", "betti1_t01", "betti1_t02"]
    # threshold order is kept: nothing above 2, the annulus at 0.5, the whole grid at -1
    assert df.iloc[0].tolist() == [0, 1, 1, 0, 1, 0]
    # 1 - annulus at 0.5: the outer frame and the inner 3x3 block (the frame encircles it)
    assert df.iloc[1].tolist() == [0, 2, 1, 0, 1, 0]


def test_normalize_makes_scale_free(rng):
    X = _fields(rng, (10, 10), 4, False)
    a = CubicalBettiProfile(thresholds=[0.2, 0.5, 0.8], normalize=True).fit_transform(X)
    b = CubicalBettiProfile(thresholds=[0.2, 0.5, 0.8], normalize=True).fit_transform(7.0 * X + 3.0)
    np.testing.assert_array_equal(a, b)


def test_clone_pipeline_and_transform_grid_check(rng):
    X = rng.normal(size=(6, 16))
    pipe = make_pipeline(StandardScaler(), CubicalBettiProfile(thresholds=4, grid_shape=(4, 4)))
    assert pipe.fit_transform(X).shape == (6, 8)
    est = clone(CubicalBettiProfile(thresholds=3)).fit(rng.normal(size=(4, 5, 5)))
    with pytest.raises(ValueError, match="grid of shape"):
        est.transform(rng.normal(size=(4, 5, 6)))


# ---------------------------------------------------------------------------
# Layer complexity and its decay
# ---------------------------------------------------------------------------
def test_topological_complexity_known_layers():
    ann = np.repeat(_annulus()[None], 3, axis=0)  # beta = (1, 1) at eta = 0.5
    blob = np.zeros((3, 7, 7))
    blob[:, 2:5, 2:5] = 1.0  # beta = (1, 0)
    prof = topological_complexity({"a": ann, "b": blob}, summary="threshold", eta=0.5)
    assert list(prof.index) == ["a", "b"]
    np.testing.assert_allclose(prof["omega"], [2.0, 1.0])
    np.testing.assert_allclose(prof["betti1"], [1.0, 0.0])
    np.testing.assert_allclose(prof["depth"], [0.0, 1.0])
    rel = topological_complexity([ann, blob], summary="threshold", relative=True)
    np.testing.assert_allclose(rel["omega_relative"], [1.0, 0.5])


def test_per_channel_versus_volume():
    # channel 0 an annulus, channel 1 constant (empty after per-sample min-max)
    layer = np.zeros((2, 2, 7, 7))
    layer[:, 0] = _annulus()
    per_channel = topological_complexity([layer], summary="threshold", per_channel=True)
    volume = topological_complexity([layer], summary="threshold", per_channel=False, homology_dimensions=(0, 1, 2))
    assert per_channel["omega"].iloc[0] == pytest.approx(1.0)  # mean of 2 and 0
    assert volume["omega"].iloc[0] == pytest.approx(2.0)  # an annulus slab: (1, 1, 0)


def test_area_summary_is_mean_of_curve(rng):
    X = rng.normal(size=(5, 8, 8))
    prof = topological_complexity([X], summary="area", n_thresholds=8, normalize="none")
    edges = np.linspace(X.min(), X.max(), 9)
    mids = 0.5 * (edges[:-1] + edges[1:])
    want = brute_curves(X, mids, (0, 1), "T").sum(axis=1).mean()
    assert prof["omega"].iloc[0] == pytest.approx(want)


@pytest.mark.parametrize("factor", [1e-310, 1e-300, 1e300, 1.7e308])
def test_complexity_normalisations_at_extreme_magnitudes(rng, factor):
    # min-max units are scale-free: the profile of a layer times any factor is the
    # profile of the layer (max - min would overflow near 1e308 without rescaling)
    X = rng.normal(size=(4, 9, 9))
    X = X / np.abs(X).max()  # |X| <= 1, so X * 1.7e308 stays finite
    for normalize in ("sample", "layer"):
        want = topological_complexity([X], normalize=normalize, n_thresholds=9)["omega"].iloc[0]
        got = topological_complexity([X * factor], normalize=normalize, n_thresholds=9)["omega"].iloc[0]
        # subnormal values keep ~13 digits: at most a value on a bin edge can move
        assert got == pytest.approx(want, rel=1e-9 if factor >= 1e-300 else 0.05)
    np.testing.assert_allclose(minmax_per_sample(X * factor), minmax_per_sample(X), atol=1e-12)


def test_relative_complexity_of_an_empty_first_layer_warns():
    empty = np.zeros((2, 5, 5))
    ring = np.repeat(_annulus()[None], 2, axis=0)
    with pytest.warns(UserWarning, match="first layer .* Omega = 0"):
        prof = topological_complexity([empty, ring], summary="threshold", relative=True, normalize="none")
    assert prof["omega_relative"].isna().all()


def test_complexity_decay():
    fit = complexity_decay([4.0, 3.0, 2.0, 1.0])
    assert fit.theta == pytest.approx(-3.0) and fit.intercept == pytest.approx(4.0) and fit.r2 == pytest.approx(1.0)
    x = np.array([0.0, 2.0, 3.0, 10.0])  # uneven depths, rescaled to [0, 1]
    fit = complexity_decay(5.0 * np.exp(-2.0 * x / 10.0), depth=x, log=True)
    assert fit.theta == pytest.approx(-2.0) and math.exp(fit.intercept) == pytest.approx(5.0)
    prof = pd.DataFrame({"depth": [0.0, 1.0], "omega": [1.0, 3.0]})
    assert complexity_decay(prof).theta == pytest.approx(2.0)
    with pytest.raises(ValueError, match="at least 2 layers"):
        complexity_decay([1.0])
    with pytest.raises(ValueError, match="Omega > 0"):
        complexity_decay([1.0, 0.0], log=True)


# ---------------------------------------------------------------------------
# Rips persistence
# ---------------------------------------------------------------------------
def _polygon(m):
    t = 2 * np.pi * np.arange(m) / m
    return np.c_[np.cos(t), np.sin(t)]


@pytest.mark.parametrize("m", [60, 100])
def test_regular_polygon_h1_bar(m):
    (h1,) = rips_diagrams([_polygon(m)], homology_dimensions=(1,))[0]
    assert h1.shape == (1, 2)
    np.testing.assert_allclose(h1[0], [2 * np.sin(np.pi / m), 2 * np.sin(np.pi * math.ceil(m / 3) / m)], rtol=1e-9)
    feats = persistence_summary([_polygon(m)], homology_dimensions=(1,))[0]
    assert feats[0] == pytest.approx(h1[0, 1] - h1[0, 0])
    assert feats[3] == 0.0  # one bar: zero entropy


def _noisy_circle(rng, n=150, noise=0.05):
    t = rng.uniform(0, 2 * np.pi, n)
    return np.c_[np.cos(t), np.sin(t)] + noise * rng.normal(size=(n, 2))


def test_noisy_circle_one_dominant_bar(rng):
    (h1,) = rips_diagrams([_noisy_circle(rng)], homology_dimensions=(1,))[0]
    life = np.sort(h1[:, 1] - h1[:, 0])[::-1]
    assert life.size > 1
    assert life[0] > 1.0 and life[0] > 5 * life[1]


def test_diagram_features_by_hand():
    bars = np.array([[0.0, 1.0], [0.5, 0.75], [1.0, 1.25], [2.0, 2.0]])
    f = diagram_features(bars, p=2, persistence_threshold=0.3)
    life = [1.0, 0.25, 0.25]
    q = [x / 1.5 for x in life]
    assert f[0] == pytest.approx(1.0)
    assert f[1] == pytest.approx(sum(x**2 for x in life))
    assert f[2] == 1
    assert f[3] == pytest.approx(-sum(v * math.log(v) for v in q))
    assert diagram_features(np.empty((0, 2))).tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("scale", ["diameter", "max_h0_death"])
def test_scale_normalisation_invariance(rng, scale):
    cloud = _noisy_circle(rng, n=80)
    kw = dict(homology_dimensions=(0, 1), persistence_threshold=0.05)
    a = persistence_summary([cloud], scale=scale, **kw)
    b = persistence_summary([3.7 * cloud + 1.0], scale=scale, **kw)
    np.testing.assert_allclose(a, b, rtol=1e-9)
    raw_a = persistence_summary([cloud], **kw)
    raw_b = persistence_summary([3.7 * cloud], **kw)
    assert raw_b[0, 4] == pytest.approx(3.7 * raw_a[0, 4])  # without scaling, bars grow with the cloud


def test_max_h0_death_is_longest_mst_edge(rng):
    cloud = rng.normal(size=(30, 3))
    (h0,) = rips_diagrams([cloud], homology_dimensions=(0,))[0]
    # Prim's algorithm by hand
    D = np.linalg.norm(cloud[:, None] - cloud[None], axis=-1)
    inside, best, longest = {0}, D[0].copy(), 0.0
    while len(inside) < len(cloud):
        best[list(inside)] = np.inf
        j = int(np.argmin(best))
        longest = max(longest, best[j])
        inside.add(j)
        best = np.minimum(best, D[j])
    assert h0[:, 1].max() == pytest.approx(longest)
    (h0s,) = rips_diagrams([cloud], homology_dimensions=(0,), scale="max_h0_death")[0]
    assert h0s[:, 1].max() == pytest.approx(1.0)


def test_precomputed_equals_points_and_transformer(rng):
    clouds = [_noisy_circle(rng, n=60), rng.normal(size=(40, 3))]
    D = [np.linalg.norm(c[:, None] - c[None], axis=-1) for c in clouds]
    a = PersistenceSummary().fit_transform(clouds)
    b = PersistenceSummary(metric="precomputed").fit_transform(D)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    est = PersistenceSummary(homology_dimensions=[1]).set_output(transform="pandas")
    df = est.fit_transform(clouds)
    assert list(df.columns) == ["h1_max_persistence", "h1_total_persistence", "h1_n_bars_above", "h1_entropy"]
    assert df.shape == (2, 4)


def test_precomputed_symmetric_to_rounding_equals_points(rng):
    # pairwise_distances is symmetric only to rounding; gudhi reads both triangles of a
    # full matrix, so the matrix must be made exactly symmetric first (on the landmark
    # path too, whose sub-matrix inherits the asymmetry)
    from sklearn.metrics import pairwise_distances

    cloud = _noisy_circle(rng, n=60) @ rng.normal(size=(2, 5))
    D = pairwise_distances(cloud)
    assert np.abs(D - D.T).max() > 0  # the case under test
    exact = np.triu(D) + np.triu(D, 1).T
    for kw in ({}, {"max_points": 30, "random_state": 0}):
        pts = PersistenceSummary(homology_dimensions=[0, 1], **kw).fit_transform([cloud])
        for M in (D, exact, D + 1e-12 * np.triu(np.ones_like(D), 1)):
            pre = PersistenceSummary(homology_dimensions=[0, 1], metric="precomputed", **kw).fit_transform([M])
            np.testing.assert_allclose(pre, pts, rtol=1e-9, atol=1e-9)
        (h1,) = rips_diagrams([D], homology_dimensions=(1,), metric="precomputed", **kw)[0]
        (h1_pts,) = rips_diagrams([cloud], homology_dimensions=(1,), **kw)[0]
        np.testing.assert_allclose(np.sort(h1, axis=0), np.sort(h1_pts, axis=0), atol=1e-9)


@pytest.mark.parametrize("factor", [1e-310, 1e-300, 1e-150, 1e150, 1e300])
def test_rips_at_extreme_magnitudes(rng, factor):
    # distances are formed at unit scale (an exact power of two), so no squared distance
    # under- or overflows: normalised summaries are those of the unit-scale cloud, and
    # bars in data units are the unit-scale bars times the factor
    cloud = _noisy_circle(rng, n=40)
    for kw in ({"scale": "diameter"}, {"scale": "max_h0_death"}, {"scale": "diameter", "max_points": 20, "random_state": 0}):
        want = persistence_summary([cloud], homology_dimensions=(0, 1), **kw)
        got = persistence_summary([cloud * factor], homology_dimensions=(0, 1), **kw)
        np.testing.assert_allclose(got, want, rtol=1e-9)
    for metric, data in (("euclidean", cloud), ("precomputed", np.linalg.norm(cloud[:, None] - cloud[None], axis=-1))):
        h0, h1 = rips_diagrams([data], homology_dimensions=(0, 1), metric=metric)[0]
        h0s, h1s = rips_diagrams([data * factor], homology_dimensions=(0, 1), metric=metric)[0]
        np.testing.assert_allclose(h0s, h0 * factor, rtol=1e-9)
        np.testing.assert_allclose(h1s, h1 * factor, rtol=1e-9)
    # a finite max_edge_length in data units clips at exactly that value
    (h0,) = rips_diagrams([cloud * factor], homology_dimensions=(0,), max_edge_length=0.05 * factor)[0]
    assert (h0[:, 1] <= 0.05 * factor).all() and (h0[:, 1] == 0.05 * factor).any()


def test_total_persistence_overflow_is_a_clear_error(rng):
    cloud = _noisy_circle(rng, n=40) * 5e307  # H0 deaths sum to about 6 x 5e307
    with pytest.raises(ValueError, match="overflows float64.*scale='diameter'"):
        persistence_summary([cloud], homology_dimensions=(0,))
    assert np.isfinite(persistence_summary([cloud], homology_dimensions=(0,), scale="diameter")).all()


def test_max_edge_length_clips_essential_classes():
    # two far-apart triangles: a finite max_edge_length leaves two classes alive
    tri = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.8]])
    cloud = np.vstack([tri, tri + 100.0])
    (h0,) = rips_diagrams([cloud], homology_dimensions=(0,), max_edge_length=2.0)[0]
    assert np.isfinite(h0).all()
    assert (h0[:, 1] == 2.0).sum() == 2


def test_landmarks_and_sparse_keep_the_circle(rng):
    cloud = _noisy_circle(rng, n=600, noise=0.02)
    for kw in (dict(max_points=120, random_state=0), dict(sparse=0.3)):
        (h1,) = rips_diagrams([cloud], homology_dimensions=(1,), **kw)[0]
        life = np.sort(h1[:, 1] - h1[:, 0])[::-1]
        assert life[0] > 1.2 and (life.size == 1 or life[0] > 5 * life[1])
    same = rips_diagrams([cloud[:50]], homology_dimensions=(1,), max_points=50)[0][0]
    full = rips_diagrams([cloud[:50]], homology_dimensions=(1,))[0][0]
    np.testing.assert_allclose(same, full)


def test_n_jobs_same_result(rng):
    clouds = [_noisy_circle(rng, n=50) for _ in range(4)]
    np.testing.assert_allclose(
        persistence_summary(clouds, n_jobs=2), persistence_summary(clouds, n_jobs=1)
    )


def test_two_d_array_is_one_scalar_cloud_per_row(rng):
    X = rng.normal(size=(5, 12))
    out = PersistenceSummary(homology_dimensions=(0, 1)).fit_transform(X)
    assert out.shape == (5, 8)
    for i, row in enumerate(X):
        # H0 of points on a line: bars die at the gaps between sorted neighbours
        gaps = np.diff(np.sort(row))
        assert out[i, 0] == pytest.approx(gaps.max())
        assert out[i, 1] == pytest.approx(gaps.sum())
    assert (out[:, 4:] == 0).all()


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------
def test_bad_cubical_input(rng):
    X = rng.normal(size=(3, 5, 5))
    X[0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        CubicalBettiProfile().fit(X)
    with pytest.raises(ValueError, match="grid_shape"):
        CubicalBettiProfile(grid_shape=(4, 4)).fit(rng.normal(size=(3, 15)))
    with pytest.raises(ValueError, match="1, 2 or 3 axes"):
        CubicalBettiProfile(grid_shape=(2, 2, 2, 2)).fit(rng.normal(size=(3, 16)))
    with pytest.raises(ValueError, match="does not match"):
        CubicalBettiProfile(grid_shape=(5, 4)).fit(rng.normal(size=(3, 5, 5)))
    with pytest.raises(ValueError, match="2-D or 3-D or 4-D"):
        CubicalBettiProfile().fit(rng.normal(size=(2, 3, 3, 3, 3)))
    with pytest.raises(ValueError, match="thresholds"):
        CubicalBettiProfile(thresholds=[0.0, np.inf]).fit(rng.normal(size=(3, 4, 4)))
    with pytest.raises(ValueError, match="homology_dimensions"):
        betti_curves(rng.normal(size=(2, 4, 4)), [0.0], homology_dimensions=(-1,))


def test_bad_cloud_input(rng):
    with pytest.raises(ValueError, match=r"X\[1\] has 2 point"):
        PersistenceSummary().fit([rng.normal(size=(5, 2)), rng.normal(size=(2, 2))])
    bad = rng.normal(size=(6, 2))
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        PersistenceSummary().fit([bad])
    with pytest.raises(ValueError, match="square"):
        PersistenceSummary(metric="precomputed").fit([rng.random(size=(4, 5))])
    with pytest.raises(ValueError, match="distance matrix"):
        PersistenceSummary(metric="precomputed").fit([rng.random(size=(4, 4)) + 1])
    with pytest.raises(ValueError, match="zero"):
        persistence_summary([np.ones((4, 2))], scale="diameter")
    with pytest.raises(TypeError, match="point clouds"):
        PersistenceSummary().fit(5)


def test_persistence_summary_estimator_contract(rng):
    # what scikit-learn's generic checks would test with 2-column data (clouds of
    # 2 points, refused by design), here on real clouds
    from sklearn.exceptions import NotFittedError

    clouds = np.stack([rng.normal(size=(20, 3)) for _ in range(3)])
    clouds.setflags(write=False)  # read-only input is not written to
    est = PersistenceSummary(max_points=10, random_state=0)
    with pytest.raises(NotFittedError):
        est.transform(clouds)
    params = est.get_params()
    assert est.fit(clouds) is est
    assert est.get_params() == params
    first = est.transform(clouds)
    np.testing.assert_allclose(clone(est).fit(clouds).fit(clouds).transform(clouds), first)
    # one row per cloud, subset of clouds = subset of rows
    np.testing.assert_allclose(est.transform(clouds[1:]), first[1:])


def test_landmark_subsampling_is_said_and_reproducible_with_an_int():
    from skalign.persistence import rips_diagrams

    rng = np.random.default_rng(7)
    cloud = rng.normal(size=(60, 3))
    with pytest.warns(UserWarning, match=r"1 point cloud\(s\) of up to 60 points.*random_state=None"):
        rips_diagrams([cloud], homology_dimensions=(1,), max_points=40)
    with pytest.warns(UserWarning, match="landmarks") as record:
        a = rips_diagrams([cloud], homology_dimensions=(0, 1), max_points=40, random_state=3)
    assert "random_state=None" not in str(record[0].message)
    with pytest.warns(UserWarning):
        b = rips_diagrams([cloud], homology_dimensions=(0, 1), max_points=40, random_state=3)
    for da, db in zip(a[0], b[0]):
        np.testing.assert_array_equal(da, db)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rips_diagrams([cloud], homology_dimensions=(1,), max_points=60)  # nothing subsampled, no warning
