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
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as c:
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
