"""Tests of skalign.inference: calibration under the null, power, groups, reuse, errors."""

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skalign import CKAScorer, MutualKNNScorer, ProcrustesScorer, TopologicalAlignmentSpectrum
from skalign.inference import (
    bootstrap,
    calibrated_layers,
    calibrated_score,
    compare,
    draw_permutations,
    permutation_test,
)
from skalign.metrics import linear_cka, tas_score

FAMILIES = {
    "cka": CKAScorer,
    "tas": TopologicalAlignmentSpectrum,
    "mutual_knn": MutualKNNScorer,
    "procrustes": ProcrustesScorer,  # fitted: refitted per permutation
}


def _null_pvalues(make, n_sets, n=20, B=99):
    # B=99 and B=39 both make P(p <= 0.05) exactly 0.05 under the null
    pvalues = []
    for seed in range(n_sets):
        rng = np.random.default_rng(seed)
        X, Y = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
        pvalues.append(permutation_test(make(), X, Y, n_permutations=B, random_state=seed).pvalue)
    return np.array(pvalues)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_pvalues_uniform_under_the_null(family):
    # the fitted scorer is refitted per permutation: fewer permutations keep it quick
    p = _null_pvalues(FAMILIES[family], 200, B=39 if family == "procrustes" else 99)
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert 0.02 <= np.mean(p <= 0.05) <= 0.09


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_structure_reaches_the_floor(family):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    Y = X @ Q + 0.05 * rng.normal(size=(60, 4))
    res = permutation_test(FAMILIES[family](), X, Y, n_permutations=49, random_state=0)
    assert res.pvalue == 1 / 50
    assert res.null_distribution.shape == (49,)
    assert np.all(res.null_distribution < res.statistic)


def test_pvalue_definition_and_alternatives():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    res = {a: permutation_test(CKAScorer(), X, Y, n_permutations=199, alternative=a, random_state=3)
           for a in ("greater", "less", "two-sided")}
    null, s = res["greater"].null_distribution, res["greater"].statistic
    assert res["greater"].pvalue == (1 + np.sum(null >= s)) / 200
    assert res["less"].pvalue == (1 + np.sum(null <= s)) / 200
    assert res["two-sided"].pvalue == min(1.0, 2 * min(res["greater"].pvalue, res["less"].pvalue))
    p = res["greater"].pvalue
    assert res["greater"].pvalue_se == pytest.approx(np.sqrt(p * (1 - p) / 199))


def test_null_is_the_score_of_the_permuted_pairing():
    # the reuse path (prepared ranks relabelled) against a brute-force recomputation
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    res = permutation_test(TopologicalAlignmentSpectrum(), X, Y, n_permutations=20, random_state=7)
    rs = np.random.RandomState(7)
    brute = [tas_score(X, Y[rs.permutation(40)]) for _ in range(20)]
    np.testing.assert_allclose(res.null_distribution, brute, rtol=0, atol=1e-12)
    assert res.statistic == pytest.approx(tas_score(X, Y), abs=1e-12)


@pytest.mark.parametrize("kw", [{}, {"debiased": True}, {"kernel": "rbf"}])
def test_reuse_equals_refitting(kw):
    # a pipeline takes the fit/score fallback; the bare scorer combines prepared data
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 4))
    Y = X[:, :2] + rng.normal(size=(30, 2))
    fast = permutation_test(CKAScorer(**kw), X, Y, n_permutations=30, random_state=1)
    slow = permutation_test(make_pipeline(CKAScorer(**kw)), X, Y, n_permutations=30, random_state=1)
    np.testing.assert_allclose(fast.null_distribution, slow.null_distribution, rtol=0, atol=1e-12)


def test_gram_route_reuse():
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(12, 30)), rng.normal(size=(12, 25))
    res = permutation_test(CKAScorer(), X, Y, n_permutations=10, random_state=2)
    rs = np.random.RandomState(2)
    brute = [linear_cka(X, Y[rs.permutation(12)]) for _ in range(10)]
    np.testing.assert_allclose(res.null_distribution, brute, rtol=0, atol=1e-12)


