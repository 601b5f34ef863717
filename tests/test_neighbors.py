import numpy as np
import pytest
from scipy.spatial.distance import cdist

from skalign.neighbors import (
    AUTO_EXACT_MAX_SAMPLES,
    _kneighbors_blocked,
    iter_rank_blocks,
    kneighbors,
    map_row_ranges,
    prepare_search,
    resolve_algorithm,
    search_rank_blocks,
    search_target_ranks,
)


def _brute(X, k, metric):
    """Neighbours from a full scipy distance matrix; ties by index via a stable sort."""
    D = cdist(X, X, metric)
    np.fill_diagonal(D, np.inf)
    order = np.argsort(D, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(D, order, axis=1), order


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
@pytest.mark.parametrize("working_memory", [0.01, None])
def test_exact_matches_brute_force(rng, metric, working_memory):
    X = rng.normal(size=(257, 6))
    d, i = kneighbors(X, 9, metric=metric, algorithm="brute", working_memory=working_memory)
    d_ref, i_ref = _brute(X, 9, metric)
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(d, d_ref, rtol=1e-9, atol=1e-9)


def test_precomputed_matches_features(rng):
    X = rng.normal(size=(80, 4))
    d1, i1 = kneighbors(cdist(X, X), 5, metric="precomputed")
    d2, i2 = kneighbors(X, 5, algorithm="brute")
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, atol=1e-9)


def test_self_excluded_and_ties_by_index(rng):
    base = rng.normal(size=(10, 3))
    X = np.repeat(base, 3, axis=0)  # each point has two exact duplicates
    _, ind = kneighbors(X, 4, algorithm="brute", working_memory=0.001)
    n = X.shape[0]
    assert not (ind == np.arange(n)[:, None]).any()
    for i in range(n):
        group = {3 * (i // 3) + j for j in range(3)} - {i}
        assert set(ind[i, :2]) == group
        assert ind[i, 0] < ind[i, 1]  # equal distance: lower index first


def test_boundary_ties_take_lower_indices():
    # point 0 has neighbours at distance 1 in four directions; k=2 must take indices 1, 2
    X = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1], [5, 5]], dtype=float)
    _, ind = kneighbors(X, 2, algorithm="brute")
    np.testing.assert_array_equal(ind[0], [1, 2])


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_lattice_ties_broken_by_index(metric):
    # integer lattice: distances are exact in floating point and ties are everywhere
    g = np.arange(6.0)
    X = np.array([(a, b) for a in g for b in g])
    d, i = kneighbors(X, 7, metric=metric, algorithm="brute")
    d_ref, i_ref = _brute(X, 7, metric)
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(d, d_ref, atol=1e-12)


def test_float32_kept_and_close(rng):
    X = rng.normal(size=(100, 8)).astype(np.float32)
    d, i = kneighbors(X, 3, algorithm="brute")
    d_ref, i_ref = _brute(X.astype(np.float64), 3, "euclidean")
    assert (i == i_ref).mean() > 0.99
    np.testing.assert_allclose(d, d_ref, rtol=1e-4)


def test_full_rank_blocks_match_argsort(rng):
    X = rng.normal(size=(150, 5))
    blocks = list(iter_rank_blocks(X, working_memory=0.02))
    assert len(blocks) > 1  # several blocks were really used
    R = np.vstack([r for _, r in blocks])
    D = cdist(X, X)
    ref = np.empty_like(R)
    for i in range(len(X)):
        others = sorted((D[i, j], j) for j in range(len(X)) if j != i)
        ref[i, i] = 0
        for r, (_, j) in enumerate(others, start=1):
            ref[i, j] = r
    np.testing.assert_array_equal(R, ref)


def test_ranks_agree_with_kneighbors(rng):
    X = rng.normal(size=(90, 3))
    _, ind = kneighbors(X, 7, algorithm="brute")
    R = np.vstack([r for _, r in iter_rank_blocks(X)])
    np.testing.assert_array_equal(np.take_along_axis(R, ind, axis=1), np.tile(np.arange(1, 8), (90, 1)))


def test_auto_threshold():
    assert resolve_algorithm("auto", AUTO_EXACT_MAX_SAMPLES) == "brute"
    assert resolve_algorithm("auto", AUTO_EXACT_MAX_SAMPLES + 1) == "pynndescent"
    assert resolve_algorithm("auto", 10**7, "precomputed") == "brute"


