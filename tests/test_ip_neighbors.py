"""Inner-product neighbours (metric='ip') end to end.

Oracles: Huh et al.'s mutual k-NN definition written here with plain numpy (full Gram
matrix, self masked, stable argsort of the negated products), scikit-learn's cosine
neighbours on unit-norm rows (where the inner-product order is the cosine order), and
a Python brute force over exact integer or rational products for data full of ties.
"""

from fractions import Fraction

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors
from test_knn_scorers import dense_cknna

from skalign import (
    CKNNAScorer,
    InformationImbalance,
    KNNJaccardScorer,
    MutualKNNScorer,
    TopologicalAlignmentSpectrum,
)
from skalign.metrics import (
    cknna,
    information_imbalance,
    knn_jaccard,
    mutual_knn_alignment,
    tas_score,
    tas_spectrum,
)
from skalign.neighbors import (
    DISTANCE_METRICS,
    METRICS,
    iter_rank_blocks,
    kneighbors,
    prepare_search,
    resolve_algorithm,
    search_target_ranks,
)


def _pair(n=70, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)) + np.array([2.0, -1.0, 0, 0, 0.5, 0])
    Y = np.tanh(X[:, :4]) * rng.uniform(0.5, 2.0, size=(n, 1)) + 0.3 * rng.normal(size=(n, 4))
    return X, Y


def _platonic_knn(F, k):
    """Huh et al.'s neighbours: the k largest inner products of each row, self masked."""
    G = F @ F.T
    np.fill_diagonal(G, -np.inf)
    return np.argsort(-G, axis=1, kind="stable")[:, :k]


def _platonic_mutual_knn(A, B, k):
    n = len(A)
    ma, mb = np.zeros((n, n)), np.zeros((n, n))
    np.put_along_axis(ma, _platonic_knn(A, k), 1.0, axis=1)
    np.put_along_axis(mb, _platonic_knn(B, k), 1.0, axis=1)
    return float(np.mean((ma * mb).sum(axis=1) / k))


def _set_overlaps(NA, NB):
    return np.array([len(set(a) & set(b)) for a, b in zip(NA.tolist(), NB.tolist())], dtype=float)


def _exact_ip_ranks(F):
    """ranks[i, j] by exact rational products (larger nearer), then index; self 0.

    Floats and integers alike become Fractions, so every product and sum is exact.
    """
    n = len(F)
    rows = [[Fraction(v.item()) for v in r] for r in np.asarray(F)]
    ranks = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        keyed = sorted((-sum(a * b for a, b in zip(rows[i], rows[j])), j) for j in range(n) if j != i)
        for r, (_, j) in enumerate(keyed, start=1):
            ranks[i, j] = r
    return ranks


def test_metric_tuples():
    assert "ip" in METRICS and "ip" not in DISTANCE_METRICS
    assert set(DISTANCE_METRICS) | {"ip"} == set(METRICS)


@pytest.mark.parametrize("k", [1, 5, 17])
@pytest.mark.parametrize("seed", [0, 1])
def test_mutual_knn_equals_platonic_definition(k, seed):
    X, Y = _pair(seed=seed)
    ref = _platonic_mutual_knn(X, Y, k)
    assert mutual_knn_alignment(X, Y, k, metric="ip") == pytest.approx(ref, abs=1e-12)
    est = MutualKNNScorer(n_neighbors=k, metric="ip").fit(X, Y)
    assert est.score(X, Y) == pytest.approx(ref, abs=1e-12)
    # raw products are not the cosine order here: the test can tell them apart
    if k == 5:
        assert mutual_knn_alignment(X, Y, k, metric="cosine") != pytest.approx(ref, abs=1e-6)


