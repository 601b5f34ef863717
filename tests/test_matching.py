"""Permutation and soft matching of units: brute force, LP reference and known answers."""

import itertools
import sys

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.stats import spearmanr
from sklearn.model_selection import KFold, cross_val_score

from skalign import PermutationScorer, SoftMatchingScorer
from skalign.metrics import (
    matched_correlations,
    normalize_tuning_curves,
    permutation_distance,
    permutation_score,
    soft_matching_distance,
    soft_matching_plan,
    soft_matching_score,
    unit_correlations,
)


def _corr(a, b):
    """Pearson r of two vectors from the textbook formula."""
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def _corr_matrix(X, Y):
    return np.array([[_corr(X[:, i], Y[:, j]) for j in range(Y.shape[1])] for i in range(X.shape[1])])


def _shared(rng, n, dx, dy, k=3, noise=1.0):
    Z = rng.normal(size=(n, k))
    X = Z @ rng.normal(size=(k, dx)) + noise * rng.normal(size=(n, dx))
    Y = Z @ rng.normal(size=(k, dy)) + noise * rng.normal(size=(n, dy))
    return X, Y


# ------------------------------------------------------------------ permutation
def test_recovers_hidden_permutation(rng):
    X = rng.normal(size=(200, 12))
    perm = rng.permutation(12)
    Y = X[:, perm] * rng.uniform(0.5, 3, size=12) + rng.normal(size=12) + 0.2 * rng.normal(size=(200, 12))
    est = PermutationScorer().fit(X, Y)
    # Y's column j is X's column perm[j], so X's unit perm[j] must be matched to Y's unit j
    mapping = dict(zip(est.matched_x_.tolist(), est.matched_y_.tolist()))
    assert all(mapping[perm[j]] == j for j in range(12))
    assert est.score(X, Y) > 0.95


@pytest.mark.parametrize("dx,dy", [(5, 5), (3, 5), (5, 3)])
def test_permutation_score_is_brute_force_maximum(rng, dx, dy):
    X, Y = _shared(rng, 40, dx, dy)
    R = _corr_matrix(X, Y)
    if dx <= dy:
        best = max(np.mean([R[i, j] for i, j in enumerate(p)]) for p in itertools.permutations(range(dy), dx))
    else:
        best = max(np.mean([R[i, j] for j, i in enumerate(p)]) for p in itertools.permutations(range(dx), dy))
    assert permutation_score(X, Y) == pytest.approx(best, rel=1e-12)
    np.testing.assert_allclose(unit_correlations(X, Y), R, atol=1e-12)
    assert permutation_distance(X, Y) == pytest.approx(np.sqrt(2 - 2 * best), rel=1e-10)


def test_heldout_score_uses_training_matching(rng):
    X, Y = _shared(rng, 120, 6, 6, noise=2.0)
    est = PermutationScorer().fit(X[:80], Y[:80])
    Xt, Yt = X[80:], Y[80:]
    expected = np.mean([_corr(Xt[:, i], Yt[:, j]) for i, j in zip(est.matched_x_, est.matched_y_)])
    assert est.score(Xt, Yt) == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------------------ soft matching
