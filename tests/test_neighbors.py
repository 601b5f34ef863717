import numpy as np
import pytest
from scipy.spatial.distance import cdist

from skalign.neighbors import (
    AUTO_EXACT_MAX_SAMPLES,
    iter_rank_blocks,
    kneighbors,
    resolve_algorithm,
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
    with pytest.raises(ValueError, match="metric must be one of"):
        kneighbors(X, 2, metric="manhattan")
    with pytest.raises(ValueError, match="algorithm must be one of"):
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