def test_bad_arguments(rng):
    X = rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match=r"allowed range \[1, 9\]"):
        kneighbors(X, 10)
    with pytest.raises(ValueError, match="'metric' parameter"):
        kneighbors(X, 2, metric="manhattan")
    with pytest.raises(ValueError, match="'algorithm' parameter"):
        kneighbors(X, 2, algorithm="kd_tree")
    with pytest.raises(ValueError, match="square distance matrix"):
        kneighbors(X, 2, metric="precomputed")
    Z = X.copy()
    Z[3] = 0
    with pytest.raises(ValueError, match="all-zero row"):
        kneighbors(Z, 2, metric="cosine")


def test_missing_cuml_says_how_to_install(rng, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_cuml(name, *args, **kwargs):
        if name.startswith("cuml"):
            raise ImportError("No module named 'cuml'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cuml)
    with pytest.raises(ImportError, match="pip install .*cuml"):
        kneighbors(rng.normal(size=(10, 2)), 2, algorithm="cuml")


@pytest.mark.approximate
def test_pynndescent_recall_and_reproducible():
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n_samples=600, centers=6, n_features=8, random_state=0)
    k = 10
    d1, i1 = kneighbors(X, k, algorithm="pynndescent", random_state=3)
    _, i2 = kneighbors(X, k, algorithm="pynndescent", random_state=3)
    np.testing.assert_array_equal(i1, i2)
    _, ref = kneighbors(X, k, algorithm="brute")
    recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(i1, ref)])
    assert recall >= 0.9
    assert not (i1 == np.arange(len(X))[:, None]).any()
    assert np.all(np.diff(d1, axis=1) >= 0)


# -- exact order whatever the offset or magnitude -----------------------------------
def _exact_ranks(X):
    """Ranks (0 = self) in the order of the exact distances of the values given, ties by index.

    Integer data are differenced in int64 (exact); other data in long double, where
    the difference of two float32 or two same-binade float64 values is exact.
    """
    if np.all(X == np.round(X)) and np.abs(X).max() < 2**30:
        Z = X.astype(np.int64)
        D = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1).astype(object)
    else:
        Z = X.astype(np.longdouble)
        D = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
    n = X.shape[0]
    R = np.empty((n, n), dtype=np.int64)
    for i in range(n):
        order = sorted(range(n), key=lambda j: (j != i, D[i, j], j))
        R[i, order] = np.arange(n)
    return R


def _neighbours_from_ranks(R, k):
    return np.argsort(R, axis=1)[:, 1 : k + 1]


def _integer_data(rng, n, d, dtype, offset):
    X = rng.integers(-4, 5, size=(n, d)).astype(dtype)
    X[:, 1:] += dtype(offset)  # a column at zero, the others far from it
    X[:, 0] -= dtype(offset)  # exact: integers below 2**24 (float32) or 2**53
    return X


