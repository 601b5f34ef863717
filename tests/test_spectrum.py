"""Tests of the Topological Alignment Spectrum family (skalign.spectrum and its estimator).

Reference values come from an independent brute force written with Python sets
and explicit sorting, from exact combinatorics (math.comb), and from invariances.
"""

import math
import pickle
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import ortho_group
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils._param_validation import InvalidParameterError

from skalign import TopologicalAlignmentSpectrum
from skalign.datasets import make_alignment_pair
from skalign.metrics import (
    combine_neighborhoods,
    knn_jaccard,
    mutual_knn_alignment,
    prepare_neighborhoods,
    resolve_n_neighbors,
    tas_chance,
    tas_score,
    tas_spectrum,
)


# -- independent brute force ---------------------------------------------------------
def brute_neighbor_sets(D, k):
    """k nearest neighbours of every row of a distance matrix, as Python sets; ties by index."""
    out = []
    for i, row in enumerate(D):
        order = sorted((float(d), j) for j, d in enumerate(row) if j != i)
        out.append({j for _, j in order[:k]})
    return out


def brute_overlaps(X, Y, k, precomputed=False):
    DX = X if precomputed else cdist(X, X)
    DY = Y if precomputed else cdist(Y, Y)
    return [(a, b) for a, b in zip(brute_neighbor_sets(DX, k), brute_neighbor_sets(DY, k))]


def brute_jaccard(X, Y, k, precomputed=False):
    return float(
        np.mean([len(a & b) / len(a | b) for a, b in brute_overlaps(X, Y, k, precomputed)])
    )


def brute_mutual(X, Y, k):
    return float(np.mean([len(a & b) / k for a, b in brute_overlaps(X, Y, k)]))


def brute_tas(X, Y, k, precomputed=False):
    n = X.shape[0]
    E = k / (2 * (n - 1) - k)
    return (brute_jaccard(X, Y, k, precomputed) - E) / (1 - E)


@pytest.fixture
def pair(rng):
    X = rng.normal(size=(40, 5))
    Y = X[:, :3] @ rng.normal(size=(3, 4)) + 0.7 * rng.normal(size=(40, 4))
    return X, Y


# -- the one-pass spectrum equals the definition ----------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # full rank matrices held
        {"rank_cache_bytes": 0, "working_memory": 0.005},  # both streamed, several blocks
    ],
    ids=["ranks", "streamed"],
)
def test_full_spectrum_matches_brute_force(pair, kwargs):
    X, Y = pair
    n = X.shape[0]
    PX = prepare_neighborhoods(X, **kwargs)
    PY = prepare_neighborhoods(Y, **kwargs)
    res = combine_neighborhoods(PX, PY, working_memory=kwargs.get("working_memory"))
    expected = [brute_jaccard(X, Y, k) for k in range(1, n - 1)]
    np.testing.assert_array_equal(res.k, np.arange(1, n - 1))
    np.testing.assert_allclose(res.jaccard, expected, rtol=0, atol=1e-12)


def test_mixed_held_and_streamed_ranks(pair):
    X, Y = pair
    held = prepare_neighborhoods(X)
    streamed = prepare_neighborhoods(Y, rank_cache_bytes=0, working_memory=0.005)
    assert (held.mode, streamed.mode) == ("ranks", "points")
    ref = combine_neighborhoods(prepare_neighborhoods(X), prepare_neighborhoods(Y)).jaccard
    np.testing.assert_allclose(
        combine_neighborhoods(held, streamed, working_memory=0.005).jaccard, ref, atol=1e-12
    )
    np.testing.assert_allclose(
        combine_neighborhoods(streamed, held, working_memory=0.005).jaccard, ref, atol=1e-12
    )