def test_cv_statistic_is_the_held_out_score():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(50, 3))
    Y = X @ rng.normal(size=(3, 3)) + rng.normal(size=(50, 3))
    cv = KFold(5, shuffle=True, random_state=0)
    res = permutation_test(ProcrustesScorer(), X, Y, n_permutations=19, cv=cv, random_state=0)
    assert res.statistic == pytest.approx(cross_val_score(ProcrustesScorer(), X, Y, cv=cv).mean(), abs=1e-12)
    rs = np.random.RandomState(0)
    first = cross_val_score(ProcrustesScorer(), X, Y[rs.permutation(50)], cv=cv).mean()
    assert res.null_distribution[0] == pytest.approx(first, abs=1e-12)
    assert res.pvalue == 1 / 20


class _Recording(CKAScorer):
    """CKA that records the permutations and the rows it is shown."""

    perms = []
    rows = []

    def permute_prepared(self, P, perm):
        type(self).perms.append(np.array(perm))
        return super().permute_prepared(P, perm)

    def prepare(self, X, name="X"):
        if name == "X":
            type(self).rows.append(np.asarray(X)[:, 0].round().astype(int))
        return super().prepare(X, name)


def test_groups_never_move_a_row_out_of_its_group():
    rng = np.random.default_rng(8)
    groups = np.repeat(np.arange(6), [2, 3, 4, 5, 3, 3])
    rng.shuffle(groups)
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    _Recording.perms = []
    permutation_test(_Recording(), X, Y, n_permutations=50, groups=groups, random_state=0)
    assert len(_Recording.perms) == 50
    for perm in _Recording.perms:
        assert np.array_equal(np.sort(perm), np.arange(20))
        assert np.array_equal(groups[perm], groups)
    assert any(not np.array_equal(perm, np.arange(20)) for perm in _Recording.perms)


def test_groups_null_of_a_within_group_constant():
    # y constant within groups: every within-group permutation leaves it unchanged
    rng = np.random.default_rng(9)
    groups = np.repeat(np.arange(5), 6)
    X = rng.normal(size=(30, 3))
    Y = rng.normal(size=(5, 2))[groups]
    res = permutation_test(CKAScorer(), X, Y, n_permutations=20, groups=groups, random_state=0)
    np.testing.assert_allclose(res.null_distribution, res.statistic, rtol=1e-12)
    assert res.pvalue == 1.0
    free = permutation_test(CKAScorer(), X, Y, n_permutations=20, random_state=0)
    assert not np.allclose(free.null_distribution, free.statistic)


@pytest.mark.filterwarnings("ignore:n_resamples=")
def test_bootstrap_groups_resample_whole_groups():
    rng = np.random.default_rng(10)
    groups = np.repeat(np.arange(8), 4)
    X = np.column_stack([np.arange(32.0), rng.normal(size=(32, 2))])
    Y = rng.normal(size=(32, 3))
    _Recording.rows = []
    bootstrap(_Recording(), X, Y, n_resamples=30, groups=groups, random_state=0)
    resamples = _Recording.rows[1:]  # the first is the observed statistic
    assert len(resamples) == 30
    for rows in resamples:
        counts = np.bincount(rows, minlength=32)
        for g in range(8):
            assert np.unique(counts[groups == g]).size == 1  # all of a group's rows, equally often


def test_bootstrap_percentile_by_hand():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40, 3))
    Y = X + rng.normal(size=(40, 3))
    res = bootstrap(CKAScorer(), X, Y, n_resamples=200, confidence_level=0.9, random_state=5)
    rs = np.random.RandomState(5)
    values = []
    for _ in range(200):
        idx = rs.randint(0, 40, 40)
        values.append(linear_cka(X[idx], Y[idx]))
    np.testing.assert_allclose(res.bootstrap_distribution, values, rtol=0, atol=1e-12)
    assert res.confidence_interval == pytest.approx(tuple(np.quantile(values, [0.05, 0.95])), abs=1e-12)
    assert res.standard_error == pytest.approx(np.std(values, ddof=1))
    assert res.statistic == pytest.approx(linear_cka(X, Y))


def test_bca_agrees_with_scipy():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(40, 2))
    Y = X + rng.normal(size=(40, 2))
    ours = bootstrap(CKAScorer(), X, Y, n_resamples=3000, method="bca", random_state=0).confidence_interval
    theirs = stats.bootstrap(
        (np.arange(40),), lambda i: linear_cka(X[i], Y[i]), n_resamples=3000, method="BCa",
        vectorized=False, random_state=0,
    ).confidence_interval
    assert ours.low == pytest.approx(theirs.low, abs=0.02)
    assert ours.high == pytest.approx(theirs.high, abs=0.02)


