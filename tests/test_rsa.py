"""RSA: against rsatoolbox, against a brute force with scipy, and on bad input."""

import numpy as np
import pytest
import scipy.stats
import sklearn
from scipy.spatial.distance import pdist

from skalign import RSAScorer
from skalign.metrics import combine_rsa, condensed_rdm, prepare_rsa, rsa
from skalign.rsa import RDM_COMPARATORS, RDM_METRICS

# rsatoolbox's names for the comparators skalign shares with it
RSATOOLBOX_COMPARE = {"spearman": "spearman", "pearson": "corr", "kendall_tau_a": "tau-a",
                      "rho_a": "rho-a", "cosine": "cosine"}


def _pair(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 7))
    Y = np.tanh(X[:, :4]) + 0.5 * rng.normal(size=(n, 4))
    return X, Y


def _brute_tau_a(a, b):
    s = 0.0
    for i in range(a.size):
        s += np.sum(np.sign(a[i] - a[i + 1:]) * np.sign(b[i] - b[i + 1:]))
    return s / (a.size * (a.size - 1) / 2)


def _brute(X, Y, rdm_metric, compare):
    a, b = pdist(X, rdm_metric), pdist(Y, rdm_metric)
    if compare == "spearman":
        return scipy.stats.spearmanr(a, b).statistic
    if compare == "pearson":
        return scipy.stats.pearsonr(a, b).statistic
    if compare == "kendall_tau_a":
        return _brute_tau_a(a, b)
    if compare == "rho_a":
        # expected Spearman correlation under random tie-breaking, from average ranks
        ra, rb = scipy.stats.rankdata(a), scipy.stats.rankdata(b)
        N = a.size
        return 12 * np.sum((ra - (N + 1) / 2) * (rb - (N + 1) / 2)) / (N**3 - N)
    return a @ b / np.linalg.norm(a) / np.linalg.norm(b)


@pytest.mark.parametrize("rdm_metric", RDM_METRICS)
def test_condensed_rdm_is_pdist(rdm_metric):
    X, _ = _pair()
    np.testing.assert_allclose(condensed_rdm(X + 100.0, rdm_metric=rdm_metric), pdist(X + 100.0, rdm_metric),
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("rdm_metric", RDM_METRICS)
@pytest.mark.parametrize("compare", RDM_COMPARATORS)
def test_rsa_equals_brute_force(rdm_metric, compare):
    X, Y = _pair()
    assert rsa(X, Y, rdm_metric=rdm_metric, compare=compare) == pytest.approx(
        _brute(X, Y, rdm_metric, compare), abs=1e-10)


def test_tau_a_and_rho_a_with_ties():
    # integer features give many tied distances, where tau-a and rho-a differ from tau-b and Spearman
    rng = np.random.default_rng(3)
    X = rng.integers(0, 3, size=(25, 3)).astype(float)
    Y = rng.integers(0, 3, size=(25, 2)).astype(float)
    for compare in ("kendall_tau_a", "rho_a", "spearman"):
        assert rsa(X, Y, rdm_metric="sqeuclidean", compare=compare) == pytest.approx(
            _brute(X, Y, "sqeuclidean", compare), abs=1e-12)
    tau_b = scipy.stats.kendalltau(pdist(X, "sqeuclidean"), pdist(Y, "sqeuclidean")).statistic
    assert abs(rsa(X, Y, rdm_metric="sqeuclidean", compare="kendall_tau_a") - tau_b) > 1e-3


@pytest.mark.parametrize("rdm_metric", ["correlation", "sqeuclidean", "euclidean", "cosine"])
@pytest.mark.parametrize("compare", RDM_COMPARATORS)
def test_rsa_equals_rsatoolbox(rdm_metric, compare):
    rsatoolbox = pytest.importorskip("rsatoolbox", reason="rsatoolbox is the reference implementation")
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import RDMs, calc_rdm

    X, Y = _pair(n=30, seed=1)
    if rdm_metric in ("correlation", "sqeuclidean"):
        # rsatoolbox's 'euclidean' RDM is the squared distance over the width
        method = "correlation" if rdm_metric == "correlation" else "euclidean"
        ra, rb = calc_rdm(Dataset(X), method=method), calc_rdm(Dataset(Y), method=method)
    else:
        # no such RDM in rsatoolbox: its comparators on scipy's RDMs
        ra = RDMs(pdist(X, rdm_metric)[None, :], dissimilarity_measure=rdm_metric)
        rb = RDMs(pdist(Y, rdm_metric)[None, :], dissimilarity_measure=rdm_metric)
    want = rsatoolbox.rdm.compare(ra, rb, method=RSATOOLBOX_COMPARE[compare])[0, 0]
    assert rsa(X, Y, rdm_metric=rdm_metric, compare=compare) == pytest.approx(want, abs=1e-10)


@pytest.mark.parametrize("compare", RDM_COMPARATORS)
def test_identical_gives_one_and_prepare_reused(compare):
    X, _ = _pair()
    PX = prepare_rsa(X, compare=compare)
    assert combine_rsa(PX, PX) == pytest.approx(1.0, abs=1e-12)
    est = RSAScorer(compare=compare)
    assert est.fit(X, X).score(X, X) == pytest.approx(1.0, abs=1e-12)


def test_independent_near_zero():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(200, 10)), rng.normal(size=(200, 10))
    assert abs(rsa(X, Y)) < 0.05
    assert abs(rsa(X, Y, compare="kendall_tau_a")) < 0.05