def test_tas_mutual_and_jaccard_match_brute_force(pair):
    X, Y = pair
    ks = [1, 2, 5, 9]  # small k: the neighbour-list path
    res = tas_spectrum(X, Y, ks)
    assert res.mode == "lists"
    np.testing.assert_allclose(res.tas, [brute_tas(X, Y, k) for k in ks], atol=1e-12)
    np.testing.assert_allclose(
        knn_jaccard(X, Y, ks), [brute_jaccard(X, Y, k) for k in ks], atol=1e-12
    )
    np.testing.assert_allclose(
        mutual_knn_alignment(X, Y, ks), [brute_mutual(X, Y, k) for k in ks], atol=1e-12
    )
    assert isinstance(mutual_knn_alignment(X, Y, 5), float)
    assert mutual_knn_alignment(X, Y, 5) == pytest.approx(brute_mutual(X, Y, 5), abs=1e-12)
    # large k takes the full-rank path; both paths agree with the definition
    big = tas_spectrum(X, Y, [30, 38])
    assert big.mode == "ranks"
    np.testing.assert_allclose(big.tas, [brute_tas(X, Y, 30), brute_tas(X, Y, 38)], atol=1e-12)


def test_cosine_metric_matches_brute_force(pair):
    X, Y = pair
    res = tas_spectrum(X, Y, [3, 20], metric="cosine")
    expect = [
        float(
            np.mean(
                [
                    len(a & b) / len(a | b)
                    for a, b in zip(
                        brute_neighbor_sets(cdist(X, X, "cosine"), k),
                        brute_neighbor_sets(cdist(Y, Y, "cosine"), k),
                    )
                ]
            )
        )
        for k in (3, 20)
    ]
    np.testing.assert_allclose(res.jaccard, expect, atol=1e-12)


# -- invariances -------------------------------------------------------------------------
def test_invariant_to_similarity_transforms(pair, rng):
    X, Y = pair
    ref = tas_spectrum(X, Y).tas
    Q = ortho_group.rvs(X.shape[1], random_state=1)
    for Xt in (X @ Q, X + 5.0, 3.7 * X, 0.2 * (X @ Q) - 1.0):
        np.testing.assert_allclose(tas_spectrum(Xt, Y).tas, ref, atol=1e-12)
    Qy = ortho_group.rvs(Y.shape[1], random_state=2)
    np.testing.assert_allclose(tas_spectrum(X, 2.5 * (Y @ Qy) + 1.0).tas, ref, atol=1e-12)


def test_invariant_to_joint_row_permutation(pair, rng):
    X, Y = pair
    perm = rng.permutation(X.shape[0])
    np.testing.assert_allclose(
        tas_spectrum(X[perm], Y[perm]).tas, tas_spectrum(X, Y).tas, atol=1e-12
    )


def test_symmetric(pair):
    X, Y = pair
    np.testing.assert_allclose(tas_spectrum(Y, X).tas, tas_spectrum(X, Y).tas, atol=1e-12)


# -- known answers -----------------------------------------------------------------------
def test_identical_inputs_give_one_everywhere(rng):
    X = rng.normal(size=(30, 4))
    for chance in ("paper", "exact"):
        res = tas_spectrum(X, X.copy(), chance=chance)
        np.testing.assert_array_equal(res.tas, np.ones(28))


def test_independent_data_near_zero(rng):
    X = rng.normal(size=(1000, 8))
    Y = rng.normal(size=(1000, 8))
    res = tas_spectrum(X, Y)
    assert abs(res.tas.mean()) < 0.02
    assert np.abs(res.tas[9:]).max() < 0.05  # no scale aligned beyond noise


def test_jitter_low_locally_one_at_cluster_scale():
    X, Y, labels = make_alignment_pair("jitter", random_state=0)
    size = np.bincount(labels).min()  # 125
    tas = tas_spectrum(X, Y).tas
    assert tas[10 - 1] < 0.3
    assert tas[size - 1 - 1] > 0.95


