import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from skalign._validation import (
    RepresentationWarning,
    check_n_neighbors,
    check_nonconstant,
    check_paired,
    check_representation,
    pair_warnings_off,
    unique_rows,
    warn_duplicates,
    warn_pair_shapes,
)


def test_dtypes_are_kept_or_promoted(rng):
    X32 = rng.normal(size=(5, 3)).astype(np.float32)
    assert check_representation(X32).dtype == np.float32
    assert check_representation(X32.astype(np.float64)).dtype == np.float64
    assert check_representation(np.arange(15).reshape(5, 3)).dtype == np.float64
    assert check_representation(np.ones((5, 3), dtype=bool)).dtype == np.float64
    assert check_representation(X32.astype(np.float16)).dtype == np.float32


def test_dataframe_feature_names(rng):
    df = pd.DataFrame(rng.normal(size=(4, 2)), columns=["a", "b"])
    X, names = check_representation(df, return_feature_names=True)
    assert isinstance(X, np.ndarray) and list(names) == ["a", "b"]
    np.testing.assert_array_equal(X, df.to_numpy())


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_non_finite_named(rng, bad, word):
    Y = rng.normal(size=(6, 2))
    Y[2, 1] = bad
    with pytest.raises(ValueError, match=rf"Y contains 1 {word}"):
        check_paired(rng.normal(size=(6, 3)), Y)


def test_large_finite_values_pass():
    # the fast finite check sums the array; an overflowing sum must not be taken for inf
    X = np.full((4, 2), 1e308)
    assert check_representation(X).shape == (4, 2)


def test_ndim_message_shows_shape():
    with pytest.raises(ValueError, match=r"X must be a 2-D array.*got shape \(7,\)"):
        check_representation(np.arange(7.0))
    with pytest.raises(ValueError, match=r"got shape \(2, 3, 4\)"):
        check_representation(np.zeros((2, 3, 4)))


def test_row_mismatch_gives_both_shapes(rng):
    with pytest.raises(ValueError, match=r"X has shape \(5, 3\) and Y has shape \(6, 2\)"):
        check_paired(rng.normal(size=(5, 3)), rng.normal(size=(6, 2)))


def test_too_few_samples():
    with pytest.raises(ValueError, match="X has 3 sample.*at least 4"):
        check_representation(np.zeros((3, 2)), min_samples=4)


@pytest.mark.parametrize(
    "X, exc, word",
    [
        (sp.csr_matrix(np.eye(3)), TypeError, "sparse"),
        (np.ones((3, 2), dtype=complex), ValueError, "Complex data not supported"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), TypeError, "object"),
        (pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}), TypeError, "object"),
    ],
)
def test_unsupported_types(X, exc, word):
    with pytest.raises(exc, match=word):
        check_representation(X, name="Y")


def test_missing_second_representation(rng):
    with pytest.raises(ValueError, match="Y is None"):
        check_paired(rng.normal(size=(5, 2)), None)


def test_zero_features():
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(4, 0\)\)"):
        check_representation(np.zeros((4, 0)))


def test_nonconstant():
    with pytest.raises(ValueError, match="Y has zero variance"):
        check_nonconstant(np.ones((5, 3)), "Y")
    check_nonconstant(np.arange(10.0).reshape(5, 2))


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_nonconstant_is_free_of_scale(rng, scale):
    X = rng.normal(size=(6, 3)) * scale
    check_nonconstant(X)  # neither underflow nor overflow makes varied data look constant
    with pytest.raises(ValueError, match="zero variance"):
        check_nonconstant(np.full((6, 3), scale))


def test_n_neighbors_range():
    assert check_n_neighbors(3, 10) == 3
    with pytest.raises(ValueError, match=r"allowed range \[1, 9\] for n_samples=10"):
        check_n_neighbors(10, 10)
    with pytest.raises(TypeError):
        check_n_neighbors(2.5, 10)


def test_duplicates_warn(rng):
    X = rng.normal(size=(5, 2))
    X = np.vstack([X, X[:2]])
    with pytest.warns(UserWarning, match="2 duplicated row"):
        assert warn_duplicates(X) == 2


def test_unique_rows_first_copies_and_labels(rng):
    base = rng.normal(size=(4, 3))
    X = base[[2, 0, 2, 1, 3, 0, 2]]
    first, inverse = unique_rows(X)
    # independent answer: first occurrence of each distinct row, by a Python dict
    seen = {}
    for i, row in enumerate(map(tuple, X)):
        seen.setdefault(row, i)
    assert sorted(first.tolist()) == sorted(seen.values())
    np.testing.assert_array_equal(X[first[inverse]], X)


