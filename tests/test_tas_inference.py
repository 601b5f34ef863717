"""Per-k inference of the Topological Alignment Spectrum through skalign.inference."""

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skalign import CKAScorer, TopologicalAlignmentSpectrum
from skalign.inference import bootstrap, draw_permutations, permutation_test
from skalign.spectrum import permutation_pvalues, prepare_neighborhoods, tas_spectrum


def _pair(n, seed, noise=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X + noise * rng.normal(size=(n, 3))


@pytest.mark.parametrize("n_neighbors", [None, [2, 7, 0.3], [3, 5]])
def test_pvalues_equal_a_brute_force_loop(n_neighbors):
    X, Y = _pair(36, 0, noise=3.0)
    B = 49
    est = TopologicalAlignmentSpectrum(n_neighbors=n_neighbors, n_permutations=B, random_state=4).fit(X, Y)
    observed = TopologicalAlignmentSpectrum(n_neighbors=n_neighbors).fit(X, Y).spectrum_
    np.testing.assert_allclose(est.spectrum_, observed, rtol=0, atol=1e-15)
    # refit on every permuted pairing, with the permutations the seed draws, and count per k
    exceed = np.zeros(observed.shape)
    for perm in draw_permutations(36, B, random_state=4):
        permuted = TopologicalAlignmentSpectrum(n_neighbors=n_neighbors).fit(X, Y[perm]).spectrum_
        exceed += permuted >= observed - 1e-12
    np.testing.assert_array_equal(est.pvalues_, (1 + exceed) / (1 + B))
    assert 0 < exceed.sum() < B * exceed.size  # neither all at the floor nor all 1: the count is tested
    # the peer the estimator used before: permuted Jaccard counted against the observed one
    PX = prepare_neighborhoods(X, n_neighbors)
    PY = prepare_neighborhoods(Y, n_neighbors, name="Y")
    old = permutation_pvalues(PX, PY, tas_spectrum(X, Y, n_neighbors).jaccard, B, 4)
    np.testing.assert_array_equal(est.pvalues_, old)


def test_spectrum_permutation_test_with_groups_and_workers():
    X, Y = _pair(40, 1, noise=2.0)
    groups = np.repeat(np.arange(4), 10)
    tas = TopologicalAlignmentSpectrum(n_neighbors=[1, 4, 12])
    res = permutation_test(tas, X, Y, n_permutations=39, groups=groups, random_state=2, statistic="spectrum")
    perms = draw_permutations(40, 39, groups=groups, random_state=2)
    for perm in perms:
        assert np.array_equal(groups[perm], groups)
    brute = np.array([tas.combine_spectrum(tas.prepare(X), tas.prepare(Y[perm])) for perm in perms])
    np.testing.assert_allclose(res.null_distribution, brute, rtol=0, atol=1e-15)
    assert res.null_distribution.shape == (39, 3)
    np.testing.assert_array_equal(res.pvalue, (1 + np.sum(brute >= res.statistic - 1e-12, axis=0)) / 40)
    np.testing.assert_allclose(res.pvalue_se, np.sqrt(res.pvalue * (1 - res.pvalue) / 39))
    two = permutation_test(tas, X, Y, n_permutations=39, groups=groups, random_state=2, statistic="spectrum",
                           n_jobs=2)
    np.testing.assert_array_equal(two.null_distribution, res.null_distribution)
    np.testing.assert_array_equal(two.pvalue, res.pvalue)


def _half_sample_loop(X, Y, ks, B, seed):
    # the half-samples bootstrap draws, and every full-sample k read at the same fraction of the rows
    rs = np.random.RandomState(seed)
    n = X.shape[0]
    values = []
    for _ in range(B):
        rows = np.sort(rs.permutation(n)[: n // 2])
        m = rows.size
        scaled = np.clip(np.round(ks * (m - 1) / (n - 1)), 1, m - 2).astype(int)
        res = tas_spectrum(X[rows], Y[rows], np.unique(scaled).tolist())
        values.append(res.tas[np.searchsorted(res.k, scaled)])
    return np.array(values)


def test_intervals_equal_a_half_sample_loop():
    X, Y = _pair(50, 3)
    nn = [2, 3, 9, 0.5]
    B = 40
    res = bootstrap(TopologicalAlignmentSpectrum(n_neighbors=nn), X, Y, n_resamples=B, random_state=5,
                    statistic="spectrum")
    full = tas_spectrum(X, Y, nn)
    np.testing.assert_allclose(res.statistic, full.tas, rtol=0, atol=1e-15)
    raw = _half_sample_loop(X, Y, full.k.astype(float), B, 5)
    expected = raw - raw.mean(axis=0) + full.tas  # recentred on the full-sample spectrum
    np.testing.assert_allclose(res.bootstrap_distribution, expected, rtol=0, atol=1e-12)
    low, high = np.quantile(expected, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(res.confidence_interval.low, low, atol=1e-12)
    np.testing.assert_allclose(res.confidence_interval.high, high, atol=1e-12)
    np.testing.assert_allclose(res.standard_error, np.std(expected, axis=0, ddof=1), atol=1e-12)
    # k = 2 and 3 land on the same half-sample size: the same resampled values, as the scale says
    np.testing.assert_array_equal(raw[:, 0], raw[:, 1])


def test_estimator_intervals_contain_the_spectrum_narrow_with_n_and_reproduce():
    widths = []
    for n in (60, 240):
        X, Y = _pair(n, 6)
        est = TopologicalAlignmentSpectrum(n_neighbors=[0.05, 0.2], n_resamples=99, random_state=0).fit(X, Y)
        assert np.all(est.ci_low_ <= est.spectrum_) and np.all(est.spectrum_ <= est.ci_high_)
        assert np.all(est.ci_low_ < est.ci_high_)
        widths.append(est.ci_high_ - est.ci_low_)
        again = TopologicalAlignmentSpectrum(n_neighbors=[0.05, 0.2], n_resamples=99, random_state=0).fit(X, Y)
        np.testing.assert_array_equal(again.ci_low_, est.ci_low_)
        np.testing.assert_array_equal(again.ci_high_, est.ci_high_)
    assert np.all(widths[1] < widths[0])
    X, Y = _pair(60, 6)
    narrow = TopologicalAlignmentSpectrum(n_neighbors=[0.05, 0.2], n_resamples=99, confidence_level=0.5,
                                          random_state=0).fit(X, Y)
    assert np.all(narrow.ci_high_ - narrow.ci_low_ < widths[0])
    one = bootstrap(TopologicalAlignmentSpectrum(n_neighbors=[3, 9]), X, Y, n_resamples=30, random_state=1,
                    statistic="spectrum")
    two = bootstrap(TopologicalAlignmentSpectrum(n_neighbors=[3, 9]), X, Y, n_resamples=30, random_state=1,
                    statistic="spectrum", n_jobs=2)
    np.testing.assert_array_equal(one.bootstrap_distribution, two.bootstrap_distribution)


def test_spectrum_table_and_refit():
    X, Y = _pair(40, 7)
    est = TopologicalAlignmentSpectrum(n_neighbors=[2, 0.5], n_permutations=19, n_resamples=20, random_state=0)
    df = est.spectrum(pd.DataFrame(X), Y)
    assert list(df.columns) == ["k", "tas", "jaccard", "chance", "p_value", "ci_low", "ci_high"]
    est.fit(X, Y)
    np.testing.assert_array_equal(est.ci_low_, df["ci_low"].to_numpy())
    np.testing.assert_array_equal(est.ci_high_, df["ci_high"].to_numpy())
    np.testing.assert_array_equal(est.pvalues_, df["p_value"].to_numpy())
    est.set_params(n_resamples=0, n_permutations=0).fit(X, Y)
    assert not hasattr(est, "ci_low_") and not hasattr(est, "pvalues_")
    assert "ci_low" not in est.spectrum(X, Y).columns


def test_spectrum_at_and_combine_spectrum():
    X, Y = _pair(30, 8)
    tas = TopologicalAlignmentSpectrum()
    full = tas_spectrum(X, Y)
    np.testing.assert_allclose(tas.combine_spectrum(tas.prepare(X), tas.prepare(Y, "Y")), full.tas, atol=1e-15)
    np.testing.assert_allclose(tas.spectrum_at(X, Y, [5, 2, 5]), full.tas[[4, 1, 4]], atol=1e-15)


def test_bad_input():
    X, Y = _pair(30, 9)
    with pytest.raises(ValueError, match="statistic='spectrum'"):
        permutation_test(CKAScorer(), X, Y, n_permutations=19, statistic="spectrum")
    with pytest.raises(ValueError, match="cv"):
        permutation_test(TopologicalAlignmentSpectrum(), X, Y, n_permutations=19, cv=3, statistic="spectrum")
    with pytest.raises(ValueError, match="method"):
        bootstrap(TopologicalAlignmentSpectrum(), X, Y, n_resamples=99, method="bca", statistic="spectrum")
    with pytest.raises(ValueError, match="statistic"):
        permutation_test(TopologicalAlignmentSpectrum(), X, Y, n_permutations=19, statistic="vector")
    for params in ({"n_resamples": -1}, {"confidence_level": 1.5}, {"confidence_level": 0}):
        with pytest.raises(InvalidParameterError, match=next(iter(params))):
            TopologicalAlignmentSpectrum(**params).fit(X, Y)


def test_interval_stays_in_the_score_range():
    # a perfect score: recentred half-sample values reach above 1, the interval may not
    from skalign.datasets import make_alignment_pair

    X, Y, _ = make_alignment_pair("jitter", random_state=0)
    tas = TopologicalAlignmentSpectrum(n_neighbors=124)
    res = bootstrap(tas, X, Y, n_resamples=99, random_state=0)
    assert res.statistic == pytest.approx(1.0)
    assert res.bootstrap_distribution.max() > 1.0  # the unclipped values do leave the range
    assert -1.0 <= res.confidence_interval.low <= res.confidence_interval.high <= 1.0
    est = TopologicalAlignmentSpectrum(n_neighbors=[10, 124], n_resamples=99, random_state=0).fit(X, Y)
    assert np.all(est.ci_high_ <= 1.0) and np.all(est.ci_low_ >= -1.0)


def test_metadata_per_metric():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(30, 3))
    Y = X + rng.normal(size=(30, 3))
    for metric in ("euclidean", "sqeuclidean", "cosine", "ip", "precomputed"):
        meta = TopologicalAlignmentSpectrum(metric=metric).metadata()
        assert meta["distinct_rows"] is True
        assert ("translation" in meta["invariances"]) == (metric in ("euclidean", "sqeuclidean"))
    shift = 5.0 * np.ones(3)
    for metric in ("euclidean", "cosine"):
        tas = TopologicalAlignmentSpectrum(n_neighbors=[3, 8], metric=metric)
        moved = tas.fit(X + shift, Y).spectrum_
        same = np.allclose(moved, tas.fit(X, Y).spectrum_)
        assert same == ("translation" in tas.metadata()["invariances"])