def test_shuffled_centres_one_below_cluster_size_then_falls():
    X, Y, labels = make_alignment_pair("shuffle_centers", random_state=0)
    size = np.bincount(labels).min()
    n = X.shape[0]
    tas = tas_spectrum(X, Y).tas
    np.testing.assert_array_equal(tas[: size - 1], 1.0)  # k = 1 .. size - 1
    assert tas[n // 2 - 1] < 0.7


def test_constructed_anti_alignment_is_negative(rng):
    # X: two well separated clusters A, B. Y (a valid metric): every pair across the
    # clusters is at 0.5, every pair within at 1, so each point's Y-neighbours are the
    # other cluster, disjoint from its X-neighbours at k = n/2 - 1: J = 0.
    n, half = 40, 20
    labels = np.repeat([0, 1], half)
    X = rng.normal(size=(n, 3)) * 0.1 + 5.0 * labels[:, None]
    DX = cdist(X, X)
    DY = np.where(labels[:, None] == labels[None, :], 1.0, 0.5)
    np.fill_diagonal(DY, 0.0)
    k = half - 1
    res = tas_spectrum(DX, DY, [k], metric="precomputed")
    E = k / (2 * (n - 1) - k)
    assert res.jaccard[0] == 0.0
    assert res.tas[0] == pytest.approx(-E / (1 - E), abs=1e-12)
    assert res.tas[0] < -0.45
    assert res.tas[0] == pytest.approx(brute_tas(DX, DY, k, precomputed=True), abs=1e-12)
    assert tas_spectrum(DX, DY, metric="precomputed").tas[: half - 1].max() < 0


# -- chance levels -------------------------------------------------------------------------
def test_exact_chance_matches_combinatorics():
    n = 31
    m = n - 1
    ks = np.arange(1, n)
    expect = []
    for k in ks:
        total = sum(
            math.comb(k, i) * math.comb(m - k, k - i) * i / (2 * k - i)
            for i in range(max(0, 2 * k - m), k + 1)
        )
        expect.append(total / math.comb(m, k))
    np.testing.assert_allclose(tas_chance(ks, n, "exact"), expect, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tas_chance(ks, n, "paper"), ks / (2 * m - ks), rtol=1e-15)
    assert (tas_chance(ks, n, "exact") >= tas_chance(ks, n, "paper") - 1e-15).all()  # Jensen


def test_exact_and_paper_chance_close_at_500():
    ks = np.arange(1, 499)
    gap = np.abs(tas_chance(ks, 500, "exact") - tas_chance(ks, 500, "paper"))
    assert gap.max() < 2e-3


def test_exact_chance_truncation_at_large_n():
    # the truncated window must hold the whole mass: check against the full support
    from scipy.stats import hypergeom

    n, k = 4001, np.array([2000])
    i = np.arange(0, 2001)
    full = float((hypergeom.pmf(i, n - 1, 2000, 2000) * i / (4000 - i)).sum())
    assert tas_chance(k, n, "exact")[0] == pytest.approx(full, rel=1e-12)


# -- permutation test -------------------------------------------------------------------------
def test_permutation_pvalues_match_brute_force(rng):
    n, B = 20, 9
    X, Y = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    ks = [2, 5]
    res = tas_spectrum(X, Y, ks, n_permutations=B, random_state=7)
    rs = np.random.RandomState(7)
    exceed = np.zeros(2)
    for _ in range(B):
        perm = rs.permutation(n)
        exceed += np.array([brute_jaccard(X, Y[perm], k) for k in ks]) >= res.jaccard - 1e-12
    np.testing.assert_allclose(res.p_value, (1 + exceed) / (1 + B))


def test_permutation_pvalues_same_on_every_path(pair):
    X, Y = pair
    lists = tas_spectrum(X, Y, [3, 8], n_permutations=20, random_state=3)
    ranks = tas_spectrum(X, Y, n_permutations=20, random_state=3)
    assert (lists.mode, ranks.mode) == ("lists", "ranks")
    np.testing.assert_array_equal(lists.p_value, ranks.p_value[[2, 7]])
    PX = prepare_neighborhoods(X, rank_cache_bytes=0, working_memory=0.005)
    PY = prepare_neighborhoods(Y, rank_cache_bytes=0, working_memory=0.005)
    from skalign.spectrum import permutation_pvalues

    obs = combine_neighborhoods(PX, PY).jaccard
    np.testing.assert_array_equal(
        permutation_pvalues(PX, PY, obs, 20, 3, working_memory=0.005), ranks.p_value
    )
    # one held, the other ranked inside the overlap (Y permuted on either side)
    HX, HY = prepare_neighborhoods(X), prepare_neighborhoods(Y)
    for A, B in ((HX, PY), (PX, HY)):
        np.testing.assert_array_equal(
            permutation_pvalues(A, B, obs, 20, 3, working_memory=0.005), ranks.p_value
        )


def test_permutation_pvalues_uniform_under_independence_small_under_alignment(rng):
    pvals = []
    for _ in range(60):
        X, Y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
        pvals.append(
            tas_spectrum(X, Y, [4], n_permutations=39, random_state=rng.integers(1 << 30)).p_value[
                0
            ]
        )
    pvals = np.array(pvals)
    # valid test: P(p <= a) <= a; about uniform: mean near 1/2
    assert np.mean(pvals <= 0.1) < 0.25
    assert 0.35 < pvals.mean() < 0.65
    X = rng.normal(size=(60, 3))
    res = tas_spectrum(
        X, X + 0.05 * rng.normal(size=X.shape), [3, 10], n_permutations=99, random_state=0
    )
    np.testing.assert_array_equal(res.p_value, 0.01)


def test_permutations_reproducible(pair):
    X, Y = pair
    a = tas_spectrum(X, Y, [3], n_permutations=30, random_state=11).p_value
    b = tas_spectrum(X, Y, [3], n_permutations=30, random_state=11).p_value
    np.testing.assert_array_equal(a, b)


# -- neighbourhood sizes and bad input --------------------------------------------------------
def test_resolve_n_neighbors():
    assert resolve_n_neighbors(None, 10).tolist() == list(range(1, 9))
    assert resolve_n_neighbors(0.5, 101).tolist() == [50]
    assert resolve_n_neighbors([0.5, 3, 3, 0.001], 101).tolist() == [1, 3, 50]
    assert resolve_n_neighbors(0.999, 11).tolist() == [9]  # clipped to n - 2
    grid = resolve_n_neighbors(None, 10_000, approximate=True)
    assert grid[0] == 1 and grid[-1] == 100 and (np.diff(grid) > 0).all()


@pytest.mark.parametrize("k", [0, 9, 10, -1])
def test_k_out_of_range_states_allowed_range(rng, k):
    X = rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match=r"allowed range \[1, 8\] for n_samples=10"):
        tas_spectrum(X, X, k)