class _RecordingTAS(TopologicalAlignmentSpectrum):
    rows = []

    def prepare(self, X, name="X"):
        if name == "X":
            type(self).rows.append(np.asarray(X)[:, 0].copy())
        return super().prepare(X, name)


@pytest.mark.filterwarnings("ignore:n_resamples=")
def test_bootstrap_of_a_neighbourhood_measure_never_duplicates_a_stimulus():
    rng = np.random.default_rng(13)
    X = rng.normal(size=(40, 3))
    Y = X + 0.3 * rng.normal(size=(40, 3))
    _RecordingTAS.rows = []
    res = bootstrap(_RecordingTAS(), X, Y, n_resamples=20, random_state=0)
    assert len(_RecordingTAS.rows) == 21
    for rows in _RecordingTAS.rows[1:]:
        assert np.unique(rows).size == rows.size == 20
    # recentred on the full-sample statistic
    assert res.bootstrap_distribution.mean() == pytest.approx(res.statistic)
    assert res.confidence_interval.low < res.statistic < res.confidence_interval.high


@pytest.mark.filterwarnings("ignore:n_resamples=")
def test_reproducible_and_independent_of_n_jobs():
    rng = np.random.default_rng(14)
    X = rng.normal(size=(30, 3))
    Y = X + rng.normal(size=(30, 3))
    Z = X + 2 * rng.normal(size=(30, 3))
    for fn, kw in ((permutation_test, {"n_permutations": 40}), (bootstrap, {"n_resamples": 40})):
        a = fn(CKAScorer(), X, Y, random_state=3, **kw)
        b = fn(CKAScorer(), X, Y, random_state=3, **kw)
        c = fn(CKAScorer(), X, Y, random_state=3, n_jobs=2, **kw)
        dist = "null_distribution" if fn is permutation_test else "bootstrap_distribution"
        assert np.array_equal(getattr(a, dist), getattr(b, dist))
        assert np.array_equal(getattr(a, dist), getattr(c, dist))
    a = compare(CKAScorer(), X, Y, Z, n_resamples=20, n_permutations=20, random_state=1)
    c = compare(CKAScorer(), X, Y, Z, n_resamples=20, n_permutations=20, random_state=1, n_jobs=2)
    assert np.array_equal(a.null_distribution, c.null_distribution)
    assert np.array_equal(a.bootstrap_distribution, c.bootstrap_distribution)


def test_compare_detects_the_better_partner():
    rng = np.random.default_rng(15)
    X = rng.normal(size=(80, 4))
    Y = X + 0.3 * rng.normal(size=(80, 4))
    Z = rng.normal(size=(80, 4))
    res = compare(CKAScorer(), X, Y, Z, n_resamples=199, n_permutations=99, random_state=0)
    assert res.difference == pytest.approx(linear_cka(X, Y) - linear_cka(X, Z))
    assert res.pvalue == 1 / 100
    assert res.confidence_interval.low > 0
    # the reverse question is not significant
    rev = compare(CKAScorer(), X, Z, Y, n_resamples=50, n_permutations=99, random_state=0)
    assert rev.pvalue == 1.0 and rev.confidence_interval.high < 0


@pytest.mark.filterwarnings("ignore:n_resamples=")
def test_compare_uniform_when_partners_are_exchangeable():
    p = []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        X, S = rng.normal(size=(20, 2)), rng.normal(size=(20, 2))
        Y, Z = X + S + rng.normal(size=(20, 2)), X + S + rng.normal(size=(20, 2))
        p.append(compare(CKAScorer(), X, Y, Z, n_resamples=1, n_permutations=49, random_state=seed).pvalue)
    assert stats.kstest(p, "uniform").pvalue > 0.01


@pytest.mark.filterwarnings("ignore:n_resamples=")
def test_compare_bootstrap_pvalue_for_different_widths():
    rng = np.random.default_rng(16)
    X = rng.normal(size=(60, 4))
    Y, Z = X[:, :3] + 0.2 * rng.normal(size=(60, 3)), rng.normal(size=(60, 5))
    with pytest.raises(ValueError, match="n_permutations=0"):
        compare(CKAScorer(), X, Y, Z, n_resamples=10)
    res = compare(CKAScorer(), X, Y, Z, n_resamples=99, n_permutations=0, random_state=0)
    assert res.null_distribution is None
    assert res.pvalue == 1 / 100


