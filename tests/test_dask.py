"""Linear CKA without a centred copy, and the d x d statistics of Dask arrays.

The uncentred route (XᵀY - nμₓμᵧᵀ) and the chunked Dask sums are both checked
against brute force: explicit centring and n x n Gram matrices.
"""

import numpy as np
import pytest

from skalign.kernels import cka, hsic, prepare_cka


def _brute_cka(X, Y, debiased=False):
    """CKA from n x n Gram matrices of explicitly centred data (Kornblith et al. 2019)."""
    n = X.shape[0]
    # centring first changes neither estimator (HKH is the Gram matrix of the centred
    # data; the unbiased one ignores a_i + a_j + c) and keeps the oracle itself accurate
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    K = X @ X.T
    L = Y @ Y.T
    if not debiased:
        H = np.eye(n) - 1.0 / n
        Kc, Lc = H @ K @ H, H @ L @ H
        return np.vdot(Kc, Lc) / np.sqrt(np.vdot(Kc, Kc) * np.vdot(Lc, Lc))

    def u(A, B):
        A, B = A.copy(), B.copy()
        np.fill_diagonal(A, 0)
        np.fill_diagonal(B, 0)
        one = np.ones(n)
        return (
            np.trace(A @ B)
            + (one @ A @ one) * (one @ B @ one) / ((n - 1) * (n - 2))
            - 2.0 / (n - 2) * (one @ A @ B @ one)
        )

    return u(K, L) / np.sqrt(u(K, K) * u(L, L))


def _pair(rng, n, dx, dy, offset):
    X = rng.normal(size=(n, dx)) + offset * rng.choice([-1.0, 1.0], size=dx)
    Y = np.tanh(X[:, : min(dx, dy)] @ rng.normal(size=(min(dx, dy), dy))) + rng.normal(size=(n, dy))
    return X, Y


@pytest.mark.parametrize("offset", [0.0, 0.5, 1.9, 3.0, 1e3])
@pytest.mark.parametrize("debiased", [False, True])
def test_uncentred_products_match_explicit_centring(offset, debiased):
    rng = np.random.default_rng(3)
    X, Y = _pair(rng, 300, 12, 9, offset)
    expect = _brute_cka(X, Y, debiased)
    assert cka(X, Y, debiased=debiased) == pytest.approx(expect, abs=1e-12)
    # a partner on the other route: the mixed cross term
    assert cka(X, Y + 50.0, debiased=debiased) == pytest.approx(expect, abs=1e-12)
    assert cka(X + 50.0, Y, debiased=debiased) == pytest.approx(expect, abs=1e-12)


def test_the_route_follows_the_guard():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 6))
    assert prepare_cka(X).mean is not None  # means far below the spread: no copy
    assert prepare_cka(X).features is X
    assert prepare_cka(X + 3.0).mean is None  # |mean| > 2 sigma: centred
    assert prepare_cka(X.astype(np.float32)).mean is None  # float32 is always centred
    X[:, 0] = 7.0  # one constant column with a mean: centred (its mean dominates)
    assert prepare_cka(X).mean is None


@pytest.mark.parametrize("scale", [1e-140, 1e-60, 1e60, 1e140])
def test_uncentred_route_is_free_of_scale(scale):
    rng = np.random.default_rng(5)
    X, Y = _pair(rng, 200, 8, 8, 0.5)
    assert cka(scale * X, Y) == pytest.approx(_brute_cka(X, Y), abs=1e-12)
    # HSIC is quadratic in each argument
    assert hsic(scale * X, Y / scale) == pytest.approx(hsic(X, Y), rel=1e-11)


def test_permuted_prepared_uncentred_representation():
    rng = np.random.default_rng(6)
    X, Y = _pair(rng, 120, 5, 4, 0.2)
    perm = rng.permutation(120)
    PX = prepare_cka(X).permute(perm)
    from skalign.kernels import combine_cka

    assert combine_cka(PX, prepare_cka(Y)) == pytest.approx(_brute_cka(X[perm], Y), abs=1e-12)


# ----------------------------------------------------------------------------- Dask arrays
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as c:
        yield c