@pytest.mark.parametrize("bad", [1.0, 1.5, 0.0, -0.2])
def test_bad_fraction(rng, bad):
    X = rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match=r"fraction.*\(0, 1\)"):
        tas_spectrum(X, X, bad)


def test_bad_types(rng):
    X = rng.normal(size=(10, 2))
    with pytest.raises(TypeError, match="n_neighbors"):
        tas_spectrum(X, X, "5")
    with pytest.raises(TypeError, match="n_neighbors"):
        tas_spectrum(X, X, [True])
    with pytest.raises(ValueError, match="chance"):
        tas_spectrum(X, X, chance="approximate")
    with pytest.raises(ValueError, match="metric"):
        tas_spectrum(X, X, metric="manhattan")
    with pytest.raises(ValueError, match="n_neighbors must be given"):
        mutual_knn_alignment(X, X, None)


def test_too_few_samples(rng):
    X = rng.normal(size=(3, 2))
    with pytest.raises(ValueError, match="at least 4"):
        tas_spectrum(X, X)
    with pytest.raises(ValueError, match="at least 4"):
        TopologicalAlignmentSpectrum().fit(X, X)


def test_mismatched_rows(rng):
    with pytest.raises(ValueError, match="same samples"):
        tas_spectrum(rng.normal(size=(10, 2)), rng.normal(size=(11, 2)))