def _tau_by_hand(observed, null, alpha):
    # the ceil((1 - alpha)(K + 1))-th smallest of the K + 1 values, counted by hand
    values = sorted([observed, *null])
    rank = int(np.ceil(round((1 - alpha) * (len(null) + 1), 9)))
    return values[rank - 1]


def test_calibrated_score_against_a_hand_loop():
    rng = np.random.default_rng(17)
    X = rng.normal(size=(50, 3))
    Y = X + 2.0 * rng.normal(size=(50, 3))
    K = 79
    res = calibrated_score(CKAScorer(), X, Y, n_permutations=K, random_state=1)
    perms = draw_permutations(50, K, random_state=1)
    null = np.array([linear_cka(X, Y[perm]) for perm in perms])
    s = linear_cka(X, Y)
    np.testing.assert_allclose(res.null_distribution, null, rtol=0, atol=1e-12)
    assert res.statistic == pytest.approx(s, abs=1e-12)
    tau = _tau_by_hand(s, null, 0.05)  # the 76th of 80
    assert res.threshold == pytest.approx(tau, abs=1e-12)
    expected = min(max((s - tau) / (1.0 - tau), 0.0), 1.0)
    assert res.calibrated_score == pytest.approx(expected, abs=1e-12)
    assert res.calibrated_score > 0  # real structure: the brute force above is not a trivial 0
    assert res.pvalue == (1 + np.sum(null >= s - 1e-12)) / (K + 1)
    assert res.max_score == 1.0 and res.null_mean == pytest.approx(null.mean())
    # another level moves tau to another order statistic
    res10 = calibrated_score(CKAScorer(), X, Y, n_permutations=K, alpha=0.1, random_state=1)
    assert res10.threshold == pytest.approx(_tau_by_hand(s, null, 0.1), abs=1e-12)
    assert res10.threshold <= res.threshold


def test_calibrated_score_perfect_and_null_rate():
    rng = np.random.default_rng(18)
    X = rng.normal(size=(50, 3))
    perfect = calibrated_score(CKAScorer(), X, 2 * X, n_permutations=39, random_state=0)
    assert perfect.calibrated_score == pytest.approx(1.0)
    assert perfect.pvalue == 1 / 40
    # under the null: positive only when the level-0.05 test rejects, so about 5% of the time
    values, raw = [], []
    for seed in range(200):
        r = np.random.default_rng(1000 + seed)
        A, B = r.normal(size=(20, 3)), r.normal(size=(20, 3))
        res = calibrated_score(CKAScorer(), A, B, n_permutations=39, random_state=seed)
        values.append(res.calibrated_score)
        raw.append(res.statistic)
        assert res.calibrated_score == 0 or res.pvalue <= 0.05
    values = np.array(values)
    assert np.mean(values == 0) > 0.9
    assert 0.02 <= np.mean(values > 0) <= 0.09
    assert np.mean(raw) > 0.1  # raw CKA of independent data is far from 0


def test_calibrated_score_without_a_top():
    # CKNNA's range has no finite top: the value is the unnormalised effect size max(s - tau, 0)
    from skalign import CKNNAScorer

    rng = np.random.default_rng(19)
    X = rng.normal(size=(40, 3))
    for Y, positive in ((X + 0.1 * rng.normal(size=(40, 3)), True), (rng.normal(size=(40, 3)), None)):
        res = calibrated_score(CKNNAScorer(n_neighbors=5), X, Y, n_permutations=39, random_state=0)
        assert res.max_score is None
        tau = _tau_by_hand(res.statistic, res.null_distribution, 0.05)
        assert res.calibrated_score == pytest.approx(max(res.statistic - tau, 0.0), abs=1e-12)
        if positive:
            assert res.calibrated_score > 0


def test_calibrated_score_warns_when_it_cannot_leave_zero():
    rng = np.random.default_rng(21)
    X = rng.normal(size=(30, 3))
    with pytest.warns(UserWarning, match="n_permutations=10"):
        res = calibrated_score(CKAScorer(), X, X, n_permutations=10, random_state=0)
    assert res.calibrated_score == 0.0  # tau is the largest value, the observed one
    with pytest.raises(ValueError, match="alpha"):
        calibrated_score(CKAScorer(), X, X, n_permutations=99, alpha=1.5)