@pytest.mark.parametrize(
    "dtype, offset",
    [(np.float32, 0.0), (np.float32, 8e4), (np.float64, 8e8)],  # 1e4 and 1e8 times the spread of 8
)
def test_every_exact_path_orders_integer_data_exactly(rng, dtype, offset):
    # lattice-like data: ties everywhere, all distances exact integers
    X = _integer_data(rng, 70, 4, dtype, offset)
    R = _exact_ranks(X)
    for k in (1, 5, 69):
        _, ind = kneighbors(X, k, algorithm="brute")
        np.testing.assert_array_equal(ind, _neighbours_from_ranks(R, k))
        _, ind = kneighbors(X, k, algorithm="brute", working_memory=0.001)
        np.testing.assert_array_equal(ind, _neighbours_from_ranks(R, k))
    d, _ = kneighbors(X, 69, metric="sqeuclidean", algorithm="brute")
    Z = X.astype(np.int64)
    exact = ((Z[:, None] - Z[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(d, np.sort(exact, axis=1)[:, 1:])  # integers: exact
    np.testing.assert_array_equal(np.vstack([r for _, r in iter_rank_blocks(X, working_memory=0.01)]), R)


@pytest.mark.parametrize("dtype, offset", [(np.float32, 1e3), (np.float32, 1e4), (np.float64, 1e8)])
def test_every_exact_path_orders_offset_data_exactly(rng, dtype, offset):
    # Gaussian data (spread about 6) far from the origin, in all columns or in one
    X = rng.normal(size=(150, 16)).astype(dtype)
    for shifted in (X + dtype(offset), np.hstack([X[:, :1] + dtype(offset), X[:, 1:]])):
        R = _exact_ranks(shifted)
        for k in (3, 40):
            _, ind = kneighbors(shifted, k, algorithm="brute")
            np.testing.assert_array_equal(ind, _neighbours_from_ranks(R, k))
            # the blocked path, which redoes the rows the list path cannot order
            _, ind = _kneighbors_blocked(prepare_search(shifted), k, 0.05)
            np.testing.assert_array_equal(ind, _neighbours_from_ranks(R, k))
        np.testing.assert_array_equal(np.vstack([r for _, r in iter_rank_blocks(shifted)]), R)


@pytest.mark.parametrize("scale", [1e-150, 2.0**-600, 1e150, 1e155, 2.0**1000])
def test_neighbour_order_free_of_scale_float64(rng, scale):
    X = rng.normal(size=(60, 5))
    d_ref, i_ref = kneighbors(X, 4, algorithm="brute")
    R_ref = np.vstack([r for _, r in iter_rank_blocks(X)])
    d, i = kneighbors(X * scale, 4, algorithm="brute")
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(d / scale, d_ref, rtol=1e-12)
    np.testing.assert_array_equal(np.vstack([r for _, r in iter_rank_blocks(X * scale)]), R_ref)
    _, i = kneighbors(X * scale, 4, metric="cosine", algorithm="brute")
    np.testing.assert_array_equal(i, kneighbors(X, 4, metric="cosine", algorithm="brute")[1])


@pytest.mark.parametrize("scale", [1e-30, 1e30, 2.0**-140])  # 2**-140 is subnormal in float32
def test_neighbour_order_free_of_scale_float32(rng, scale):
    Xs = (rng.normal(size=(60, 5)) * scale).astype(np.float32)
    R = _exact_ranks(Xs)  # long double holds these squares
    _, i = kneighbors(Xs, 4, algorithm="brute")
    np.testing.assert_array_equal(i, _neighbours_from_ranks(R, 4))
    np.testing.assert_array_equal(np.vstack([r for _, r in iter_rank_blocks(Xs)]), R)


def test_duplicates_and_lattice_ranks_ties_by_index():
    g = np.arange(5.0)
    X = np.array([(a, b) for a in g for b in g] * 2)  # a lattice, every point twice
    R = _exact_ranks(X)
    np.testing.assert_array_equal(np.vstack([r for _, r in iter_rank_blocks(X)]), R)
    _, ind = kneighbors(X, 9, algorithm="brute")
    np.testing.assert_array_equal(ind, _neighbours_from_ranks(R, 9))


def test_float64_near_ties_ordered_in_exact_arithmetic(rng):
    # a lattice plus a common non-dyadic offset: the offset rounds differently in each
    # binade, so lattice ties become near ties at the last bits of float64, whose
    # order only exact arithmetic settles (float64 differences misorder 115 ranks)
    from fractions import Fraction

    X = (rng.integers(-3, 4, size=(31, 6)) + 0.1) * 2.0**-134
    F = [[Fraction(float(v)) for v in row] for row in X]
    n = len(F)
    R = np.empty((n, n), dtype=np.int64)
    for i in range(n):
        D = [sum((a - b) ** 2 for a, b in zip(F[i], F[j])) for j in range(n)]
        order = sorted(range(n), key=lambda j: (j != i, D[j], j))
        R[i, order] = np.arange(n)
    np.testing.assert_array_equal(np.vstack([r for _, r in iter_rank_blocks(X)]), R)
    for k in (5, 30):
        np.testing.assert_array_equal(kneighbors(X, k)[1], _neighbours_from_ranks(R, k))


# -- threads over row blocks ---------------------------------------------------------
def _brute_ranks(X):
    """Ranks by a stable sort of distances from coordinate differences, self first."""
    diff = X[:, None, :] - X[None, :, :]
    D = np.einsum("ijk,ijk->ij", diff, diff)
    np.fill_diagonal(D, -np.inf)
    order = np.argsort(D, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(X.shape[0])[None, :].repeat(X.shape[0], 0), axis=1)
    return ranks


@pytest.mark.parametrize("kind", ["lattice", "half-lattice", "random"])
@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_threaded_rank_blocks_match_stable_brute_force(rng, kind, n_jobs):
    # lattices are full of exact ties (every one must come out in index order);
    # the half-lattice is off the integer grid, so ties go through the repair
    if kind == "lattice":
        X = rng.integers(-2, 3, size=(150, 3)).astype(float)
    elif kind == "half-lattice":
        X = rng.integers(-3, 4, size=(150, 3)) * 0.1 + 0.05
    else:
        X = rng.normal(size=(150, 4))
    expected = _brute_ranks(X) if kind != "half-lattice" else None
    got = np.concatenate(
        [r for _, r in iter_rank_blocks(X, working_memory=0.02, n_copies=1)], axis=0
    )
    P = prepare_search(X)
    threaded = np.concatenate(
        [r for _, r in search_rank_blocks(P, working_memory=0.02, n_copies=1, n_jobs=n_jobs)]
    )
    np.testing.assert_array_equal(threaded, got)
    if expected is not None:
        np.testing.assert_array_equal(got, expected)
    else:
        # exact order of the values given: from exact rational squared distances
        from fractions import Fraction

        F = [[Fraction(float(v)) for v in row] for row in X]
        for i in (0, 17, 149):
            key = sorted(
                (-1 if j == i else sum((a - b) ** 2 for a, b in zip(F[i], F[j])), j)
                for j in range(X.shape[0])
            )
            np.testing.assert_array_equal(np.argsort(got[i]), [j for _, j in key])


def test_map_row_ranges_covers_every_row_once():
    seen = np.zeros(101, dtype=int)

    def mark(lo, hi):
        seen[lo:hi] += 1

    for n_jobs in (None, 1, 2, 4, -1):
        seen[:] = 0
        map_row_ranges(mark, 101, n_jobs)
        np.testing.assert_array_equal(seen, 1)


def test_map_row_ranges_raises_a_workers_error():
    def fail(lo, hi):
        if lo > 0:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        map_row_ranges(fail, 10, 2)


def test_rank_blocks_progress_bar(capsys, rng):
    X = rng.normal(size=(60, 3))
    list(search_rank_blocks(prepare_search(X), working_memory=0.01, verbose=1))
    out = capsys.readouterr()
    assert "neighbour ranks" in out.out + out.err
    list(search_rank_blocks(prepare_search(X), working_memory=0.01, verbose=0))
    out = capsys.readouterr()
    assert out.out + out.err == ""


@pytest.mark.parametrize("kind", ["lattice", "half-lattice", "random", "cosine"])
def test_target_ranks_equal_the_full_exact_ranks(rng, kind):
    # counting ranks only the targets; it must agree with the full exact order,
    # also where Gram distances of equal exact distances differ (half-lattice)
    metric = "cosine" if kind == "cosine" else "euclidean"
    if kind == "lattice":
        X = rng.integers(-2, 3, size=(120, 3)).astype(float)
    elif kind in ("half-lattice", "cosine"):
        X = rng.integers(-3, 4, size=(120, 3)) * 0.1 + 0.05
    else:
        X = rng.normal(size=(120, 4))
    P = prepare_search(X, metric)
    full = np.concatenate([r for _, r in search_rank_blocks(P, working_memory=0.02)])
    targets = np.stack([rng.permutation(np.arange(1, 120))[:4] for _ in range(120)])
    targets = (targets + np.arange(120)[:, None]) % 120  # never the row itself
    got = search_target_ranks(P, targets, working_memory=0.02)
    np.testing.assert_array_equal(got, np.take_along_axis(full, targets, axis=1))


def test_information_imbalance_uses_the_exact_order(rng):
    from skalign.imbalance import information_imbalance_prepared, prepare_information_imbalance

    A = rng.normal(size=(80, 3))
    B = rng.integers(-3, 4, size=(80, 3)) * 0.1 + 0.05
    PA, PB = prepare_information_imbalance(A, 2), prepare_information_imbalance(B, 2)
    full = np.concatenate([r for _, r in iter_rank_blocks(B)])
    expected = 2.0 * np.take_along_axis(full, PA.neighbors, axis=1).mean() / 80
    assert information_imbalance_prepared(PA, PB) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "ip"])
def test_rank_blocks_do_not_depend_on_row_chunks(metric, monkeypatch):
    """Rows are ranked in cache-sized chunks; ties off the exact grid and duplicated rows
    are settled by the exact order, so one row per chunk and one chunk give equal ranks."""
    import skalign.neighbors as neighbors

    rng = np.random.default_rng(11)
    X = rng.integers(-3, 4, size=(120, 3)) * 0.1 + 0.05
    X[7] = X[3]
    P = prepare_search(X, metric)
    out = {}
    for entries in (1, 13 * 120, 2**40):
        monkeypatch.setattr(neighbors, "_CACHE_ENTRIES", entries)
        for n_jobs in (1, 2):
            out[entries, n_jobs] = np.concatenate(
                [r for _, r in search_rank_blocks(P, working_memory=0.05, n_copies=1, n_jobs=n_jobs)]
            )
    ref = out[2**40, 1]
    assert (np.diag(ref) == 0).all()
    for got in out.values():
        np.testing.assert_array_equal(got, ref)
    # and they are the exact order of kneighbors, which takes another path (no full ranks)
    ind = kneighbors(P, 9, metric=metric, return_distance=False)
    np.testing.assert_array_equal(np.argsort(ref, axis=1)[:, 1:10], ind)