def test_nan_rejected(rng):
    X = rng.normal(size=(10, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tas_spectrum(X, rng.normal(size=(10, 2)))


def test_duplicates_warn(rng):
    X = rng.normal(size=(10, 2))
    X[5] = X[2]
    with pytest.warns(UserWarning, match="duplicated row.*sample index"):
        tas_spectrum(X, rng.normal(size=(10, 2)), 3)


def test_prepared_must_match(rng):
    X = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="same samples"):
        combine_neighborhoods(prepare_neighborhoods(X), prepare_neighborhoods(X[:15]))
    with pytest.raises(ValueError, match="different neighbourhood sizes"):
        combine_neighborhoods(prepare_neighborhoods(X, [2]), prepare_neighborhoods(X, [3]))
    with pytest.raises(TypeError, match="prepare_neighborhoods"):
        combine_neighborhoods(X, X)


# -- estimator ------------------------------------------------------------------------------
def test_estimator_fit_attributes_and_score(pair):
    X, Y = pair
    est = TopologicalAlignmentSpectrum().fit(X, Y)
    ref = tas_spectrum(X, Y)
    np.testing.assert_array_equal(est.ks_, ref.k)
    np.testing.assert_allclose(est.spectrum_, ref.tas)
    np.testing.assert_allclose(est.jaccard_, ref.jaccard)
    np.testing.assert_allclose(est.chance_, ref.chance)
    assert not hasattr(est, "pvalues_")
    assert est.score(X, Y) == pytest.approx(ref.tas.mean(), abs=1e-12)
    assert est.score(X, Y) == pytest.approx(est.combine(est.prepare(X), est.prepare(Y)), abs=1e-15)
    assert est.set_params(summary="max").score(X, Y) == pytest.approx(ref.tas.max())
    single = TopologicalAlignmentSpectrum(n_neighbors=7).fit(X, Y)
    assert single.score(X, Y) == pytest.approx(brute_tas(X, Y, 7), abs=1e-12)
    exact = TopologicalAlignmentSpectrum(n_neighbors=7, chance="exact").fit(X, Y)
    E = tas_chance([7], 40, "exact")[0]
    assert exact.score(X, Y) == pytest.approx((brute_jaccard(X, Y, 7) - E) / (1 - E), abs=1e-12)


def test_prepare_pickles_and_combines(pair):
    X, Y = pair
    for nn in (None, [3, 6]):
        est = TopologicalAlignmentSpectrum(n_neighbors=nn)
        PX = pickle.loads(pickle.dumps(est.prepare(X)))
        PY = pickle.loads(pickle.dumps(est.prepare(Y, "Y")))
        assert est.combine(PX, PY) == pytest.approx(tas_score(X, Y, nn), abs=1e-15)


def test_spectrum_dataframe_and_pvalues(pair):
    X, Y = pair
    est = TopologicalAlignmentSpectrum(n_neighbors=[2, 0.5], n_permutations=19, random_state=0)
    df = est.spectrum(pd.DataFrame(X), Y)
    assert list(df.columns) == ["k", "tas", "jaccard", "chance", "p_value"]
    assert df["k"].tolist() == [2, 20]
    assert ((df["p_value"] >= 1 / 20) & (df["p_value"] <= 1)).all()
    est.fit(X, Y)
    np.testing.assert_array_equal(est.pvalues_, df["p_value"].to_numpy())
    assert TopologicalAlignmentSpectrum(n_neighbors=2).spectrum(X, Y)["p_value"].isna().all()


def test_estimator_param_validation(pair):
    X, Y = pair
    for params in (
        {"chance": "bad"},
        {"summary": "median"},
        {"n_permutations": -1},
        {"n_neighbors": 0},
        {"metric": "l1"},
    ):
        with pytest.raises(InvalidParameterError):
            TopologicalAlignmentSpectrum(**params).fit(X, Y)


def test_cross_validation_with_fractional_k():
    X, Y, _ = make_alignment_pair("jitter", n_samples=203, random_state=1)
    est = TopologicalAlignmentSpectrum(n_neighbors=0.1)
    cv = KFold(5, shuffle=True, random_state=0)
    scores = cross_val_score(est, X, Y, cv=cv)
    # every fold's score is TAS at k = round(0.1 (n_test - 1)) on that fold's rows
    for s, (_, test) in zip(scores, cv.split(X)):
        k = round(0.1 * (test.size - 1))
        assert s == pytest.approx(brute_tas(X[test], Y[test], k), abs=1e-12)
    assert len({t.size for _, t in cv.split(X)}) == 2  # folds of different sizes


def test_grid_search_finds_scale_of_alignment():
    # shuffled centres agree exactly inside clusters (a quarter of the samples)
    X, Y, _ = make_alignment_pair("shuffle_centers", n_samples=240, random_state=0)
    grid = GridSearchCV(TopologicalAlignmentSpectrum(), {"n_neighbors": [0.6, 0.1, 0.4]}, cv=3).fit(
        X, Y
    )
    assert grid.best_params_ == {"n_neighbors": 0.1}
    assert grid.best_score_ == pytest.approx(1.0)
    assert clone(grid.best_estimator_).get_params()["n_neighbors"] == 0.1


# -- plotting --------------------------------------------------------------------------------
def test_plot_spectrum(pair):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skalign.plotting import plot_spectrum

    X, Y = pair
    est = TopologicalAlignmentSpectrum().fit(X, Y)
    fig, ax = plt.subplots()
    est.plot(ax=ax, x="fraction")
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), est.ks_ / 40)
    np.testing.assert_allclose(line.get_ydata(), est.spectrum_)
    df = est.spectrum(X, Y)
    ax2 = plot_spectrum(df, x="k", ax=plt.subplots()[1])
    np.testing.assert_allclose(ax2.get_lines()[0].get_xdata(), est.ks_)
    with pytest.raises(ValueError, match="n_samples"):
        plot_spectrum(df, x="fraction")
    plt.close("all")