# ------------------------------------------------------------------ DataFrames as users hold them
def test_dataframe_extension_and_bool_columns_are_numbers(rng):
    X = rng.normal(size=(6, 4))
    df = pd.DataFrame(
        {
            "flag": X[:, 0] > 0,
            "f": pd.Series(X[:, 1], dtype="Float64"),
            "i": pd.Series(np.arange(6), dtype="Int64"),
            "p": pd.Series(X[:, 3], dtype="double[pyarrow]"),
            "s": pd.arrays.SparseArray([0.0, 1.5, 0.0, 0.0, 2.0, 0.0]),
        }
    )
    sparse = [0.0, 1.5, 0.0, 0.0, 2.0, 0.0]
    expected = np.column_stack([(X[:, 0] > 0).astype(float), X[:, 1], np.arange(6.0), X[:, 3], sparse])
    got, names = check_representation(df, return_feature_names=True)
    assert got.dtype == np.float64 and list(names) == ["flag", "f", "i", "p", "s"]
    np.testing.assert_array_equal(got, expected)
    # float32 columns stay float32, as for arrays
    assert check_representation(pd.DataFrame(X.astype(np.float32)).astype("float[pyarrow]")).dtype == np.float32


def test_dataframe_missing_values_name_the_column(rng):
    df = pd.DataFrame({"a": rng.normal(size=5), "b": pd.array([1, 2, None, 4, 5], dtype="Int64")})
    with pytest.raises(ValueError, match=r"Y column 'b' has 1 missing value\(s\) \(pd.NA\)"):
        check_representation(df, name="Y")
    df = pd.DataFrame({"a": rng.normal(size=5), "b": [1.0, np.nan, 3.0, 4.0, np.nan]})
    with pytest.raises(ValueError, match=r"X contains 2 NaN value\(s\) \(in column 'b'\)"):
        check_representation(df)


@pytest.mark.parametrize(
    "column, word",
    [(["x", "y", "z"], "(object|str)"), (pd.Categorical([1, 2, 1]), "category"), (pd.date_range("2020", periods=3), "datetime")],
)
def test_dataframe_non_numeric_column_is_named(column, word):
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "label": column})
    with pytest.raises(TypeError, match=rf"X column 'label' has dtype {word}"):
        check_representation(df)


def test_high_dimensional_message_says_how_to_reduce():
    with pytest.raises(ValueError, match=r"\(n, t, d\).*PoolTokens.*TokensAsSamples.*Paired.*X\.mean\(axis=1\)"):
        check_representation(np.zeros((4, 3, 2)))
    with pytest.raises(ValueError, match=r"\(n, c, h, w\).*PoolSpatial.*Flatten.*Paired.*Y\.mean\(axis=\(2, 3\)\)"):
        check_representation(np.zeros((4, 3, 3, 2)), name="Y")


# ------------------------------------------------------------------ shapes that suggest a mistake
def test_transposed_input_gets_a_hint(rng):
    with pytest.raises(ValueError, match=r"X\.T has shape \(30, 8\) and would match Y"):
        check_paired(rng.normal(size=(8, 30)), rng.normal(size=(30, 5)))


def test_pair_shape_warnings(rng):
    with pytest.warns(RepresentationWarning, match="fewer rows .*pass X.T and Y.T"):
        check_paired(rng.normal(size=(20, 64)), rng.normal(size=(20, 64)))
    with pytest.warns(RepresentationWarning, match="only 5 samples"):
        check_paired(rng.normal(size=(5, 2)), rng.normal(size=(5, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_paired(rng.normal(size=(20, 64)), rng.normal(size=(20, 30)))  # wide, but not the same width
        check_paired(rng.normal(size=(11, 2)), rng.normal(size=(11, 3)))
        with pair_warnings_off():
            check_paired(rng.normal(size=(5, 2)), rng.normal(size=(5, 3)))
        warn_pair_shapes((20, 64), (20, 64), transposed=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_large_arrays_refuse_non_finite_values_anywhere(dtype, order, bad):
    # arrays above 65,536 entries are screened by a BLAS product with ones
    rng = np.random.default_rng(0)
    for row, col in [(0, 0), (40_000, 3), (69_999, 7)]:
        X = np.asarray(rng.normal(size=(70_000, 8)), dtype=dtype, order=order)
        X[row, col] = bad
        with pytest.raises(ValueError, match=r"X contains 1 (NaN|inf)"):
            check_representation(X)
    # finite data whose sum overflows pass
    big = np.full((70_000, 2), np.finfo(dtype).max / 4, dtype=dtype, order=order)
    assert check_representation(big).shape == (70_000, 2)


def test_zero_variance_screen_equals_column_ranges():
    from skalign._validation import check_nonconstant

    rng = np.random.default_rng(1)
    cases = [np.full((500, 3), 0.1), np.zeros((2, 1)), np.ones((10_000, 4))]
    for n in (2, 9, 500, 40_000):
        for where in (1, n // 2, n - 1):
            X = np.full((n, 3), -2.5)
            X[where, rng.integers(3)] = np.nextafter(-2.5, 0)  # one row one ulp away
            cases.append(X)
    cases.append(np.array([[0.0, 1.0], [-0.0, 1.0]]))  # -0.0 == 0.0: constant
    for X in cases:
        constant = not np.any(X.max(axis=0) > X.min(axis=0))  # brute force: every column's range
        if constant:
            with pytest.raises(ValueError, match="zero variance"):
                check_nonconstant(X, "X")
        else:
            check_nonconstant(X, "X")
