"""Input validation shared by every skalign function and estimator.

One place decides what a representation is: a dense, finite, real 2-D array with
samples in rows. Errors name the argument and what was wrong with it, so a user
never meets a numpy traceback from deep inside a metric.
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers
import warnings

import numpy as np
import scipy.sparse as sp

__all__ = [
    "check_representation",
    "check_representation_xp",
    "check_paired",
    "warn_pair_shapes",
    "pair_warnings_off",
    "RepresentationWarning",
    "FEW_SAMPLES",
    "check_paired_on_host",
    "check_n_neighbors",
    "check_int",
    "check_homology_dimensions",
    "check_same_samples",
    "check_prepared_pair",
    "check_nonconstant",
    "check_column_ranges",
    "check_random_state",
    "unique_rows",
    "warn_duplicates",
]

from sklearn.utils import check_random_state  # re-exported: one import site for the package


def _feature_names(X):
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    return np.asarray([str(c) for c in columns], dtype=object)


def check_representation(
    X,
    *,
    name="X",
    min_samples=1,
    min_features=1,
    ndim=2,
    dtype_float=True,
    return_feature_names=False,
    allow_nan=False,
):
    """Validate one representation and return it as a float ndarray.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or pandas.DataFrame
        The representation. Integer and boolean input is converted to float64;
        float32 stays float32 and float64 stays float64 (float16 becomes float32).
        A DataFrame's columns (NumPy, nullable ``Float64``/``Int64``/``boolean``,
        pyarrow or sparse dtypes) are combined into one dtype, as scikit-learn's
        ``check_array`` does.
    name : str
        Name of the argument, used in error messages.
    min_samples : int
        Fewest rows the calling method needs.
    min_features : int
        Fewest columns the calling method needs.
    ndim : int or tuple of int
        Allowed numbers of dimensions (2 for paired representations; the cubical
        transformers allow 2, 3 and 4).
    dtype_float : bool
        Convert to a floating dtype as described above.
    return_feature_names : bool
        Also return the DataFrame's column names (or None).
    allow_nan : bool, default=False
        Let NaN through (inf is still refused): for token tensors whose padded
        positions are NaN rows, handed on to a reducer that checks them
        (:func:`skalign.reduction.padding_mask`).

    Returns
    -------
    X : ndarray
    feature_names : ndarray of str or None
        Only when ``return_feature_names`` is True.

    Raises
    ------
    TypeError
        Sparse matrices, complex, object or string dtype, or a non-array; a
        DataFrame column that is not numeric or boolean (named).
    ValueError
        Wrong number of dimensions (with how to reduce a 3-D or 4-D array), too
        few samples or features, NaN or inf, missing values (``pd.NA``) in a
        DataFrame column (named).
    """
    names = _feature_names(X)
    if sp.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix ({type(X).__name__}); skalign needs a dense "
            f"array. Convert it with {name}.toarray() if it fits in memory."
        )
    columns = None
    if _is_pandas(X):
        columns = list(X.columns) if hasattr(X, "columns") else None
        X = _pandas_to_array(X, name)
    elif hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        X = X.to_numpy()
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} could not be read as an array: {exc}") from None
    if arr.dtype.kind == "c":
        # ValueError with scikit-learn's wording, so its estimator checks recognise it
        raise ValueError(
            f"Complex data not supported: {name} has dtype {arr.dtype}; skalign needs real numbers."
        )
    if not _is_real_dtype(arr.dtype):
        raise TypeError(
            f"{name} has dtype {arr.dtype}; skalign needs real numbers "
            "(float or integer), not complex, object or string data."
        )
    allowed = (ndim,) if isinstance(ndim, numbers.Integral) else tuple(ndim)
    if arr.ndim not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        layout = "(n_samples, n_features)" if allowed == (2,) else "(n_samples, n_features, ...)"
        raise ValueError(
            f"{name} must be a {want} array {layout}; got shape {arr.shape}.{_reshape_hint(arr.ndim, allowed, name)}"
        )
    if dtype_float:
        if arr.dtype == np.float16:
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "biu":
            arr = arr.astype(np.float64)
    n = arr.shape[0]
    if n < min_samples:
        raise ValueError(
            f"{name} has {n} sample(s) but at least {min_samples} are needed; got shape {arr.shape}."
        )
    if arr.ndim >= 2 and int(np.prod(arr.shape[1:])) < min_features:
        raise ValueError(
            f"{name} has {int(np.prod(arr.shape[1:]))} feature(s) (shape={arr.shape}) while a "
            f"minimum of {min_features} is required."
        )
    if not allow_nan:
        _assert_finite(arr, name, columns)
    elif arr.dtype.kind == "f" and np.isinf(arr).any():
        # NaN may mark padded token positions (see skalign.reduction); inf never does
        raise ValueError(f"{name} contains {int(np.isinf(arr).sum())} inf value(s); remove them first.")
    if return_feature_names:
        return arr, names
    return arr


def _reshape_hint(got_ndim, allowed, name):
    """How to turn an array of ``got_ndim`` dimensions into one of the ``allowed`` ones."""
    if 2 not in allowed:
        return ""
    if got_ndim == 1:
        return (f" Reshape your data with {name}.reshape(-1, 1) for a single feature or "
                f"{name}.reshape(1, -1) for a single sample.")
    if got_ndim == 3:
        return (f" {name} has shape (n, t, d), one vector per token: reduce it with skalign.preprocessing "
                "- PoolTokens('mean'|'last'|'first'|'max') (NaN rows are padding), TokensAsSamples() or "
                "Flatten() - on both sides at once with skalign.Paired(PoolTokens(), scorer), or by hand, "
                f"e.g. {name}.mean(axis=1).")
    if got_ndim == 4:
        return (f" {name} has shape (n, c, h, w) or (n, h, w, c), one vector per spatial position: reduce it "
                "with skalign.preprocessing - PoolSpatial('mean'|'max'|'flatten', channels_last=...) or "
                "Flatten() - on both sides at once with skalign.Paired(PoolSpatial(), scorer), or by hand, "
                f"e.g. {name}.mean(axis=(2, 3)) for channels first.")
    if got_ndim > 4:
        return f" Flatten it to 2-D with {name}.reshape(len({name}), -1), one row per sample."
    return ""


def _is_pandas(X):
    return type(X).__module__.partition(".")[0] == "pandas" and hasattr(X, "dtypes")


def _pandas_to_array(X, name):
    """A pandas DataFrame (or Series) of numeric and boolean columns as one ndarray.

    As scikit-learn's ``check_array`` does, the columns' dtypes are combined into
    one NumPy dtype, so boolean, nullable (``Float64``, ``Int64``, ``boolean``)
    and pyarrow (``double[pyarrow]`` ...) columns are read as numbers rather than
    as the object array that ``DataFrame.to_numpy()`` makes of mixed dtypes.
    Missing values (``pd.NA``) and non-numeric columns are refused, naming the column.
    """
    from pandas.api.types import is_bool_dtype, is_extension_array_dtype, is_numeric_dtype

    if not hasattr(X, "columns"):  # a Series
        return _pandas_to_array(X.to_frame(), name)[:, 0]
    dtypes = list(X.dtypes)
    for col, dt in zip(X.columns, dtypes):
        if not (is_numeric_dtype(dt) or is_bool_dtype(dt)):
            raise TypeError(
                f"{name} column {col!r} has dtype {dt}; skalign needs real numbers "
                "(float, integer or boolean columns), not object, string, categorical or date data."
            )
    for j, (col, dt) in enumerate(zip(X.columns, dtypes)):
        # only extension columns can hold pd.NA; NaN in NumPy columns is caught as NaN below
        if is_extension_array_dtype(dt):
            n_missing = int(X.iloc[:, j].isna().sum())
            if n_missing:
                raise ValueError(
                    f"{name} column {col!r} has {n_missing} missing value(s) (pd.NA); remove or "
                    "impute them before comparing representations."
                )
    if not dtypes:
        return X.to_numpy(dtype=np.float64)
    target = np.result_type(*(_numpy_dtype(dt) for dt in dtypes))
    return X.to_numpy(dtype=target)


def _numpy_dtype(dtype):
    """The NumPy dtype of a pandas column dtype (masked, pyarrow and sparse ones included)."""
    for attr in ("numpy_dtype", "subtype"):  # masked and pyarrow dtypes; sparse ones
        inner = getattr(dtype, attr, None)
        if inner is not None:
            return np.dtype(inner)
    return np.dtype(dtype)


def _is_real_dtype(dtype):
    return dtype is not None and dtype.kind in "biuf"


def _sum_for_finiteness(arr):
    """A sum of every entry of ``arr``: NaN or inf in, NaN or inf out (or an overflow)."""
    if (
        arr.ndim == 2
        and arr.size >= 1 << 16
        and arr.dtype in (np.float32, np.float64)
        and (arr.flags.c_contiguous or arr.flags.f_contiguous)
    ):
        # BLAS's threaded matrix-vector product reads X once at memory speed, about twice
        # as fast as ndarray.sum; a product with ones propagates NaN and inf like the sum
        return (np.ones(arr.shape[0], dtype=arr.dtype) @ arr).sum(dtype=np.float64)
    return arr.sum(dtype=np.float64)


def _assert_finite(arr, name, columns=None):
    if arr.dtype.kind != "f":
        return
    # A single reduction is far cheaper than materialising isfinite(X); only when it
    # fails (NaN, inf, or an overflowing sum) is the exact count worth computing.
    with np.errstate(over="ignore", invalid="ignore"):
        total = _sum_for_finiteness(arr)
    if np.isfinite(total):
        return
    n_nan = int(np.isnan(arr).sum())
    n_inf = int(np.isinf(arr).sum())
    if n_nan or n_inf:
        what = ", ".join(s for s in (f"{n_nan} NaN" if n_nan else "", f"{n_inf} inf" if n_inf else "") if s)
        where = ""
        if columns is not None and arr.ndim == 2:
            bad = np.flatnonzero(~np.isfinite(arr).all(axis=0))
            shown = ", ".join(repr(columns[j]) for j in bad[:5])
            where = f" (in column{'s' if len(bad) > 1 else ''} {shown}{', ...' if len(bad) > 5 else ''})"
        raise ValueError(
            f"{name} contains {what} value(s){where}; remove or impute them before comparing representations."
        )


def check_paired(X, Y, *, min_samples=2, names=("X", "Y"), return_feature_names=False):
    """Validate two representations of the same samples.

    Both are validated with :func:`check_representation`; then their row counts
    must agree, since row i of ``X`` and row i of ``Y`` describe the same stimulus
    (the error says when a transposed input would match). The two may have
    different widths and dtypes. Shapes that suggest a mistake get a
    :class:`RepresentationWarning` (:func:`warn_pair_shapes`), unless inside
    :func:`pair_warnings_off`.
    """
    for arg, argname in ((X, names[0]), (Y, names[1])):
        if arg is None:
            raise ValueError(
                f"{argname} is None: this measure requires y to be passed, but the target y is None. "
                f"Pass {argname}, a representation of the same samples as (n_samples, n_features)."
            )
    X, fx = check_representation(X, name=names[0], min_samples=min_samples, return_feature_names=True)
    Y, fy = check_representation(Y, name=names[1], min_samples=min_samples, return_feature_names=True)
    try:
        check_same_samples(X.shape[0], Y.shape[0], names=names, shapes=(X.shape, Y.shape))
    except ValueError as exc:
        hint = _transposed_hint(X.shape, Y.shape, names)
        if not hint:
            raise
        raise ValueError(f"{exc} {hint}") from None
    warn_pair_shapes(X.shape, Y.shape, names=names)
    if return_feature_names:
        return X, Y, fx, fy
    return X, Y


def _transposed_hint(shape_x, shape_y, names):
    """Which transposition would make the row counts agree, as a sentence ('' if none)."""
    a, b = names
    (nx, dx), (ny, dy) = shape_x, shape_y
    if dx == ny and nx < dx:
        return f"{a}.T has shape {(dx, nx)} and would match {b}: were {a}'s rows and columns swapped?"
    if dy == nx and ny < dy:
        return f"{b}.T has shape {(dy, ny)} and would match {a}: were {b}'s rows and columns swapped?"
    return ""


#: At or below this many samples a paired score comes with a warning: so few stimuli
#: leave any alignment measure dominated by chance (5 random pairs give CKA 0.95).
FEW_SAMPLES = 10


class RepresentationWarning(UserWarning):
    """A pair of representations whose shapes suggest a mistake or a score without meaning."""


# Public entry points warn once; the package's own calls below them run with this off.
_PAIR_WARNINGS = contextvars.ContextVar("skalign_pair_warnings", default=True)


@contextlib.contextmanager
def pair_warnings_off():
    """Silence :func:`warn_pair_shapes` inside the block.

    For the package's own calls below a public entry point that has already
    warned (a scorer's ``fit`` calling validated core functions).
    """
    token = _PAIR_WARNINGS.set(False)
    try:
        yield
    finally:
        _PAIR_WARNINGS.reset(token)


def _caller_stacklevel():
    """``stacklevel`` for a warning raised here that names the first caller outside skalign.

    Frames of skalign, scikit-learn and joblib (parameter validation wraps public
    functions, model selection calls ``score`` in workers) are skipped, so the warning
    points at the user's line, however deep the call that raised it.
    """
    import os
    import sys

    import joblib
    import sklearn

    skip = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (sys.modules[__package__], sklearn, joblib))
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(skip):
        frame, level = frame.f_back, level + 1
    return level


def warn_pair_shapes(shape_x, shape_y, *, names=("X", "Y"), transposed=True):
    """Warn about a pair of representations whose shapes suggest a mistake.

    Two cases, each a :class:`RepresentationWarning`:

    * both have fewer rows than columns and the same number of columns, which is
      what two ``(n_features, n_samples)`` arrays of the same samples look like
      (rows must be samples);
    * at most :data:`FEW_SAMPLES` samples, too few for a meaningful score.

    Parameters
    ----------
    shape_x, shape_y : tuple of int
        Shapes of two validated 2-D representations with equal row counts.
    names : tuple of str
        Argument names for the message.
    transposed : bool, default=True
        Whether to look for the first case. A fitted scorer's ``score`` does not:
        held-out folds of wide data are legitimately shorter than they are wide,
        and a transposed pair is already flagged when it is fitted.

    The warning names the first line outside skalign and scikit-learn.
    """
    if not _PAIR_WARNINGS.get() or len(shape_x) != 2 or len(shape_y) != 2:
        return
    a, b = names
    (n, dx), (_, dy) = shape_x, shape_y
    if transposed and n < dx and dx == dy:
        warnings.warn(
            f"{a} and {b} both have fewer rows ({n}) than columns ({dx}), as two (n_features, "
            f"n_samples) arrays of the same samples would. Rows must be samples (stimuli): if these "
            f"are transposed, pass {a}.T and {b}.T; if rows already are samples, ignore this warning.",
            RepresentationWarning,
            stacklevel=_caller_stacklevel(),
        )
    if n <= FEW_SAMPLES:
        warnings.warn(
            f"{a} and {b} have only {n} samples: with so few stimuli an alignment score is "
            f"dominated by chance and is not meaningful; use well over {FEW_SAMPLES}.",
            RepresentationWarning,
            stacklevel=_caller_stacklevel(),
        )


def check_same_samples(n_x, n_y, *, names=("X", "Y"), shapes=None):
    """Raise the one ValueError for two representations with different numbers of rows.

    Row i of both must describe stimulus i, so the row counts must agree. ``names``
    are the arguments' names (``("PX", "PY")`` for prepared representations);
    ``shapes``, when given, are quoted in the message.
    """
    if int(n_x) == int(n_y):
        return
    a, b = names
    if shapes is not None:
        detail = f"{a} has shape {tuple(shapes[0])} and {b} has shape {tuple(shapes[1])}"
    else:
        detail = f"{a} has {int(n_x)} rows and {b} has {int(n_y)} rows"
    raise ValueError(
        f"{a} and {b} must describe the same samples (row i = stimulus i), but {detail}: "
        f"{int(n_x)} != {int(n_y)} rows."
    )


def check_prepared_pair(PX, PY, prepared_type, fields, func):
    """The checks that open every ``combine_<measure>(PX, PY)``.

    Both must be ``prepared_type`` (results of the family's ``prepare_<measure>``),
    agree on the settings named in ``fields``, and describe the same samples.

    Parameters
    ----------
    PX, PY : object
        The prepared representations given to ``func``.
    prepared_type : type
        The family's prepared dataclass.
    fields : tuple of str
        Its fields that hold settings (they have an ``n_samples`` field too).
    func : str
        Name of the combine function, ``'combine_<measure>'``, for the messages.
    """
    for P in (PX, PY):
        if not isinstance(P, prepared_type):
            prepare = "prepare_" + func.removeprefix("combine_")
            raise TypeError(f"{func} needs results of {prepare}; got {type(P).__name__}.")
    x = tuple(getattr(PX, field) for field in fields)
    y = tuple(getattr(PY, field) for field in fields)
    if x != y:
        if len(fields) == 1:
            label, x, y = fields[0], x[0], y[0]
        else:
            label = f"({', '.join(fields)})"
        raise ValueError(f"PX and PY were prepared with different settings: {label} = {x} and {y}.")
    check_same_samples(PX.n_samples, PY.n_samples, names=("PX", "PY"))


def check_int(value, name, low=None, high=None):
    """Check that ``value`` is an integer (not a bool) within [low, high] and return it as int.

    For arguments of private helpers and of objects outside scikit-learn's
    parameter validation (public functions use ``validate_params``).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r} of type {type(value).__name__}.")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}; got {value}.")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}; got {value}.")
    return int(value)