def test_plot_without_matplotlib(pair, monkeypatch):
    from skalign.plotting import plot_spectrum

    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"'plot' extra"):
        plot_spectrum({"k": np.arange(1, 4), "tas": np.zeros(3)})


# -- approximate search (numba compiles pynndescent on first use) -------------------------------
@pytest.mark.approximate
def test_approximate_spectrum_close_to_exact():
    X, Y, _ = make_alignment_pair("jitter", n_samples=400, random_state=0)
    approx = tas_spectrum(X, Y, algorithm="pynndescent", random_state=0)
    assert approx.mode == "lists" and approx.k[-1] == 100
    exact = tas_spectrum(X, Y, approx.k, algorithm="brute")
    assert np.abs(approx.tas - exact.tas).max() < 0.05


def test_constant_representation_rejected(rng):
    with pytest.raises(ValueError, match="zero variance"):
        tas_spectrum(np.ones((10, 3)), rng.normal(size=(10, 2)))


# -- the exact neighbour order whatever the offset or magnitude -------------------------------
def exact_ranks(X):
    """Ranks (0 = self) from distances of the values given in long double, ties by index.

    The difference of two float32 values, or of two float64 values of one binade, is
    exact in long double, and so are the squares of float32 differences.
    """
    Z = np.asarray(X, dtype=np.longdouble)
    D = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
    n = Z.shape[0]
    R = np.empty((n, n), dtype=np.int64)
    for i in range(n):
        order = sorted(range(n), key=lambda j: (j != i, D[i, j], j))
        R[i, order] = np.arange(n)
    return R