def test_plan_has_uniform_marginals_and_is_optimal(rng):
    X, Y = _shared(rng, 50, 4, 7)
    est = SoftMatchingScorer().fit(X, Y)
    T = est.transport_plan_
    assert T.shape == (4, 7) and (T >= 0).all()
    np.testing.assert_allclose(T.sum(axis=1), np.full(4, 1 / 4), atol=1e-14)
    np.testing.assert_allclose(T.sum(axis=0), np.full(7, 1 / 7), atol=1e-14)
    # the same transport problem as a plain LP solved by HiGHS
    R = _corr_matrix(X, Y)
    A_eq = np.vstack([np.kron(np.eye(4), np.ones(7)), np.kron(np.ones(4), np.eye(7))])
    b_eq = np.concatenate([np.full(4, 1 / 4), np.full(7, 1 / 7)])
    lp = linprog((1 - R).ravel(), A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert est.score(X, Y) == pytest.approx(-(lp.fun - 1), abs=1e-9)
    assert soft_matching_score(X, Y) == pytest.approx(-(lp.fun - 1), abs=1e-9)


def test_soft_distance_is_wasserstein_between_normalised_curves(rng):
    X, Y = _shared(rng, 30, 3, 5)
    T = SoftMatchingScorer().fit(X, Y).transport_plan_
    unit = lambda v: (v - v.mean()) / np.linalg.norm(v - v.mean())  # noqa: E731
    sq = sum(T[i, j] * np.sum((unit(X[:, i]) - unit(Y[:, j])) ** 2) for i in range(3) for j in range(5))
    assert soft_matching_distance(X, Y) == pytest.approx(np.sqrt(sq), rel=1e-10)
    assert SoftMatchingScorer().fit(X, Y).distance(X, Y) == pytest.approx(np.sqrt(sq), rel=1e-10)


def test_equal_widths_soft_matching_agrees_with_permutation(rng):
    X = rng.normal(size=(150, 10))
    perm = rng.permutation(10)
    Y = X[:, perm] * 2 + 0.5 * rng.normal(size=(150, 10))
    hard = PermutationScorer().fit(X[:100], Y[:100])
    soft = SoftMatchingScorer().fit(X[:100], Y[:100])
    P = np.zeros((10, 10))
    P[hard.matched_x_, hard.matched_y_] = 1 / 10
    np.testing.assert_allclose(soft.transport_plan_, P, atol=1e-12)
    assert soft.score(X[100:], Y[100:]) == pytest.approx(hard.score(X[100:], Y[100:]), rel=1e-12)
    assert soft.distance(X[100:], Y[100:]) == pytest.approx(hard.distance(X[100:], Y[100:]), rel=1e-10)
    # Birkhoff-von Neumann: for equal widths the in-sample optima coincide for any data
    A, B = rng.normal(size=(20, 6)), rng.normal(size=(20, 6))
    assert soft_matching_score(A, B) == pytest.approx(permutation_score(A, B), rel=1e-10)


def test_prepare_combine_and_symmetry(rng):
    X, Y = _shared(rng, 60, 5, 8)
    for est in (PermutationScorer(), SoftMatchingScorer(correlation="spearman")):
        s = est.fit(X, Y).score(X, Y)
        assert est.combine(est.prepare(X), est.prepare(Y, "Y")) == pytest.approx(s, rel=1e-12)
        assert type(est)(**est.get_params()).fit(Y, X).score(Y, X) == pytest.approx(s, rel=1e-10)


def test_spearman_ignores_monotone_unit_transforms(rng):
    X, Y = _shared(rng, 60, 4, 4)
    rho = spearmanr(X, Y).statistic[:4, 4:]
    s = permutation_score(X, Y, correlation="spearman")
    assert permutation_score(np.exp(X), Y**3, correlation="spearman") == pytest.approx(s, rel=1e-12)
    assert abs(permutation_score(np.exp(X), Y**3) - permutation_score(X, Y)) > 1e-3
    best = max(np.mean(rho[np.arange(4), p]) for p in itertools.permutations(range(4)))
    assert s == pytest.approx(best, rel=1e-12)


def test_constant_unit_counts_as_uncorrelated(rng):
    X, Y = _shared(rng, 40, 4, 4)
    X[:, 2] = 5.0
    R = unit_correlations(X, Y)
    assert np.isfinite(R).all() and (R[2] == 0).all()
    s = soft_matching_score(X, Y)
    T = soft_matching_plan(R)
    assert s == pytest.approx(float((T * R).sum()), rel=1e-12)
    # the dead unit has a zero tuning curve: its squared distance to a unit curve is 1, not 2
    assert soft_matching_distance(X, Y) ** 2 == pytest.approx(3 / 4 + 1 - 2 * s, rel=1e-10)


# ------------------------------------------------------------------ cross-validation and errors
@pytest.mark.parametrize("Est", [PermutationScorer, SoftMatchingScorer])
def test_heldout_below_in_sample_for_noise(Est):
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(100, 60)), rng.normal(size=(100, 60))
    in_sample = Est().fit(X, Y).score(X, Y)
    held_out = cross_val_score(Est(), X, Y, cv=KFold(5, shuffle=True, random_state=0))
    assert in_sample > 0.15
    assert held_out.mean() < in_sample - 0.1 and abs(held_out.mean()) < 0.08


def test_zero_variance_is_refused(rng):
    X = rng.normal(size=(20, 3))
    with pytest.raises(ValueError, match="Y has zero variance"):
        SoftMatchingScorer().fit(X, np.ones((20, 4)))
    with pytest.raises(ValueError, match="X has zero variance"):
        permutation_score(np.zeros((20, 3)), X)


def test_missing_pot_names_the_extra(rng, monkeypatch):
    monkeypatch.setitem(sys.modules, "ot", None)  # makes `import ot` raise ImportError
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    with pytest.raises(ImportError, match=r"skalign\[ot\]"):
        SoftMatchingScorer().fit(X, Y)
    assert np.isfinite(PermutationScorer().fit(X, Y).score(X, Y))  # POT is not needed here


def test_invalid_parameters(rng):
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    with pytest.raises(ValueError, match="correlation"):
        PermutationScorer(correlation="kendall").fit(X, Y)
    with pytest.raises(ValueError, match="max_iter"):
        SoftMatchingScorer(max_iter=0).fit(X, Y)


def test_matched_correlations_in_chunks(rng):
    X, Y = _shared(rng, 30, 7, 9)
    rows, cols = rng.integers(0, 7, size=11), rng.integers(0, 9, size=11)
    got = matched_correlations(normalize_tuning_curves(X), normalize_tuning_curves(Y, name="Y"), rows, cols, chunk=3)
    np.testing.assert_allclose(got, [_corr(X[:, i], Y[:, j]) for i, j in zip(rows, cols)], atol=1e-12)