@pytest.mark.parametrize("offset", [0.0, 3.0, 1e4])
@pytest.mark.parametrize("debiased", [False, True])
def test_dask_cka_equals_in_memory(client, offset, debiased):
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(7)
    X, Y = _pair(rng, 257, 11, 6, offset)
    # small, uneven chunks, and different ones for X and Y
    Xd = da.from_array(X, chunks=(40, 5))
    Yd = da.from_array(Y, chunks=(64, 6))
    expect = cka(X, Y, debiased=debiased)
    assert cka(Xd, Yd, debiased=debiased) == pytest.approx(expect, abs=1e-10)
    assert cka(Xd, Y, debiased=debiased) == pytest.approx(expect, abs=1e-10)  # one side in memory
    assert cka(Xd, Yd, debiased=debiased) == pytest.approx(_brute_cka(X, Y, debiased), abs=1e-10)


def test_dask_cka_is_lazy_and_free_of_scale(client):
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(8)
    X, Y = _pair(rng, 120, 7, 5, 0.5)
    Xd = da.from_array(X, chunks=(25, 7)) * 1e200  # a lazy expression: never computed whole
    assert cka(Xd, da.from_array(Y * 1e-200, chunks=30)) == pytest.approx(_brute_cka(X, Y), abs=1e-10)


def test_dask_errors_name_the_argument(client):
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(9)
    X = da.from_array(rng.normal(size=(50, 4)), chunks=10)
    with pytest.raises(ValueError, match="same samples"):
        cka(X, da.from_array(rng.normal(size=(40, 4)), chunks=10))
    with pytest.raises(ValueError, match="Y has zero variance"):
        cka(X, da.ones((50, 3), chunks=10))
    bad = rng.normal(size=(50, 4))
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Y contains NaN"):
        cka(X, da.from_array(bad, chunks=10))
    with pytest.raises(ValueError, match="kernel='linear'"):
        cka(X, X, kernel="rbf")
    with pytest.raises(ValueError, match="X must be a 2-D"):
        cka(X[:, 0], X)


def test_zarr_store_through_dask(client, tmp_path):
    da = pytest.importorskip("dask.array")
    pytest.importorskip("zarr", reason="zarr is not installed")
    rng = np.random.default_rng(10)
    X, Y = _pair(rng, 200, 6, 5, 1.0)
    da.from_array(X, chunks=(50, 6)).to_zarr(str(tmp_path / "x.zarr"))
    Xz = da.from_zarr(str(tmp_path / "x.zarr"))
    assert cka(Xz, Y) == pytest.approx(cka(X, Y), abs=1e-10)


# ----------------------------------------------------------------------------- shape metrics and ridge
from skalign.regression import fit_ridge, fit_ridge_pair, ridge_r2, ridge_regression_score  # noqa: E402
from skalign.shape import (  # noqa: E402
    fit_shape_pair, fit_shape_transform, prepare_shape, procrustes_score, shape_distance, transfer_shape_alignment,
)

OFFSET = 1e6


def _offset_pair(rng, n=257, dx=7, dy=6, offset=OFFSET):
    """Data with column offsets of ``offset`` times the spread, and the offsets themselves.

    ``X - ox`` is exact (both terms within a factor of two), so the in-memory
    scores of the shifted data are an oracle free of the offset's rounding.
    """
    base = rng.normal(size=(n, dx)) * rng.uniform(0.5, 2.0, dx)
    Yb = np.tanh(base[:, :5]) @ rng.normal(size=(5, dy)) + 0.5 * rng.normal(size=(n, dy))
    ox = offset * rng.choice([-1.0, 1.0], size=dx)
    oy = np.full(dy, 3.0 * offset)
    X, Y = base + ox, Yb + oy
    return X, Y, X - ox, Y - oy


def _chunked(X, Y):
    da = pytest.importorskip("dask.array")
    # small, uneven chunks, split across features too, and different rows for Y
    return da.from_array(X, chunks=(40, 4)), da.from_array(Y, chunks=(64, 6))


SHAPE_SETTINGS = [
    {}, {"alpha": 0.5}, {"alpha": 0.0}, {"width": "pca"}, {"alpha": 0.3, "width": "pca"},
    {"scale": False, "score_method": "euclidean"}, {"score_method": "euclidean"},
]


@pytest.mark.parametrize("kw", SHAPE_SETTINGS)
def test_dask_procrustes_equals_in_memory(client, kw):
    rng = np.random.default_rng(11)
    X, Y, X0, Y0 = _offset_pair(rng)
    Xd, Yd = _chunked(X, Y)
    oracle = procrustes_score(X0, Y0, **kw)
    got = procrustes_score(Xd, Yd, **kw)
    assert got == pytest.approx(procrustes_score(X, Y, **kw), abs=1e-10)
    # the per-block centring loses no digit to the offset
    assert got == pytest.approx(oracle, abs=1e-12)
    assert procrustes_score(Xd, Y, **kw) == pytest.approx(oracle, abs=1e-12)  # one side in memory
    assert shape_distance(Xd, Yd, **kw) == pytest.approx(shape_distance(X, Y, **kw), abs=1e-10)