def test_knn_jaccard_and_tas_against_set_overlaps():
    X, Y = _pair(n=60, seed=3)
    n = len(X)
    ks = [1, 4, 20, 40, 58]
    res = tas_spectrum(X, Y, ks, metric="ip", algorithm="brute")
    for k, jac, ovl in zip(res.k, res.jaccard, res.overlap):
        o = _set_overlaps(_platonic_knn(X, k), _platonic_knn(Y, k))
        assert ovl == pytest.approx(o.mean(), abs=1e-12)
        assert jac == pytest.approx(np.mean(o / (2 * k - o)), abs=1e-12)
    o = _set_overlaps(_platonic_knn(X, 4), _platonic_knn(Y, 4))
    assert knn_jaccard(X, Y, 4, metric="ip") == pytest.approx(np.mean(o / (8 - o)), abs=1e-12)
    assert KNNJaccardScorer(4, metric="ip").fit(X, Y).score(X, Y) == pytest.approx(
        np.mean(o / (8 - o)), abs=1e-12
    )
    # every k at once (the full-rank path) agrees with the list path and the estimator
    full = tas_spectrum(X, Y, metric="ip")
    assert np.array_equal(full.k, np.arange(1, n - 1))
    np.testing.assert_allclose(full.jaccard[np.array(ks[:-1]) - 1], res.jaccard[:-1], atol=1e-12)
    est = TopologicalAlignmentSpectrum(metric="ip").fit(X, Y)
    np.testing.assert_allclose(est.spectrum_, full.tas, atol=1e-12)
    assert est.score(X, Y) == pytest.approx(tas_score(X, Y, metric="ip"), abs=1e-12)


def test_unit_rows_match_sklearn_cosine_neighbours():
    rng = np.random.default_rng(4)
    U = rng.normal(size=(120, 9))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    ind = kneighbors(U, 8, metric="ip", return_distance=False)
    ref = NearestNeighbors(n_neighbors=8, metric="cosine", algorithm="brute").fit(U).kneighbors(
        return_distance=False
    )
    assert np.array_equal(ind, ref)


def test_distances_are_negated_products_of_the_values_given():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 5)) * 3e7  # the layer rescales by a power of two internally
    dist, ind = kneighbors(X, 6, metric="ip")
    G = X @ X.T
    np.testing.assert_allclose(dist, -np.take_along_axis(G, ind, axis=1), rtol=1e-12)
    assert (np.diff(dist, axis=1) >= 0).all()


def test_self_excluded_even_when_another_product_is_larger():
    # row 0 is short; row 1 points the same way and is long, so x0 . x1 > x0 . x0
    X = np.array([[1.0, 0.0], [5.0, 0.1], [0.0, 1.0], [-1.0, 0.2], [0.3, -2.0]])
    ind = kneighbors(X, 4, metric="ip", return_distance=False)
    assert (ind != np.arange(5)[:, None]).all()
    assert ind[0, 0] == 1
    R = np.vstack([b for _, b in iter_rank_blocks(X, metric="ip")])
    assert (np.diag(R) == 0).all()
    np.testing.assert_array_equal(R, _exact_ip_ranks(X))


@pytest.mark.parametrize("seed", [0, 1])
def test_integer_lattice_ties_against_python_brute_force(seed):
    rng = np.random.default_rng(seed)
    L = rng.integers(-2, 3, size=(70, 3))  # 125 lattice sites, many equal products
    L[5] = L[9]  # and a duplicated point
    ref = _exact_ip_ranks(L)  # integer products, exactly
    X = L.astype(np.float64)
    R = np.vstack([b for _, b in iter_rank_blocks(X, metric="ip", working_memory=0.01)])
    np.testing.assert_array_equal(R, ref)
    order = np.argsort(ref, axis=1)[:, 1:]
    for k in (1, 7, 30):
        ind = kneighbors(X, k, metric="ip", algorithm="brute", return_distance=False)
        np.testing.assert_array_equal(ind, order[:, :k])
        t = search_target_ranks(prepare_search(X, "ip"), ind)
        np.testing.assert_array_equal(t, np.broadcast_to(np.arange(1, k + 1), t.shape))


@pytest.mark.parametrize(
    "make, on_grid",
    [(lambda rng: rng.integers(-2, 3, size=(50, 3)) * 0.1, False),
     # wider digits: equal exact products whose float64 sums differ, in most rows
     (lambda rng: rng.integers(-9, 10, size=(60, 4)) * 0.1, False),
     (lambda rng: rng.integers(-2, 3, size=(50, 3)) * 0.1 + np.array([1e6, 0.0, 3.0]), False),
     (lambda rng: (rng.integers(-2, 3, size=(50, 3)) * 0.3).astype(np.float32), True)],
    ids=["tenths", "wide_tenths", "offset", "float32"],
)
def test_ties_off_the_exact_grid_against_rational_brute_force(make, on_grid):
    """Products of tenths round in float64: equal exact products may differ by an ulp
    (or, with a large offset, much more), and the exact order is still found; float32
    values have short mantissas, so their float64 products are exact."""
    X = make(np.random.default_rng(7))
    P = prepare_search(X, "ip")
    assert P.exact_grid is on_grid
    ref = _exact_ip_ranks(np.asarray(X, dtype=np.float64))
    R = np.vstack([b for _, b in iter_rank_blocks(P, metric="ip", working_memory=0.01)])
    np.testing.assert_array_equal(R, ref)
    order = np.argsort(ref, axis=1)[:, 1:]
    ind = kneighbors(P, 12, metric="ip", return_distance=False)
    np.testing.assert_array_equal(ind, order[:, :12])
    t = search_target_ranks(P, order[:, 3:9])
    np.testing.assert_array_equal(t, np.broadcast_to(np.arange(4, 10), t.shape))


