"""Reductions of model tensors and the Paired meta-estimator, against direct NumPy."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skalign import CKAScorer, ProcrustesScorer
from skalign.estimators.paired import Paired
from skalign.preprocessing import Flatten, PoolSpatial, PoolTokens, TokensAsSamples
from skalign.reduction import flatten, padding_mask, pool_spatial, pool_tokens, tokens_as_samples


def _padded(seed=0, n=7, t=6, d=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, t, d))
    lengths = rng.integers(1, t + 1, size=n)
    for i, L in enumerate(lengths):
        X[i, L:] = np.nan
    return X, lengths


def test_pool_tokens_against_loops():
    X, lengths = _padded()
    for how in ("mean", "max", "first", "last"):
        got = pool_tokens(X, how)
        for i, L in enumerate(lengths):
            real = X[i, :L]
            want = {"mean": real.mean(0), "max": real.max(0), "first": real[0], "last": real[-1]}[how]
            np.testing.assert_allclose(got[i], want, rtol=1e-12, atol=0)


def test_padding_values_do_not_enter_pooling():
    X, lengths = _padded(1)
    Y = X.copy()
    # padding is NaN by definition; the result must not depend on the real tokens' row order
    # beyond what each pool reads, nor on how long the padding is
    longer = np.concatenate([X, np.full((X.shape[0], 3, X.shape[2]), np.nan)], axis=1)
    for how in ("mean", "max", "first", "last"):
        np.testing.assert_array_equal(pool_tokens(longer, how), pool_tokens(Y, how))


def test_tokens_as_samples_rows_and_groups():
    X, lengths = _padded(2)
    rows, groups = tokens_as_samples(X)
    assert rows.shape == (lengths.sum(), X.shape[2])
    np.testing.assert_array_equal(np.bincount(groups), lengths)
    np.testing.assert_array_equal(rows[: lengths[0]], X[0, : lengths[0]])
    t = TokensAsSamples().fit(X)
    np.testing.assert_array_equal(t.transform(X), rows)
    np.testing.assert_array_equal(t.groups(X), groups)


def test_nan_inside_a_token_or_an_empty_sequence_is_refused():
    X, _ = _padded(3)
    X[0, 0, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[0, 0\].*NaN"):
        pool_tokens(X)
    X, _ = _padded(3)
    X[2] = np.nan
    with pytest.raises(ValueError, match="no real token"):
        padding_mask(X)
    with pytest.raises(ValueError, match="NaN"):
        flatten(_padded(4)[0])


def test_pool_spatial_layouts():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(3, 4, 5, 6))  # (n, c, h, w)
    np.testing.assert_allclose(pool_spatial(A, "mean"), A.mean(axis=(2, 3)), rtol=1e-12)
    np.testing.assert_array_equal(pool_spatial(A, "max"), A.max(axis=(2, 3)))
    np.testing.assert_array_equal(pool_spatial(A, "flatten"), A.reshape(3, -1))
    last = np.moveaxis(A, 1, -1)  # (n, h, w, c)
    np.testing.assert_allclose(pool_spatial(last, "mean", channels_last=True), A.mean(axis=(2, 3)), rtol=1e-12)
    np.testing.assert_array_equal(pool_spatial(last, "flatten", channels_last=True), A.reshape(3, -1))
    np.testing.assert_array_equal(PoolSpatial("max").fit_transform(A), A.max(axis=(2, 3)))
    np.testing.assert_array_equal(Flatten().fit_transform(A), A.reshape(3, -1))


def test_transformers_pandas_output_and_width_check():
    X, _ = _padded(6)
    out = PoolTokens("last").set_output(transform="pandas").fit_transform(X)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == [f"pooltokens{j}" for j in range(4)]
    fitted = PoolTokens().fit(X)
    with pytest.raises(ValueError, match="features"):
        fitted.transform(np.zeros((3, 2, 5)))
    with pytest.raises(ValueError, match="how"):
        PoolTokens("median").fit(X)


# ----------------------------------------------------------------------------- Paired
def _pair(seed=0, n=120):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 4))
    X = Z @ rng.normal(size=(4, 6)) * [1, 2, 3, 4, 5, 80] + 0.2 * rng.normal(size=(n, 6))
    Y = Z @ rng.normal(size=(4, 5)) + 0.2 * rng.normal(size=(n, 5))
    return X, Y


def test_pipeline_preprocesses_x_only_paired_both():
    X, _ = _pair()
    assert make_pipeline(StandardScaler(), CKAScorer()).fit(X, X).score(X, X) < 0.99
    assert Paired(StandardScaler(), CKAScorer()).fit(X, X).score(X, X) == pytest.approx(1.0, abs=1e-12)


def test_paired_equals_manual_per_fold_preprocessing():
    X, Y = _pair(1)
    cv = KFold(4, shuffle=True, random_state=0)
    got = cross_val_score(Paired(PCA(3), ProcrustesScorer()), X, Y, cv=cv)
    want = []
    for tr, te in cv.split(X):
        px, py = PCA(3).fit(X[tr]), PCA(3).fit(Y[tr])
        s = ProcrustesScorer().fit(px.transform(X[tr]), py.transform(Y[tr]))
        want.append(s.score(px.transform(X[te]), py.transform(Y[te])))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_paired_modes_grid_search_clone_pickle():
    X, Y = _pair(2)
    sep = Paired((StandardScaler(), PCA(2)), CKAScorer(), preprocess="separate").fit(X, Y)
    want = CKAScorer().fit(StandardScaler().fit_transform(X), PCA(2).fit_transform(Y))
    assert sep.score(X, Y) == pytest.approx(want.score(StandardScaler().fit_transform(X), PCA(2).fit_transform(Y)))
    xo = Paired(StandardScaler(), CKAScorer(), preprocess="x").fit(X, Y)
    assert xo.score(X, Y) == pytest.approx(make_pipeline(StandardScaler(), CKAScorer()).fit(X, Y).score(X, Y))
    assert not xo.symmetric and Paired(StandardScaler(), CKAScorer()).symmetric
    gs = GridSearchCV(Paired(PCA(), ProcrustesScorer()), {"preprocessor__n_components": [1, 3]}, cv=3).fit(X, Y)
    assert gs.best_params_["preprocessor__n_components"] in (1, 3)
    est = pickle.loads(pickle.dumps(clone(sep).fit(X, Y)))
    assert est.score(X, Y) == pytest.approx(sep.score(X, Y))
    with pytest.raises(ValueError, match="preprocessor"):
        Paired(StandardScaler(), preprocess="separate").fit(X, Y)
    with pytest.raises(ValueError, match="same samples"):
        Paired(StandardScaler()).fit(X, Y[:-1])


def test_paired_pools_token_tensors_on_both_sides():
    X, _ = _padded(7, n=40, t=5, d=6)
    rng = np.random.default_rng(8)
    Y = X @ rng.normal(size=(6, 6))  # NaN padding stays NaN, real tokens are mapped linearly
    p = Paired(PoolTokens("mean"), CKAScorer()).fit(X, Y)
    want = CKAScorer().fit(pool_tokens(X), pool_tokens(Y)).score(pool_tokens(X), pool_tokens(Y))
    assert p.score(X, Y) == pytest.approx(want, rel=1e-12)


def test_alignment_matrix_reduces_token_tensors_through_paired():
    from skalign import alignment_matrix, pivot_alignment

    layers = {f"L{i}": _padded(10 + i, n=30, t=5, d=4)[0] for i in range(3)}
    # a plain scorer is handed 2-D layers only, with the reductions named
    with pytest.raises(ValueError, match="PoolTokens"):
        alignment_matrix(layers, scorer=CKAScorer())
    M = pivot_alignment(alignment_matrix(layers, scorer=Paired(PoolTokens("mean"), CKAScorer())))
    pooled = {k: pool_tokens(v) for k, v in layers.items()}
    for a in layers:
        for b in layers:
            want = CKAScorer().fit(pooled[a], pooled[b]).score(pooled[a], pooled[b])
            assert M.loc[a, b] == pytest.approx(want, rel=1e-12)