def tas_from_ranks(RX, RY, ks):
    """TAS from two rank matrices by the definition: neighbourhood sets per k."""
    n = RX.shape[0]
    out = []
    for k in ks:
        inx = (RX >= 1) & (RX <= k)
        iny = (RY >= 1) & (RY <= k)
        o = (inx & iny).sum(axis=1)
        J = float(np.mean(o / (2 * k - o)))
        E = k / (2 * (n - 1) - k)
        out.append((J - E) / (1 - E))
    return np.array(out)


@pytest.mark.parametrize(
    "dtype, offset, columns",
    [(np.float32, 1e4, "all"), (np.float32, 1e3, "all"), (np.float32, 1e4, "one"), (np.float64, 1e8, "all")],
)
def test_tas_of_offset_copy_matches_exact_order(rng, dtype, offset, columns):
    # float32 Gram products lose the whole signal at offset 1e4 (TAS 0.013 instead of ~1)
    X = rng.normal(size=(300, 16)).astype(dtype)
    Y = X.copy()
    if columns == "all":
        Y += dtype(offset)
    else:
        Y[:, 3] += dtype(offset)
    RX, RY = exact_ranks(X), exact_ranks(Y)
    ks = np.arange(1, 299)
    expected = tas_from_ranks(RX, RY, ks)
    assert expected.mean() > 0.95  # rounding of Y's values moves only near ties
    est = TopologicalAlignmentSpectrum().fit(X, Y)
    np.testing.assert_allclose(est.spectrum_, expected, rtol=0, atol=1e-12)  # full-rank path
    assert est.score(X, Y) == pytest.approx(expected.mean(), abs=1e-12)
    small = [1, 5, 40]  # neighbour-list path
    np.testing.assert_allclose(tas_spectrum(X, Y, small).tas, expected[np.array(small) - 1], atol=1e-12)
    PX = prepare_neighborhoods(X, rank_cache_bytes=0, working_memory=0.5)  # streamed points
    PY = prepare_neighborhoods(Y, rank_cache_bytes=0, working_memory=0.5)
    J = combine_neighborhoods(PX, PY, working_memory=0.5).jaccard
    E = tas_chance(ks, 300)
    np.testing.assert_allclose((J - E) / (1 - E), expected, atol=1e-12)


@pytest.mark.parametrize("scale", [1e-150, 1e-300, 1e150, 1e154, 1e300])
def test_tas_free_of_scale(rng, scale):
    X = rng.normal(size=(80, 4))
    Y = X @ rng.normal(size=(4, 4)) + 0.3 * rng.normal(size=(80, 4))
    Ys = Y * scale
    expected = tas_from_ranks(exact_ranks(X), exact_ranks(Ys), np.arange(1, 79))
    got = tas_spectrum(X, Ys).tas
    np.testing.assert_allclose(got, expected, atol=1e-12)
    np.testing.assert_allclose(got, tas_spectrum(X, Y).tas, atol=1e-12)
    assert TopologicalAlignmentSpectrum().fit(X * scale, X).score(X * scale, X) == 1.0


# -- threads -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"rank_cache_bytes": 0, "working_memory": 0.005}],
    ids=["ranks", "streamed"],
)
def test_threads_change_no_bit(kwargs):
    # integer data: many exact ties, every one ordered by index in both runs
    rng = np.random.default_rng(5)
    X = rng.integers(0, 3, size=(90, 3)).astype(float)
    Y = X + rng.integers(0, 2, size=X.shape)
    out = {}
    for n_jobs in (1, 2):
        PX = prepare_neighborhoods(X, n_jobs=n_jobs, **kwargs)
        PY = prepare_neighborhoods(Y, n_jobs=n_jobs, **kwargs)
        out[n_jobs] = combine_neighborhoods(PX, PY, working_memory=kwargs.get("working_memory"))
    np.testing.assert_array_equal(out[1].jaccard, out[2].jaccard)
    np.testing.assert_array_equal(out[1].overlap, out[2].overlap)
    expected = [brute_jaccard(X, Y, k) for k in (1, 5, 30, 87)]
    np.testing.assert_allclose(out[2].jaccard[[0, 4, 29, 86]], expected, rtol=0, atol=1e-12)