def check_homology_dimensions(homology_dimensions):
    """Homology dimensions as a tuple of distinct non-negative ints.

    Shared by the cubical and the Rips persistence families.

    Parameters
    ----------
    homology_dimensions : int or sequence of int

    Returns
    -------
    dims : tuple of int
    """
    dims = tuple(check_int(q, "homology_dimensions", low=0) for q in np.ravel(homology_dimensions))
    if not dims or len(set(dims)) != len(dims):
        raise ValueError(f"homology_dimensions must be distinct non-negative integers; got {homology_dimensions!r}.")
    return dims


def check_nonconstant(X, name="X", *, tol=0.0, xp=None):
    """Raise a ValueError when every row of ``X`` is the same point.

    A representation with zero total variance has no geometry: correlations,
    CKA and shape metrics divide by zero on it. The test is whether some
    column's range exceeds ``tol`` times the largest absolute value, which is
    free of the data's scale (no overflow at 1e200, no underflow at 1e-200),
    needs no n x d temporary, and runs with the operations of ``X``'s own array
    library (NumPy, CuPy, PyTorch ...), so device data is not copied.

    Parameters
    ----------
    X : array of shape (n_samples, n_features, ...)
        A validated representation (any Array API library).
    name : str
        Argument name for the error message.
    tol : float, default=0.0
        Relative range at or below which a column counts as constant.
    xp : namespace, optional
        ``X``'s namespace (:func:`skalign._array_api.get_namespace`).
    """
    if X.shape[0] < 2:
        return
    if tol == 0 and isinstance(X, np.ndarray) and _some_row_differs(X):
        return
    from ._array_api import get_namespace

    xp = get_namespace(X) if xp is None else xp
    check_column_ranges(xp.max(X, axis=0), xp.min(X, axis=0), name, X.shape[0], tol=tol, xp=xp)