@pytest.mark.parametrize("kw", [{"center": False}, {"center": False, "alpha": 0.5},
                                {"center": False, "scale": False, "score_method": "euclidean"}])
def test_dask_procrustes_without_centring(client, kw):
    rng = np.random.default_rng(12)
    _, _, X, Y = _offset_pair(rng)
    X = X + 0.3  # a mean the uncentred shape keeps
    Xd, Yd = _chunked(X, Y)
    assert procrustes_score(Xd, Yd, **kw) == pytest.approx(procrustes_score(X, Y, **kw), abs=1e-12)


@pytest.mark.parametrize("kw", [{}, {"alpha": 0.5}, {"alpha": 0.2, "width": "pca"}])
def test_dask_held_out_shape_alignment(client, kw):
    rng = np.random.default_rng(13)
    X, Y, X0, Y0 = _offset_pair(rng, n=300)
    Xd, Yd = _chunked(X, Y)
    tx, ty, Q, fitted = fit_shape_pair(X0[:200], Y0[:200], **kw)
    expect = transfer_shape_alignment(tx, ty, Q, X0[200:], Y0[200:])
    txd, tyd, Qd, fitted_d = fit_shape_pair(Xd[:200], Yd[:200], **kw)
    assert fitted_d.cosine() == pytest.approx(fitted.cosine(), abs=1e-12)
    got = transfer_shape_alignment(txd, tyd, Qd, Xd[200:], Yd[200:])
    # the training mean, applied to new rows, is a float64 vector near the offset: its
    # rounding (eps x 1e6) moves the held-out numbers by a few 1e-12
    assert got.cosine() == pytest.approx(expect.cosine(), abs=1e-10)
    assert got.euclidean() == pytest.approx(expect.euclidean(), abs=1e-10)
    # in-memory maps score Dask rows, and Dask-learned maps score in-memory rows
    tx, ty, Q, _ = fit_shape_pair(X[:200], Y[:200], **kw)
    ref = transfer_shape_alignment(tx, ty, Q, X[200:], Y[200:]).cosine()
    assert transfer_shape_alignment(tx, ty, Q, Xd[200:], Yd[200:]).cosine() == pytest.approx(ref, abs=1e-10)
    assert transfer_shape_alignment(txd, tyd, Qd, X[200:], Y[200:]).cosine() == pytest.approx(ref, abs=1e-10)


def test_dask_shape_transform_equals_in_memory(client):
    rng = np.random.default_rng(14)
    X, _, X0, _ = _offset_pair(rng)
    Xd, _ = _chunked(X, X)
    t = fit_shape_transform(X0, alpha=0.5, n_components=4)
    td = fit_shape_transform(Xd, alpha=0.5, n_components=4)
    assert td.factor == pytest.approx(t.factor, rel=1e-12)
    # the columns are eigenvectors times weights: equal up to their signs
    np.testing.assert_allclose(np.abs(td.matrix), np.abs(t.matrix), rtol=0, atol=1e-10 * np.abs(t.matrix).max())
    assert np.allclose(td.mean, X.mean(axis=0), rtol=1e-15, atol=0)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_dask_shape_and_ridge_at_extreme_magnitudes(client, scale):
    rng = np.random.default_rng(15)
    _, _, X, Y = _offset_pair(rng, n=200)
    Xd, Yd = _chunked(X * scale, Y)
    kw = {"alpha": 0.5}
    assert procrustes_score(Xd, Yd, **kw) == pytest.approx(procrustes_score(X, Y, **kw), abs=1e-12)
    d = shape_distance(Xd, Yd, scale=False, score_method="euclidean")
    assert d == pytest.approx(shape_distance(X * scale, Y, scale=False, score_method="euclidean"), rel=1e-10)
    expect = ridge_regression_score(X[:150], Y[:150], X[150:], Y[150:])
    assert ridge_regression_score(Xd[:150], Yd[:150], Xd[150:], Yd[150:]) == pytest.approx(expect, abs=1e-10)


RIDGE_SETTINGS = [
    {}, {"symmetric": True}, {"alpha_per_target": True}, {"multioutput": "uniform_average"},
    {"score_method": "pearson"}, {"score_method": "pearson", "symmetric": True, "multioutput": "uniform_average"},
]


