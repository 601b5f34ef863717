"""The ground-floor helpers of skalign._array_api, against NumPy and exact arithmetic."""

import math

import numpy as np
import pytest

from skalign._array_api import (
    acc_dtype,
    centre,
    get_namespace,
    is_numpy_namespace,
    ldexp,
    matmul,
    pow2_exponent,
    sq_sum,
    to_numpy,
)


def test_numpy_namespace_returns_plain_arrays():
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    xp = get_namespace(X)
    assert is_numpy_namespace(xp) and acc_dtype(xp, X) == np.float64
    C = centre(X)
    assert type(C) is np.ndarray and C.dtype == np.float32
    np.testing.assert_allclose(C, X - X.astype(np.float64).mean(0), rtol=0, atol=1e-6)
    for axis in (None, 0, 1):
        np.testing.assert_allclose(sq_sum(X, axis=axis), (X.astype(np.float64) ** 2).sum(axis=axis), rtol=1e-12)
    np.testing.assert_array_equal(matmul(X, X.T.astype(np.float64)), X.astype(np.float64) @ X.T.astype(np.float64))


@pytest.mark.parametrize("scale", [1e-310, 1e-300, 1e-150, 1.0, 1e150, 1e300, 1.7e308])
def test_pow2_round_trip_is_exact(scale):
    X = np.random.default_rng(1).uniform(-1, 1, size=(6, 4)) * scale
    e = pow2_exponent(X)
    Z = ldexp(X, -e)
    assert 0.5 <= np.abs(Z).max() < 1.0
    np.testing.assert_array_equal(ldexp(Z, e), X)
    # against the definition: max|X| = m 2^e with 1/2 <= m < 1
    assert e == math.frexp(float(np.abs(X).max()))[1]


def test_pow2_extreme_leaves_ordinary_data_alone_and_stays_normal():
    X = np.random.default_rng(2).normal(size=(4, 4))
    assert pow2_exponent(X, when="extreme") == 0
    assert pow2_exponent(X * 1e70, when="extreme") == 0  # about 2^235 <= 2^(1024/4)
    assert pow2_exponent(X * 1e200, when="extreme") != 0
    tiny = np.full((2, 2), 5e-324)  # the smallest subnormal: its exponent is clipped to stay normal
    e = pow2_exponent(tiny, when="extreme")
    assert e == 8 - 1024 and np.isfinite(math.ldexp(1.0, -e))
    f32 = np.full((2, 2), 1e-40, dtype=np.float32)
    assert math.frexp(1e-40)[1] < 8 - 128  # float32: clipped so that 2**120 stays normal
    assert pow2_exponent(f32, when="extreme") == 8 - 128


def test_pow2_per_column():
    X = np.array([[1e300, 2.0, 0.0], [-3e299, 0.25, 0.0]])
    e = pow2_exponent(X, axis=0)
    np.testing.assert_array_equal(e, [math.frexp(1e300)[1], 2, 0])
    Z = ldexp(X, -e)
    np.testing.assert_array_equal(ldexp(Z, e), X)
    with pytest.raises(ValueError, match="axis"):
        pow2_exponent(X, axis=1)


def test_other_namespace_stays_in_its_library():
    strict = pytest.importorskip("array_api_strict")
    A = strict.asarray(np.arange(6.0).reshape(3, 2) * 1e-300)
    xp = get_namespace(A)
    assert not is_numpy_namespace(xp)
    e = pow2_exponent(A)
    Z = ldexp(A, -e)
    assert type(Z) is type(A)
    np.testing.assert_array_equal(to_numpy(ldexp(Z, e)), np.arange(6.0).reshape(3, 2) * 1e-300)