def test_calibrated_layers_one_layer_is_calibrated_score():
    rng = np.random.default_rng(22)
    X = rng.normal(size=(40, 3))
    Y = X + 2 * rng.normal(size=(40, 3))
    for scorer in (CKAScorer(), TopologicalAlignmentSpectrum(n_neighbors=5)):
        one = calibrated_score(scorer, X, Y, n_permutations=59, random_state=3)
        lay = calibrated_layers(scorer, {"x": X}, {"y": Y}, n_permutations=59, random_state=3)
        np.testing.assert_array_equal(lay.null_distribution, one.null_distribution)
        assert lay.statistic == one.statistic and lay.threshold == one.threshold
        assert lay.calibrated_score == one.calibrated_score and lay.pvalue == one.pvalue
        assert lay.best_pair == ("x", "y")
    groups = np.repeat(np.arange(4), 10)
    one = calibrated_score(CKAScorer(), X, Y, n_permutations=59, groups=groups, random_state=3)
    lay = calibrated_layers(CKAScorer(), [X], [Y], n_permutations=59, groups=groups, random_state=3)
    np.testing.assert_array_equal(lay.null_distribution, one.null_distribution)
    assert lay.calibrated_score == one.calibrated_score
    with pytest.raises(ValueError, match="groups"):
        calibrated_layers(CKAScorer(), [X], [Y], n_permutations=59, groups=groups[:-1])


def test_calibrated_layers_one_permutation_for_every_layer():
    # brute force on 3 x 2 layers: each null value is the max over pairs with ONE permutation of all of B
    rng = np.random.default_rng(23)
    base = rng.normal(size=(30, 3))
    A = [base + s * rng.normal(size=(30, 3)) for s in (0.5, 1.0, 2.0)]
    B = {"b0": base + rng.normal(size=(30, 3)), "b1": rng.normal(size=(30, 4))}
    K = 39
    for aggregate, reduce in (("max", np.max), ("mean", np.mean)):
        res = calibrated_layers(CKAScorer(), A, B, aggregate=aggregate, n_permutations=K, random_state=5)
        perms = draw_permutations(30, K, random_state=5)
        null = [reduce([[linear_cka(a, b[p]) for b in B.values()] for a in A]) for p in perms]
        np.testing.assert_allclose(res.null_distribution, null, rtol=0, atol=1e-12)
        S = np.array([[linear_cka(a, b) for b in B.values()] for a in A])
        np.testing.assert_allclose(res.scores.to_numpy(), S, rtol=0, atol=1e-12)
        assert list(res.scores.index) == [0, 1, 2] and list(res.scores.columns) == ["b0", "b1"]
        assert res.statistic == pytest.approx(reduce(S), abs=1e-12)
        tau = _tau_by_hand(res.statistic, null, 0.05)
        assert res.threshold == pytest.approx(tau, abs=1e-12)
        assert res.calibrated_score == pytest.approx(max(0.0, (res.statistic - tau) / (1 - tau)), abs=1e-12)
    assert res.best_pair is None
    res = calibrated_layers(CKAScorer(), A, B, n_permutations=K, random_state=5)
    assert res.best_pair == (0, "b0")
    two = calibrated_layers(CKAScorer(), A, B, n_permutations=K, random_state=5, n_jobs=2)
    np.testing.assert_array_equal(two.null_distribution, res.null_distribution)
    # independent permutations per layer of B (a per-pair null) give other null values
    rs = np.random.RandomState(5)
    per_pair = [max(linear_cka(a, b[rs.permutation(30)]) for a in A for b in B.values()) for _ in range(K)]
    assert not np.allclose(res.null_distribution, per_pair)


def test_calibrated_layers_fitted_scorer_and_self_comparison():
    rng = np.random.default_rng(24)
    X = rng.normal(size=(30, 3))
    A = {"l0": X, "l1": X @ rng.normal(size=(3, 3)) + 0.1 * rng.normal(size=(30, 3)), "l2": rng.normal(size=(30, 3))}
    res = calibrated_layers(ProcrustesScorer(), A, n_permutations=19, random_state=0)
    assert np.isnan(np.diag(res.scores.to_numpy())).all()
    assert res.best_pair in {("l0", "l1"), ("l1", "l0")}
    perms = draw_permutations(30, 19, random_state=0)
    names = list(A)
    null = []
    for p in perms:
        null.append(max(ProcrustesScorer().fit(A[a], A[b][p]).score(A[a], A[b][p])
                        for a in names for b in names if a != b))
    np.testing.assert_allclose(res.null_distribution, null, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="reps_a"):
        calibrated_layers(CKAScorer(), {"only": X}, n_permutations=19)
    with pytest.raises(TypeError, match="reps_b"):
        calibrated_layers(CKAScorer(), A, X, n_permutations=19)
    with pytest.raises(ValueError, match="same samples|rows|samples"):
        calibrated_layers(CKAScorer(), A, {"short": X[:20]}, n_permutations=19)
    with pytest.raises(ValueError, match="aggregate"):
        calibrated_layers(CKAScorer(), A, aggregate="median", n_permutations=19)