@pytest.mark.parametrize("kw", RIDGE_SETTINGS)
def test_dask_ridge_held_out_equals_in_memory(client, kw):
    rng = np.random.default_rng(16)
    X, Y, X0, Y0 = _offset_pair(rng, n=300, dx=8)
    Xd, Yd = _chunked(X, Y)
    tr, te = slice(0, 200), slice(200, None)
    oracle = ridge_regression_score(X0[tr], Y0[tr], X0[te], Y0[te], **kw)
    got = ridge_regression_score(Xd[tr], Yd[tr], Xd[te], Yd[te], **kw)
    assert got == pytest.approx(ridge_regression_score(X[tr], Y[tr], X[te], Y[te], **kw), abs=1e-10)
    assert got == pytest.approx(oracle, abs=1e-10)
    # in-sample, and one of the pair in memory
    assert ridge_regression_score(Xd[tr], Yd[tr], **kw) == pytest.approx(
        ridge_regression_score(X0[tr], Y0[tr], **kw), abs=1e-10)
    assert ridge_regression_score(X[tr], Y[tr], Xd[te], Y[te], **kw) == pytest.approx(oracle, abs=1e-10)


def test_dask_ridge_leave_one_out_against_refits(client):
    """The penalty and best_score_ of the Dask fit against explicit leave-one-out refits."""
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(17)
    X, Y, _, _ = _offset_pair(rng, n=40, dx=5, dy=3, offset=10.0)
    Xd, Yd = _chunked(X, Y)
    alphas = (1e-3, 1e-1, 1.0, 10.0)
    model = fit_ridge(Xd, Yd, alphas=alphas)
    scale = np.sum((X - X.mean(axis=0)) ** 2) / X.shape[1]

    def loo(alpha):
        err = [Y[i] - Ridge(alpha=alpha).fit(np.delete(X, i, 0), np.delete(Y, i, 0)).predict(X[i:i + 1])[0]
               for i in range(len(X))]
        return -np.mean(np.square(err))

    scores = [loo(a * scale) for a in alphas]
    best = int(np.argmax(scores))
    assert model.relative_alpha_ == pytest.approx(alphas[best], rel=1e-12)
    assert model.best_score_ == pytest.approx(scores[best], rel=1e-10)
    ref = Ridge(alpha=alphas[best] * scale).fit(X, Y)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-10)
    # raw per-column R² of new rows against scikit-learn's r2_score
    from sklearn.metrics import r2_score

    Xn, Yn, _, _ = _offset_pair(np.random.default_rng(18), n=30, dx=5, dy=3, offset=10.0)
    raw = ridge_r2(model, _chunked(Xn, Yn)[0], Yn, multioutput="raw_values")
    np.testing.assert_allclose(raw, r2_score(Yn, model.predict(Xn), multioutput="raw_values"), atol=1e-12)


_CALLS = []


def _count_block(block, block_info=None):
    # module level, so that it pickles by reference into the in-process worker
    _CALLS.append((tuple(block_info[0]["chunk-location"]), block.shape))
    return block


def test_dask_reads_each_chunk_once_per_pass(client):
    import collections

    rng = np.random.default_rng(19)
    X, Y, _, _ = _offset_pair(rng, n=300, dx=8)
    Xd, Yd = _chunked(X, Y)
    calls = _CALLS
    calls.clear()
    Xc = Xd.map_blocks(_count_block, dtype=Xd.dtype)  # records every block it hands on

    def reads():
        counts = collections.Counter(loc for loc, _ in calls)
        shapes = {shape for _, shape in calls}
        calls.clear()
        # no block larger than a chunk, so the array is never materialised whole
        assert all(s[0] <= 40 and s[1] <= 4 for s in shapes)
        assert len(counts) == Xd.npartitions
        return set(counts.values())

    assert procrustes_score(Xc, Yd, alpha=0.5) == pytest.approx(procrustes_score(X, Y, alpha=0.5), abs=1e-10)
    assert reads() == {1}
    tx, ty, Q, _ = fit_shape_pair(Xc, Yd)
    assert reads() == {1}
    transfer_shape_alignment(tx, ty, Q, Xc, Yd)
    assert reads() == {1}
    models = fit_ridge_pair(Xc, Yd, symmetric=True)
    assert reads() == {2}  # the moments, then the leave-one-out errors
    ridge_r2(models[0], Xc, Yd)
    assert reads() == {1}
    procrustes_score(Xc * 1e200, Yd)
    assert reads() == {2}  # the power of two is known only after the first pass
    from skalign._dask import dask_linear_statistics

    dask_linear_statistics(Xc, Yd, passes=1)
    assert reads() == {1}
    dask_linear_statistics(Xc, Yd)
    assert reads() == {2}