@pytest.mark.parametrize("k", [3, 10])
def test_cknna_ip_equals_dense_formula(k):
    X, Y = _pair(n=60, seed=2)
    ref = dense_cknna(X, Y, k, normalize=False)
    assert cknna(X, Y, k, metric="ip") == pytest.approx(ref, abs=1e-12)
    est = CKNNAScorer(n_neighbors=k, metric="ip").fit(X, Y)
    assert est.score(X, Y) == pytest.approx(ref, abs=1e-12)
    assert est.combine(est.prepare(X), est.prepare(Y, name="Y")) == pytest.approx(ref, abs=1e-12)
    # not the cosine value on these unnormalised rows
    assert abs(cknna(X, Y, k) - ref) > 1e-4
    # on unit rows the two kernels are one
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    V = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    assert cknna(U, V, k, metric="ip") == pytest.approx(cknna(U, V, k), abs=1e-12)


def test_cknna_refuses_mixed_preparations():
    X, Y = _pair(n=40)
    est = CKNNAScorer(metric="ip")
    PX = est.prepare(X)
    PY = CKNNAScorer(metric="cosine").prepare(Y, name="Y")
    with pytest.raises(ValueError, match="metric"):
        est.combine(PX, PY)


@pytest.mark.parametrize(
    "est",
    [MutualKNNScorer(n_neighbors=6, metric="ip"), KNNJaccardScorer(n_neighbors=6, metric="ip"),
     CKNNAScorer(n_neighbors=6, metric="ip")],
    ids=["mutual_knn", "knn_jaccard", "cknna"],
)
def test_declared_invariances_hold_and_translation_is_not_declared(est):
    X, Y = _pair(n=80, seed=6)
    rng = np.random.default_rng(8)
    d = X.shape[1]
    base = clone(est).fit(X, Y).score(X, Y)
    transforms = {
        "isotropic_scaling": lambda A: 2.5 * A,
        "orthogonal": lambda A: A @ np.linalg.qr(rng.normal(size=(d, d)))[0],
        "permutation": lambda A: A[:, rng.permutation(d)],
    }
    assert "translation" not in est.invariances and "monotone_distance" not in est.invariances
    for inv in est.invariances:
        if inv == "sample_permutation":
            p = rng.permutation(len(X))
            got = clone(est).fit(X[p], Y[p]).score(X[p], Y[p])
        else:
            Xt = transforms[inv](X)
            got = clone(est).fit(Xt, Y).score(Xt, Y)
        assert got == pytest.approx(base, rel=1e-9, abs=1e-12), inv
    # a translation does change inner-product neighbours, so declaring it would be false
    Xt = X + 3.0 * rng.normal(size=d)
    assert abs(clone(est).fit(Xt, Y).score(Xt, Y) - base) > 1e-3


@pytest.mark.parametrize("algorithm", ["pynndescent", "cuml"])
def test_approximate_backends_refuse_ip(algorithm):
    X, Y = _pair(n=30)
    with pytest.raises(ValueError, match=r"metric='ip'.*algorithm='" + algorithm):
        kneighbors(X, 3, metric="ip", algorithm=algorithm)
    with pytest.raises(ValueError, match="algorithm"):
        mutual_knn_alignment(X, Y, 3, metric="ip", algorithm=algorithm)
    with pytest.raises(ValueError, match="algorithm"):
        cknna(X, Y, 3, metric="ip", algorithm=algorithm)
    # 'auto' never hands inner products to an approximate backend
    assert resolve_algorithm("auto", 10**7, "ip") == "brute"


def test_distance_only_measures_refuse_ip():
    X, Y = _pair(n=30)
    with pytest.raises(ValueError, match="metric"):
        information_imbalance(X, Y, metric="ip")
    with pytest.raises(ValueError, match="metric"):
        InformationImbalance(metric="ip").fit(X, Y)