def test_calibrated_layers_more_layers_inflate_the_raw_max_not_the_calibrated_rate():
    n, K, sets = 20, 39, 120
    raw = {1: [], 6: []}
    positive = {1: [], 6: []}
    naive = []
    for seed in range(sets):
        rng = np.random.default_rng(3000 + seed)
        A = [rng.normal(size=(n, 3)) for _ in range(6)]
        B = [rng.normal(size=(n, 3)) for _ in range(6)]
        for L in (1, 6):
            res = calibrated_layers(CKAScorer(), A[:L], B[:L], n_permutations=K, random_state=seed)
            raw[L].append(res.statistic)
            positive[L].append(res.calibrated_score > 0)
        # the winner calibrated on its own null, blind to the search: what the aggregate null prevents
        i, j = res.best_pair
        naive.append(calibrated_score(CKAScorer(), A[i], B[j], n_permutations=K, random_state=seed).calibrated_score > 0)
    assert np.mean(raw[6]) > np.mean(raw[1]) + 0.05  # the best of 36 unrelated pairs looks aligned
    for L in (1, 6):
        assert 0.0 <= np.mean(positive[L]) <= 0.1
    assert np.mean(naive) > 0.3


def test_bad_input():
    rng = np.random.default_rng(18)
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    with pytest.raises(ValueError, match="n_permutations"):
        permutation_test(CKAScorer(), X, Y, n_permutations=0)
    for level in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="confidence_level"):
            bootstrap(CKAScorer(), X, Y, confidence_level=level)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap(CKAScorer(), X, Y, n_resamples=0)
    with pytest.raises(ValueError, match="groups"):
        permutation_test(CKAScorer(), X, Y, groups=np.zeros(19))
    with pytest.raises(ValueError, match="groups.*single member"):
        permutation_test(CKAScorer(), X, Y, groups=np.r_[np.zeros(19), 1])
    with pytest.raises(ValueError, match="groups.*single member"):
        bootstrap(CKAScorer(), X, Y, groups=np.arange(20))
    with pytest.raises(TypeError, match="scorer must be a paired scorer"):
        permutation_test(LinearRegression(), X, Y)
    with pytest.raises(TypeError, match="scorer"):
        bootstrap(make_pipeline(LinearRegression()), X, Y)
    with pytest.raises(ValueError, match="alternative"):
        permutation_test(CKAScorer(), X, Y, alternative="bigger")
    with pytest.raises(ValueError, match="method"):
        bootstrap(CKAScorer(), X, Y, method="normal")
    with pytest.raises(ValueError, match="same samples|rows"):
        permutation_test(CKAScorer(), X, Y[:15])
    with pytest.warns(UserWarning, match="n_permutations=9.*smallest p-value"):
        permutation_test(CKAScorer(), X, Y, n_permutations=9, random_state=0)
    with pytest.warns(UserWarning, match="n_permutations=30.*smallest p-value"):
        permutation_test(CKAScorer(), X, Y, n_permutations=30, alternative="two-sided", random_state=0)
    with pytest.warns(UserWarning, match="distinct permutations"):
        # three pairs: 2**3 = 8 distinct within-group permutations
        permutation_test(CKAScorer(), X[:6], Y[:6], n_permutations=99, groups=[0, 0, 1, 1, 2, 2], random_state=0)
    with pytest.warns(UserWarning, match="n_resamples=10"):
        bootstrap(CKAScorer(), X, Y, n_resamples=10, random_state=0)