def test_dask_shape_and_ridge_errors_name_the_argument(client):
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(20)
    X = da.from_array(rng.normal(size=(50, 4)), chunks=10)
    Y = da.from_array(rng.normal(size=(50, 3)), chunks=10)
    with pytest.raises(ValueError, match="same samples"):
        procrustes_score(X, Y[:40])
    with pytest.raises(ValueError, match="Y has zero variance"):
        procrustes_score(X, da.ones((50, 3), chunks=10))
    bad = rng.normal(size=(50, 4))
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="Y contains NaN or inf"):
        shape_distance(X, da.from_array(bad, chunks=10))
    with pytest.raises(ValueError, match="X must be a 2-D"):
        procrustes_score(X[:, 0], Y)
    with pytest.raises(TypeError, match="prepare_shape"):
        prepare_shape(X)
    tx, ty, Q, _ = fit_shape_pair(X, Y)
    with pytest.raises(ValueError, match="X has 3 features"):
        transfer_shape_alignment(tx, ty, Q, X[:, :3], Y)
    with pytest.raises(ValueError, match="cv=5"):
        fit_ridge_pair(X, Y, cv=5)
    with pytest.raises(ValueError, match="X_train contains NaN"):
        ridge_regression_score(da.from_array(bad, chunks=10), Y)
    with pytest.raises(ValueError, match="X_test has 3 features"):
        ridge_regression_score(X, Y, X[:, :3], Y)


def test_zarr_store_through_dask_for_shape_and_ridge(client, tmp_path):
    da = pytest.importorskip("dask.array")
    pytest.importorskip("zarr", reason="zarr is not installed")
    rng = np.random.default_rng(21)
    X, Y, _, _ = _offset_pair(rng, n=200, dx=6, dy=5, offset=100.0)
    da.from_array(X, chunks=(45, 6)).to_zarr(str(tmp_path / "x.zarr"))
    da.from_array(Y, chunks=(60, 5)).to_zarr(str(tmp_path / "y.zarr"))
    Xz, Yz = da.from_zarr(str(tmp_path / "x.zarr")), da.from_zarr(str(tmp_path / "y.zarr"))
    assert procrustes_score(Xz, Yz, alpha=0.5) == pytest.approx(procrustes_score(X, Y, alpha=0.5), abs=1e-10)
    assert ridge_regression_score(Xz[:150], Yz[:150], Xz[150:], Yz[150:]) == pytest.approx(
        ridge_regression_score(X[:150], Y[:150], X[150:], Y[150:]), abs=1e-10)


@pytest.mark.slow
def test_dask_shape_and_ridge_on_a_process_cluster():
    distributed = pytest.importorskip("dask.distributed")
    rng = np.random.default_rng(22)
    X, Y, _, _ = _offset_pair(rng, n=240, dx=6, dy=5, offset=100.0)
    Xd, Yd = _chunked(X, Y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster):
        got_shape = procrustes_score(Xd, Yd, alpha=0.5)
        got_ridge = ridge_regression_score(Xd[:160], Yd[:160], Xd[160:], Yd[160:], symmetric=True)
    assert got_shape == pytest.approx(procrustes_score(X, Y, alpha=0.5), abs=1e-10)
    assert got_ridge == pytest.approx(ridge_regression_score(X[:160], Y[:160], X[160:], Y[160:], symmetric=True),
                                      abs=1e-10)


@pytest.mark.parametrize("offset", [0.0, 3.0, 1e4, 1e6])
@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("scale", [1.0, 1e-150, 1e150])
def test_dask_cka_in_one_pass(client, monkeypatch, offset, debiased, scale):
    """CKA from the one-pass statistics (moments of each block moved to the merged mean) against brute force."""
    import functools

    import skalign._dask
    import skalign.kernels

    monkeypatch.setattr(skalign.kernels, "dask_linear_statistics",
                        functools.partial(skalign._dask.dask_linear_statistics, passes=1))
    rng = np.random.default_rng(23)
    X, Y, X0, Y0 = _offset_pair(rng, n=257, dx=11, dy=6, offset=offset)
    Xd, Yd = _chunked(X * scale, Y)
    assert cka(Xd, Yd, debiased=debiased) == pytest.approx(_brute_cka(X0, Y0, debiased), abs=1e-10)
    assert cka(Xd, Yd, debiased=debiased) == pytest.approx(cka(X0, Y0, debiased=debiased), abs=1e-10)