def _some_row_differs(X):
    """Whether a row of the NumPy array ``X`` differs from its first row (exact, early exit).

    With ``tol=0`` a column's range is positive exactly when some entry differs from
    the first row's; real data differ within the first rows, so this costs O(d)
    where the column extremes cost two passes over X. Only a (nearly) constant X
    is scanned to the end, in blocks that stay in cache.
    """
    first = X[:1]
    lo, size = 1, 8
    while lo < X.shape[0]:
        if np.any(X[lo : lo + size] != first):
            return True
        lo += size
        size = min(4 * size, max(8, (1 << 20) // max(1, X[0].nbytes)))
    return False


def check_column_ranges(col_max, col_min, name, n_samples, *, tol=0.0, xp=None):
    """The test of :func:`check_nonconstant` from per-column maxima and minima.

    For data seen in batches (the streaming accumulators keep the running
    column extremes); ``n_samples`` is the number of rows they summarise.
    """
    from ._array_api import get_namespace

    xp = get_namespace(col_max, col_min) if xp is None else xp
    scale = max(float(xp.max(col_max)), -float(xp.min(col_min))) if col_max.shape[0] else 0.0
    # max > min + tol*scale: a comparison, so no subtraction can overflow
    varies = scale > 0 and bool(xp.any(col_max > col_min + tol * scale))
    if not varies:
        raise ValueError(
            f"{name} has zero variance: all {n_samples} rows are the same point, so it has "
            "no structure to compare."
        )


def check_n_neighbors(k, n_samples, *, name="n_neighbors", max_k=None):
    """Check an integer neighbourhood size against the number of samples.

    The point itself is excluded from its neighbours, so at most ``n_samples - 1``
    neighbours exist; a method may lower the bound with ``max_k``.
    """
    upper = n_samples - 1 if max_k is None else max_k
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {k!r} of type {type(k).__name__}.")
    if not 1 <= k <= upper:
        raise ValueError(
            f"{name}={k} is outside the allowed range [1, {upper}] for n_samples={n_samples}."
        )
    return int(k)


def unique_rows(X):
    """First index of each distinct row of a 2-D array, and each row's distinct-row label.

    Rows are compared bit for bit (one void view per row, so one sort of n items).

    Returns
    -------
    first : ndarray of shape (n_distinct,)
    inverse : ndarray of shape (n_samples,)
        ``X[first[inverse]] == X`` row for row.
    """
    view = np.ascontiguousarray(X).view(np.dtype((np.void, X.dtype.itemsize * X.shape[1]))).ravel()
    _, first, inverse = np.unique(view, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def warn_duplicates(X, name="X"):
    """Warn when ``X`` has duplicated rows, whose neighbour ties are broken by index."""
    if X.shape[0] < 2:
        return 0
    n_dup = X.shape[0] - unique_rows(X)[0].size
    if n_dup:
        warnings.warn(
            f"{name} has {n_dup} duplicated row(s); neighbours at equal distance are "
            "ordered by sample index, so results depend on row order among duplicates.",
            UserWarning,
            stacklevel=3,
        )
    return n_dup


def check_representation_xp(X, Y=None, *, name="X", name_y="Y", min_samples=1, min_features=1):
    """Validate one representation (or a pair) in its own array library, without copying to NumPy.

    With scikit-learn's ``array_api_dispatch`` on and an input that is an Array
    API array other than a NumPy array (CuPy, PyTorch, ``array_api_strict``...),
    the checks of :func:`check_representation` run with that library's
    operations, so data on a GPU stays there: 2-D, real dtype (integer and
    boolean become the widest float the device supports, float16 becomes
    float32), at least ``min_samples`` rows and ``min_features`` columns, no
    NaN or inf. Otherwise the NumPy validation runs unchanged and the returned
    namespace is None.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    Y : array-like of shape (n_samples, n_features_y), optional
        A second representation of the same samples: it is validated likewise,
        must come from the same library and device, and must have as many rows
        as ``X`` (see :func:`check_paired`).
    name, name_y : str
        Argument names for error messages.
    min_samples, min_features : int

    Returns
    -------
    X : array
    Y : array
        Only when ``Y`` is given.
    xp : namespace or None
        The array-API namespace of the input (sklearn's ``get_namespace``), or
        None when the input is handled as NumPy.

    Raises
    ------
    TypeError
        Non-real dtype; ``X`` and ``Y`` from different array libraries.
    ValueError
        As :func:`check_representation`; ``X`` and ``Y`` on different devices or
        with different numbers of rows.
    """
    from sklearn import get_config
    from sklearn.externals import array_api_compat
    from sklearn.utils._array_api import _max_precision_float_dtype, get_namespace

    arrays = (X,) if Y is None else (X, Y)
    dispatch = get_config()["array_api_dispatch"] and any(
        not isinstance(a, np.ndarray) and array_api_compat.is_array_api_obj(a) for a in arrays
    )
    if not dispatch:
        if Y is None:
            return check_representation(X, name=name, min_samples=min_samples, min_features=min_features), None
        Xa, Ya = check_paired(X, Y, min_samples=min_samples, names=(name, name_y))
        return Xa, Ya, None
    if Y is not None:
        kinds = [f"{type(a).__module__}.{type(a).__name__}" for a in arrays]
        try:
            get_namespace(X, Y)
        except TypeError:
            raise TypeError(
                f"{name} ({kinds[0]}) and {name_y} ({kinds[1]}) come from different array libraries; "
                "with array_api_dispatch on, pass both as arrays of the same library and device."
            ) from None
        if array_api_compat.device(X) != array_api_compat.device(Y):
            raise ValueError(
                f"{name} is on device {array_api_compat.device(X)} but {name_y} is on device "
                f"{array_api_compat.device(Y)}; move them to the same device."
            )
    out = []
    for arr, argname in zip(arrays, (name, name_y)):
        xp, _ = get_namespace(arr)
        dtype = arr.dtype
        if xp.isdtype(dtype, "complex floating"):
            raise ValueError(
                f"Complex data not supported: {argname} has dtype {dtype}; skalign needs real numbers."
            )
        if not xp.isdtype(dtype, ("real floating", "integral", "bool")):
            raise TypeError(
                f"{argname} has dtype {dtype}; skalign needs real numbers "
                "(float or integer), not complex, object or string data."
            )
        if arr.ndim != 2:
            # the NumPy check words the error, on a zero-stride stand-in of the same shape
            # (no copy), so that both paths say the same thing
            stand_in = np.lib.stride_tricks.as_strided(np.zeros(1), shape=tuple(arr.shape), strides=(0,) * arr.ndim)
            check_representation(stand_in, name=argname)
        if dtype == getattr(xp, "float16", None):  # not in the standard, but CuPy and PyTorch have it
            arr = xp.astype(arr, xp.float32)
        elif not xp.isdtype(dtype, "real floating"):
            arr = xp.astype(arr, _max_precision_float_dtype(xp, array_api_compat.device(arr)))
        n, d = arr.shape
        if n < min_samples:
            raise ValueError(
                f"{argname} has {n} sample(s) but at least {min_samples} are needed; got shape {tuple(arr.shape)}."
            )
        if d < min_features:
            raise ValueError(
                f"{argname} has {d} feature(s) (shape={tuple(arr.shape)}) while a "
                f"minimum of {min_features} is required."
            )
        # one reduction on the device; the counts are worth a second pass only on failure
        if not bool(xp.all(xp.isfinite(arr))):
            n_nan = int(xp.sum(xp.astype(xp.isnan(arr), xp.int64)))
            n_inf = int(xp.sum(xp.astype(xp.isinf(arr), xp.int64)))
            what = ", ".join(s for s in (f"{n_nan} NaN" if n_nan else "", f"{n_inf} inf" if n_inf else "") if s)
            raise ValueError(
                f"{argname} contains {what} value(s); remove or impute them before comparing representations."
            )
        out.append(arr)
    if Y is not None:
        check_same_samples(out[0].shape[0], out[1].shape[0], names=(name, name_y),
                           shapes=(tuple(out[0].shape), tuple(out[1].shape)))
    return (*out, xp)


def check_paired_on_host(X, Y, *, min_samples=2, names=("X", "Y")):
    """:func:`check_paired` for computations that run on NumPy only.

    Array API input (with ``array_api_dispatch`` on) is validated on its device
    by :func:`check_representation_xp`, so its errors read as for NumPy input,
    and then copied to the host.

    Returns
    -------
    X, Y : ndarray
    """
    from ._array_api import to_numpy

    X, Y, xp = check_representation_xp(X, Y, name=names[0], name_y=names[1], min_samples=min_samples)
    if xp is not None:
        X, Y = to_numpy(X, xp), to_numpy(Y, xp)
    return X, Y