class _RecordingProcrustes(ProcrustesScorer):
    """Procrustes that records which stimuli (column 0 of X) it is fitted and scored on."""

    log = []

    def fit(self, X, y):
        type(self).log.append(("fit", set(np.asarray(X)[:, 0].round().astype(int))))
        return super().fit(X, y)

    def score(self, X, y):
        type(self).log.append(("score", set(np.asarray(X)[:, 0].round().astype(int))))
        return super().score(X, y)


@pytest.mark.filterwarnings("ignore:n_resamples=")
def test_bootstrap_cv_keeps_copies_of_a_stimulus_on_one_side():
    rng = np.random.default_rng(19)
    X = np.column_stack([np.arange(40.0), rng.normal(size=(40, 3))])
    Y = X[:, 1:] + rng.normal(size=(40, 3))
    _RecordingProcrustes.log = []
    res = bootstrap(_RecordingProcrustes(), X, Y, n_resamples=5, cv=4, random_state=0)
    log = _RecordingProcrustes.log
    assert len(log) == 2 * 4 * 6  # observed + 5 resamples, 4 folds, fit then score
    for (kind_a, train), (kind_b, test) in zip(log[::2], log[1::2]):
        assert (kind_a, kind_b) == ("fit", "score")
        assert not train & test
    assert np.isfinite(res.bootstrap_distribution).all()


def test_public_draws_are_the_permutation_tests_draws():
    from skalign.inference import draw_permutations, permutation_pvalue

    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 4))
    Y = rng.normal(size=(30, 3))
    groups = np.repeat(np.arange(6), 5)
    res = permutation_test(CKAScorer(), X, Y, n_permutations=25, groups=groups, random_state=7)
    perms = draw_permutations(30, 25, groups=groups, random_state=7)
    # every permutation stays inside its group
    assert all((groups[p] == groups).all() for p in perms)
    brute = np.array([CKAScorer().fit(X, Y[p]).score(X, Y[p]) for p in perms])
    np.testing.assert_allclose(res.null_distribution, brute, rtol=1e-12, atol=1e-15)
    # the p-value by its definition, counted by hand
    assert permutation_pvalue(res.statistic, brute)[0] == pytest.approx((1 + np.sum(brute >= res.statistic)) / 26)


def test_verbose_reports_progress_and_changes_no_number(capsys):
    rng = np.random.default_rng(30)
    X = rng.normal(size=(30, 3))
    Y = X + rng.normal(size=(30, 3))
    quiet = permutation_test(CKAScorer(), X, Y, n_permutations=29, random_state=0)
    assert capsys.readouterr().err == ""
    for n_jobs in (None, 2):
        loud = permutation_test(CKAScorer(), X, Y, n_permutations=29, random_state=0, verbose=1, n_jobs=n_jobs)
        np.testing.assert_array_equal(loud.null_distribution, quiet.null_distribution)
        out = capsys.readouterr()
        assert "29" in out.err + out.out  # a tqdm bar (stderr) or printed lines (stdout) with the total
    boot = bootstrap(CKAScorer(), X, Y, n_resamples=39, random_state=0)
    loud = bootstrap(CKAScorer(), X, Y, n_resamples=39, random_state=0, verbose=1)
    np.testing.assert_array_equal(loud.bootstrap_distribution, boot.bootstrap_distribution)
    out = capsys.readouterr()
    assert "39" in out.err + out.out


@pytest.mark.parametrize("make", [lambda: CKAScorer(debiased=True), lambda: __import__("skalign").RSAScorer()],
                         ids=["debiased_cka", "rsa"])
def test_scorers_biased_by_duplicates_resample_half_samples(make):
    # a duplicated row is an off-diagonal term of debiased CKA's U-statistic (and a zero
    # dissimilarity of an RDM): resamples hold each stimulus once, recentred on the statistic
    rng = np.random.default_rng(11)
    n = 40
    X, Y = rng.normal(size=(n, 5)), rng.normal(size=(n, 4))
    res = bootstrap(make(), X, Y, n_resamples=30, random_state=2)
    rs = np.random.RandomState(2)
    halves = [np.sort(rs.permutation(n)[: n // 2]) for _ in range(30)]
    brute = np.array([make().fit(X[h], Y[h]).score(X[h], Y[h]) for h in halves])
    s = make().fit(X, Y).score(X, Y)
    np.testing.assert_allclose(res.bootstrap_distribution, brute - brute.mean() + s, rtol=1e-10, atol=1e-12)
    assert res.confidence_interval.low <= s <= res.confidence_interval.high