def test_float32_offset_and_dead_units():
    X, Y = _pair()
    want = rsa(X, Y, rdm_metric="euclidean")
    X32 = np.column_stack([X, np.zeros(len(X))]).astype(np.float32) + np.float32(1e3)
    got = rsa(X32, Y, rdm_metric="euclidean")
    assert got == pytest.approx(want, abs=1e-3)
    # a dead unit changes nothing for Euclidean RDMs
    assert rsa(np.column_stack([X, np.zeros(len(X))]), Y, rdm_metric="euclidean") == pytest.approx(want, abs=1e-12)


def test_wide_and_tiny():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3, 500))
    assert np.isfinite(rsa(X, X[:, :50] + rng.normal(size=(3, 50))))
    with pytest.raises(ValueError, match="at least 3"):
        rsa(X[:2], X[:2])


def test_bad_input_messages():
    X, Y = _pair()
    with pytest.raises(ValueError, match="rdm_metric"):
        rsa(X, Y, rdm_metric="manhattan")
    with pytest.raises(ValueError, match="compare"):
        rsa(X, Y, compare="kendall")
    with pytest.raises(ValueError, match="same samples"):
        rsa(X, Y[:-1])
    with pytest.raises(ValueError, match="zero variance"):
        rsa(X, np.ones_like(Y))
    Xc = X.copy()
    Xc[3] = 2.0  # a pattern constant over features has no correlation distance
    with pytest.raises(ValueError, match="1 row.*constant across its features"):
        rsa(Xc, Y)
    assert np.isfinite(rsa(Xc, Y, rdm_metric="euclidean"))
    # every pair equally far apart: a constant RDM has no Spearman correlation
    with pytest.raises(ValueError, match="RDM of X is constant"):
        rsa(np.eye(4), np.random.default_rng(0).normal(size=(4, 2)), rdm_metric="euclidean")
    # also far from the origin and at a large scale, where centring leaves rounding noise
    with pytest.raises(ValueError, match="RDM of X is constant"):
        rsa(1e3 * np.eye(5) + 1e6, np.random.default_rng(0).normal(size=(5, 2)), rdm_metric="sqeuclidean",
            compare="pearson")
    with pytest.raises(ValueError, match="different settings"):
        combine_rsa(prepare_rsa(X), prepare_rsa(Y, compare="pearson"))
    with pytest.raises(ValueError, match="prepared with"):
        RSAScorer().combine(prepare_rsa(X, compare="pearson"), prepare_rsa(Y, compare="pearson"))


def test_refuses_above_working_memory():
    X = np.random.default_rng(0).normal(size=(600, 3))
    with sklearn.config_context(working_memory=1):
        with pytest.raises(ValueError, match="working_memory=1 MiB"):
            rsa(X, X)
    # within the limit: same answer with tiny row blocks
    with sklearn.config_context(working_memory=2):
        small = rsa(X, X ** 3)
    assert small == pytest.approx(rsa(X, X ** 3), abs=1e-12)


def test_estimator_metadata_follows_parameters():
    assert "translation" not in RSAScorer().invariances
    assert "orthogonal" in RSAScorer(rdm_metric="euclidean").invariances
    assert RSAScorer(compare="cosine").score_range == (0.0, 1.0)
    X, Y = _pair()
    est = RSAScorer(rdm_metric="cosine", compare="rho_a")
    assert est.fit(X, Y).score(X, Y) == pytest.approx(rsa(X, Y, rdm_metric="cosine", compare="rho_a"), abs=1e-14)


# ---------------------------------------------------------------- all the measures added with RSA
def _new_scorers():
    from skalign import (
        BuresScorer, CCAScorer, CKNNAScorer, DistanceCorrelationScorer, GULPScorer, KNNJaccardScorer,
        MutualKNNScorer,
    )

    return [RSAScorer(), DistanceCorrelationScorer(), BuresScorer(), CCAScorer(), CCAScorer(kind="pwcca"),
            GULPScorer(), CKNNAScorer(n_neighbors=5), MutualKNNScorer(n_neighbors=5),
            KNNJaccardScorer(n_neighbors=5)]


@pytest.mark.parametrize("scorer", _new_scorers(), ids=lambda s: repr(s))
def test_layer_matrix_prepares_each_layer_once(scorer, monkeypatch):
    from skalign import alignment_matrix, pivot_alignment

    rng = np.random.default_rng(0)
    base = rng.normal(size=(40, 6))
    layers = {f"L{i}": np.tanh(base @ rng.normal(size=(6, 5))) + 0.1 * i * rng.normal(size=(40, 5))
              for i in range(12)}
    calls = []
    original = type(scorer).prepare

    def counted(self, X, name="X"):
        calls.append(name)
        return original(self, X, name)

    monkeypatch.setattr(type(scorer), "prepare", counted)
    table = alignment_matrix(layers, scorer=scorer)
    assert len(calls) == 12
    M = pivot_alignment(table)
    assert M.shape == (12, 12) and np.all(np.isfinite(M.to_numpy()))
    # every cell is the score of the pair; a layer against itself scores 1 for each of
    # these measures (CKNNA declares no upper bound, but identical kernels give exactly 1)
    a, b = layers["L3"], layers["L7"]
    monkeypatch.setattr(type(scorer), "prepare", original)
    assert M.loc["L3", "L7"] == pytest.approx(scorer.fit(a, b).score(a, b), abs=1e-12)
    assert M.loc["L4", "L4"] == pytest.approx(1.0, abs=1e-9)
