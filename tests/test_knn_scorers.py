"""CKNNA against a dense rewrite of Huh et al.'s formula; the k-NN overlap scorers against
their functions and a brute force with scikit-learn's NearestNeighbors."""

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from skalign import CKNNAScorer, KNNJaccardScorer, MutualKNNScorer
from skalign.metrics import cknna, combine_cknna, knn_jaccard, mutual_knn_alignment, prepare_cknna


def _pair(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    Y = np.tanh(X[:, :5]) + 0.5 * rng.normal(size=(n, 5))
    return X, Y


def dense_cknna(A, B, k, normalize=True):
    """Huh et al.'s definition on dense n x n matrices: top-k of the cosine kernel (the raw
    inner-product kernel with ``normalize=False``; self excluded), the intersection mask,
    unbiased HSIC of the masked kernels, no epsilon."""
    if normalize:
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
        B = B / np.linalg.norm(B, axis=1, keepdims=True)
    K, L = A @ A.T, B @ B.T
    n = len(A)

    def hsic_u(P, Q):
        P, Q = P.copy(), Q.copy()
        np.fill_diagonal(P, 0.0)
        np.fill_diagonal(Q, 0.0)
        return (np.sum(P * Q.T) + P.sum() * Q.sum() / ((n - 1) * (n - 2))
                - 2 * np.sum(P @ Q) / (n - 2)) / (n * (n - 3))

    def topk_mask(S):
        S = S.copy()
        np.fill_diagonal(S, -np.inf)
        idx = np.argsort(-S, axis=1, kind="stable")[:, :k]
        m = np.zeros((n, n))
        np.put_along_axis(m, idx, 1.0, axis=1)
        return m

    def sim(P, Q):
        m = topk_mask(P) * topk_mask(Q)
        return hsic_u(m * P, m * Q)

    return sim(K, L) / np.sqrt(sim(K, K) * sim(L, L))


@pytest.mark.parametrize("n, k", [(60, 5), (150, 10), (30, 29), (12, 2)])
def test_cknna_equals_dense_formula(n, k):
    X, Y = _pair(n)
    assert cknna(X, Y, n_neighbors=k) == pytest.approx(dense_cknna(X, Y, k), abs=1e-12)
    # not symmetric, as in the authors' code, and the dense formula agrees both ways
    assert cknna(Y, X, n_neighbors=k) == pytest.approx(dense_cknna(Y, X, k), abs=1e-12)


def test_cknna_identity_invariances_chance():
    X, _ = _pair()
    Q = np.linalg.qr(np.random.default_rng(1).normal(size=(8, 8)))[0]
    assert cknna(X, 5 * X @ Q) == pytest.approx(1.0, abs=1e-12)
    P = prepare_cknna(X)
    assert combine_cknna(P, P) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(0)
    assert abs(cknna(rng.normal(size=(500, 10)), rng.normal(size=(500, 10)))) < 0.05


def test_cknna_bad_input():
    X, Y = _pair()
    with pytest.raises(ValueError, match="n_neighbors"):
        cknna(X, Y, n_neighbors=0)
    with pytest.raises(ValueError, match="n_neighbors=80 is outside"):
        cknna(X, Y, n_neighbors=80)
    with pytest.raises(ValueError, match="same samples"):
        cknna(X, Y[:-1])
    with pytest.raises(ValueError, match="zero variance"):
        cknna(X, np.ones_like(Y))
    Z = Y.copy()
    Z[0] = 0.0
    with pytest.raises(ValueError, match="all-zero row"):
        cknna(X, Z)
    with pytest.raises(ValueError, match="at least 4"):
        cknna(X[:3], Y[:3], n_neighbors=1)
    with pytest.raises(ValueError, match="different settings"):
        combine_cknna(prepare_cknna(X, 5), prepare_cknna(Y, 6))
    with pytest.raises(ValueError, match="prepared with"):
        CKNNAScorer().combine(prepare_cknna(X, 5), prepare_cknna(Y, 5))


def test_cknna_estimator():
    X, Y = _pair()
    est = CKNNAScorer(n_neighbors=7).fit(X, Y)
    assert est.score(X, Y) == pytest.approx(cknna(X, Y, n_neighbors=7), abs=1e-14)
    assert est.symmetric is False


def _brute_overlaps(X, Y, k, metric="euclidean"):
    ix = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(X).kneighbors(X, return_distance=False)[:, 1:]
    iy = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(Y).kneighbors(Y, return_distance=False)[:, 1:]
    return np.array([len(set(a) & set(b)) for a, b in zip(ix, iy)])


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_overlap_scorers_equal_brute_force(metric):
    X, Y = _pair()
    o = _brute_overlaps(X, Y, 7, metric)
    mk = MutualKNNScorer(n_neighbors=7, metric=metric).fit(X, Y)
    jk = KNNJaccardScorer(n_neighbors=7, metric=metric).fit(X, Y)
    assert mk.score(X, Y) == pytest.approx(np.mean(o / 7), abs=1e-12)
    assert jk.score(X, Y) == pytest.approx(np.mean(o / (14 - o)), abs=1e-12)
    assert mk.score(X, Y) == pytest.approx(mutual_knn_alignment(X, Y, 7, metric=metric), abs=1e-14)
    assert jk.score(X, Y) == pytest.approx(knn_jaccard(X, Y, 7, metric=metric), abs=1e-14)


def test_overlap_scorers_fractional_k_and_prepare():
    X, Y = _pair()
    for cls, fn in ((MutualKNNScorer, mutual_knn_alignment), (KNNJaccardScorer, knn_jaccard)):
        est = cls(n_neighbors=0.1)
        assert est.fit(X, Y).score(X, Y) == pytest.approx(fn(X, Y, 0.1), abs=1e-14)
        assert est.combine(est.prepare(X), est.prepare(Y)) == pytest.approx(fn(X, Y, 0.1), abs=1e-14)
        assert est.fit(X, X).score(X, X) == 1.0
    with pytest.raises(ValueError, match="n_neighbors"):
        MutualKNNScorer(n_neighbors=1.5).fit(X, Y)
    assert "translation" not in MutualKNNScorer(metric="cosine").invariances


def test_overlap_scorers_chance_levels():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(500, 10)), rng.normal(size=(500, 10))
    k, n = 10, 500
    assert MutualKNNScorer(n_neighbors=k).fit(X, Y).score(X, Y) == pytest.approx(k / (n - 1), abs=0.01)
    assert KNNJaccardScorer(n_neighbors=k).fit(X, Y).score(X, Y) == pytest.approx(k / (2 * (n - 1) - k), abs=0.01)


def test_float32_offsets_dead_units_and_wide():
    X, Y = _pair()
    X32 = (np.column_stack([X, np.zeros(len(X))])).astype(np.float32)
    # a dead unit changes no cosine and no neighbour; float32 rounding may move near-ties only
    assert cknna(X32, Y) == pytest.approx(cknna(X, Y), abs=1e-3)
    assert MutualKNNScorer().fit(X32 + 1e3, Y).score(X32 + 1e3, Y) == pytest.approx(
        mutual_knn_alignment(X, Y, 10), abs=0.02)
    rng = np.random.default_rng(0)
    W = rng.normal(size=(20, 3000))
    assert np.isfinite(cknna(W, W[:, :10], n_neighbors=3))
