"""Permutation and soft matching of units: brute force, LP reference and known answers."""

import dataclasses
import itertools
import sys

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.stats import spearmanr
from sklearn.model_selection import KFold, cross_val_score

from skalign import PermutationScorer, SoftMatchingScorer
from skalign.metrics import (
    PreparedTuningCurves,
    match_units,
    matched_correlations,
    normalize_tuning_curves,
    permutation_distance,
    permutation_score,
    permutation_statistics,
    prepare_tuning_curves,
    soft_matching_distance,
    soft_matching_plan,
    soft_matching_score,
    soft_matching_statistics,
    tuning_correlations,
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


def test_constant_unit_with_a_rounded_mean_is_zero(rng):
    """A constant 1.7 has a mean that rounds; its curve must still be zero, not unit noise."""
    X, Y = _shared(rng, 40, 4, 4)
    X[:, 2] = 1.7
    assert np.full((40, 4), 1.7).mean(axis=0)[2] != 1.7  # the case this test is about
    curves = normalize_tuning_curves(X)
    assert (curves[:, 2] == 0).all()
    assert (unit_correlations(X, Y)[2] == 0).all()
    s = soft_matching_score(X, Y)
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


# ------------------------------------------------------------------ extreme magnitudes
@pytest.mark.parametrize("scale", [1e-200, 1e-150, 1e-40, 1e40, 1e150, 1e154, 1e300])
def test_correlations_are_free_of_scale(rng, scale):
    """Brute force on the unscaled data is the answer at every finite scale."""
    X, Y = _shared(rng, 40, 4, 5)
    X[:, 1] = 3.0  # a constant unit stays uncorrelated at every scale
    with np.errstate(invalid="ignore"):  # its textbook r is 0/0
        R = _corr_matrix(X, Y)
    R[1] = 0.0
    best = max(np.mean([R[i, j] for i, j in enumerate(p)]) for p in itertools.permutations(range(5), 4))
    Xs = X * scale
    np.testing.assert_allclose(unit_correlations(Xs, Y), R, atol=1e-12)
    np.testing.assert_allclose(unit_correlations(Xs, Y / scale), R, atol=1e-12)
    assert permutation_score(Xs, Y) == pytest.approx(best, rel=1e-10)
    assert PermutationScorer().fit(Xs, Y).score(Xs, Y) == pytest.approx(best, rel=1e-10)
    lp = _soft_lp(R)
    assert SoftMatchingScorer().fit(Xs, Y).score(Xs, Y) == pytest.approx(lp, abs=1e-9)
    assert soft_matching_score(Xs, Y * scale) == pytest.approx(lp, abs=1e-9)


def _soft_lp(R):
    dx, dy = R.shape
    A_eq = np.vstack([np.kron(np.eye(dx), np.ones(dy)), np.kron(np.ones(dx), np.eye(dy))])
    b_eq = np.concatenate([np.full(dx, 1 / dx), np.full(dy, 1 / dy)])
    lp = linprog((1 - R).ravel(), A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    return 1 - lp.fun


def test_float32_huge_and_tiny(rng):
    X, Y = _shared(rng, 50, 4, 4)
    expected = permutation_score(X.astype(np.float32).astype(np.float64), Y)
    for scale in (1e-30, 1e30):
        X32 = (X * scale).astype(np.float32)
        assert permutation_score(X32, Y) == pytest.approx(expected, rel=1e-5)


# ------------------------------------------------------------------ prepared curves and public helpers
def test_prepared_curves_are_dataclasses_of_the_normalised_curves(rng):
    X, Y = _shared(rng, 30, 3, 4)
    est = PermutationScorer()
    PX = est.prepare(X)
    assert isinstance(PX, PreparedTuningCurves) and dataclasses.is_dataclass(PX)
    np.testing.assert_array_equal(PX.curves, normalize_tuning_curves(X))
    assert (PX.n_samples, PX.n_units, PX.correlation, PX.name) == (30, 3, "pearson", "X")
    PY = prepare_tuning_curves(Y, name="Y")
    np.testing.assert_allclose(tuning_correlations(PX, PY), _corr_matrix(X, Y), atol=1e-12)
    rows, cols = match_units(tuning_correlations(PX, PY))
    stats = permutation_statistics(PX, PY, rows, cols)
    assert stats.score == pytest.approx(permutation_score(X, Y), rel=1e-12)
    assert stats.distance == pytest.approx(permutation_distance(X, Y), rel=1e-12)
    T = soft_matching_plan(tuning_correlations(PX, PY))
    assert soft_matching_statistics(PX, PY, T).score == pytest.approx(soft_matching_score(X, Y), rel=1e-12)


def test_prepared_mismatches_are_refused(rng):
    X, Y = _shared(rng, 30, 3, 4)
    PX = prepare_tuning_curves(X)
    with pytest.raises(ValueError, match="must describe the same samples"):
        tuning_correlations(PX, prepare_tuning_curves(Y[:20], name="Y"))
    with pytest.raises(ValueError, match="correlation"):
        tuning_correlations(PX, prepare_tuning_curves(Y, correlation="spearman"))
    with pytest.raises(ValueError, match="correlation='spearman'"):
        PermutationScorer().combine(PX, SoftMatchingScorer(correlation="spearman").prepare(Y, "Y"))
    with pytest.raises(ValueError, match="rows must index units"):
        permutation_statistics(PX, PX, [0, 3], [0, 1])
    with pytest.raises(ValueError, match=r"T must be a finite \(3, 3\) plan"):
        soft_matching_statistics(PX, PX, np.ones((3, 4)))


def test_function_parameters_are_validated(rng):
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    for f in (permutation_score, permutation_distance, soft_matching_score, unit_correlations):
        with pytest.raises(ValueError, match="'correlation' parameter"):
            f(X, Y, correlation="kendall")
    with pytest.raises(ValueError, match="'max_iter' parameter"):
        soft_matching_plan(np.eye(3), max_iter=0)
    with pytest.raises(ValueError, match="'chunk' parameter"):
        matched_correlations(X, Y, [0], [0], chunk=0)


def test_distance_takes_y_by_keyword(rng):
    X, Y = _shared(rng, 40, 3, 3)
    est = PermutationScorer().fit(X, y=Y)
    assert est.distance(X, y=Y) == pytest.approx(permutation_distance(X, Y), rel=1e-12)