def test_threaded_tas_score_matches_brute_force(pair):
    X, Y = pair
    for k in (1, 7, 20):
        assert tas_score(X, Y, k, algorithm="brute", n_jobs=2) == pytest.approx(brute_tas(X, Y, k), abs=1e-12)


def test_verbose_shows_rank_block_progress(pair, capsys):
    X, Y = pair
    tas_spectrum(X, Y, algorithm="brute", verbose=1)
    out = capsys.readouterr()
    assert "neighbour ranks" in out.out + out.err


# -- bit for bit: chunking, threads and the one-pass sums ---------------------------------
def _reference_jaccard_sums(X, Y):
    """Every-k mean Jaccard by the plain definition: full distance matrices, ranks by a
    stable sort (ties by index), per-row overlaps counted with Python sets at each k, and
    the per-row values o / (2k - o) summed over rows in row order."""
    from skalign.neighbors import ranks_from_distances

    n = len(X)
    RX, RY = (ranks_from_distances(np.where(np.eye(n, dtype=bool), -np.inf, cdist(Z, Z))) for Z in (X, Y))
    order_x, order_y = np.argsort(RX, axis=1)[:, 1:], np.argsort(RY, axis=1)[:, 1:]
    ks = np.arange(1, n - 1)
    Q = np.empty((n, ks.size))
    O = np.empty((n, ks.size))
    for i in range(n):
        for c, k in enumerate(ks):
            o = float(len(set(order_x[i, :k].tolist()) & set(order_y[i, :k].tolist())))
            O[i, c] = o
            Q[i, c] = o / (2.0 * k - o)
    acc = np.zeros(ks.size)
    for q in Q:  # row order, one row at a time
        acc += q
    return acc / n, O.sum(axis=0) / n


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_k_sums_are_bit_identical_for_any_chunking_and_threads(seed, monkeypatch):
    import skalign.neighbors as neighbors
    import skalign.spectrum as spectrum

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(70, 4))
    Y = np.tanh(X @ rng.normal(size=(4, 3))) + 0.4 * rng.normal(size=(70, 3))
    ref_jac, ref_ovl = _reference_jaccard_sums(X, Y)
    for entries in (1, 7 * 70, 2**40):  # one row per chunk, a few rows, one chunk
        monkeypatch.setattr(neighbors, "_CACHE_ENTRIES", entries)
        monkeypatch.setattr(spectrum, "_OVERLAP_CHUNK_ENTRIES", entries)  # rows per overlap chunk
        for n_jobs in (1, 2, 3):
            # one block of rows, or one row per block; Y ranked inside the overlap
            for wm in (None, 0.005):
                res = tas_spectrum(X, Y, algorithm="brute", n_jobs=n_jobs, working_memory=wm)
                np.testing.assert_array_equal(res.jaccard, ref_jac)
                np.testing.assert_array_equal(res.overlap, ref_ovl)
                # neighbour lists (k <= n / 4), in one block or one row per block
                lists = tas_spectrum(X, Y, [1, 3, 9, 17], algorithm="brute", n_jobs=n_jobs, working_memory=wm)
                assert lists.mode == "lists"
                np.testing.assert_array_equal(lists.jaccard, ref_jac[[0, 2, 8, 16]])
                np.testing.assert_array_equal(lists.overlap, ref_ovl[[0, 2, 8, 16]])
            # both held, both streamed, and each alone streamed
            for cx, cy in ((None, None), (0, 0), (0, None), (None, 0)):
                PX = prepare_neighborhoods(X, n_jobs=n_jobs, rank_cache_bytes=cx)
                PY = prepare_neighborhoods(Y, n_jobs=n_jobs, rank_cache_bytes=cy)
                res = combine_neighborhoods(PX, PY, working_memory=0.005)
                np.testing.assert_array_equal(res.jaccard, ref_jac)
                np.testing.assert_array_equal(res.overlap, ref_ovl)
