"""Linear predictivity: ridge regression from one representation to another.

The encoding-model score of the convergent-learning and neural-predictivity
literature: fit :math:`\\hat Y = XB + b` by ridge regression on training rows, choosing the
penalty by internal cross-validation on those rows only, and report the mean
coefficient of determination over Y's columns on held-out rows,

.. math::

    \\bar R^2 = \\frac{1}{d_y} \\sum_{j=1}^{d_y}
        \\Big(1 - \\frac{\\sum_i (y_{ij} - \\hat y_{ij})^2}{\\sum_i (y_{ij} - \\bar y_j)^2}\\Big).

Penalties are *relative*: a grid value :math:`a` means the ridge penalty

.. math::

    \\lambda = a\\,\\frac{\\|X^c\\|_F^2}{d_x},

:math:`a` times the mean eigenvalue of the centred :math:`X^\\top X` of the training
rows. The grid is then scale-free and the score is unchanged when X is multiplied by
a constant. So that this holds at any magnitude, a representation whose largest value
lies outside :math:`2^{\\pm m/4}` (:math:`m` the exponent range of its dtype: about
:math:`10^{\\pm 77}` in float64) is divided by a power of two near that value before
the fit (exact, so no digit is lost) and the fitted model is expressed back in the
units of the data; ordinary data are not divided at all. The internal CV is scikit-learn's
:class:`~sklearn.linear_model.RidgeCV` (efficient leave-one-out by default).

Array API (GPU): with ``sklearn.set_config(array_api_dispatch=True)``, CuPy or
PyTorch input is checked, scaled, fitted (RidgeCV's leave-one-out route, which
scikit-learn runs in the input's namespace) and scored on its own device (the
residual and total sums of squares of each column of Y; only those d_y pairs
reach the host, where R² is formed with ``r2_score``'s conventions). With a ``cv`` splitter instead of the default leave-one-out,
scikit-learn fits Ridge with its 'svd' solver in the input's namespace (and
warns that NumPy input would use 'cholesky'); the scores agree to rounding.

Dask arrays: :func:`fit_ridge`, :func:`fit_ridge_pair`, :func:`ridge_r2`,
:func:`ridge_pair_r2` and :func:`ridge_regression_score` accept ``dask.array``
input (partners rechunked along rows to the first array's row chunks). The fit
is RidgeCV's leave-one-out (``cv=None``; a ``cv`` splitter is refused): one pass
over the row chunks forms the means, the centred :math:`X^\\top X` (and
:math:`Y^\\top Y` when ``symmetric``) and :math:`X^{c\\top}Y^c`; their
eigendecomposition gives every penalty's coefficients; a second pass sums the
squared leave-one-out errors, :math:`(y_i - \\hat y_i)/(1 - h_{ii} - 1/n)`, which
need each row's leverage :math:`h_{ii}`. The model returned is a fitted
``RidgeCV`` with the attributes of the in-memory fit. Held-out scores sum, in one
pass over the test rows, the residual and total sums of squares per column of Y
(and, for ``'pearson'``, the moments of the prediction), and R² is formed from
those sums by the same function as for in-memory rows.

References
----------
.. [1] Hoerl, A. E. & Kennard, R. W. (1970). Ridge regression: biased estimation for
   nonorthogonal problems. Technometrics 12(1), 55-67.
.. [2] Kornblith, S., Norouzi, M., Lee, H. & Hinton, G. (2019). Similarity of neural
   network representations revisited. ICML (linear regression as a similarity baseline).
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.externals.array_api_compat import is_array_api_obj
from sklearn.linear_model import RidgeCV
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._array_api import acc_dtype, centre, get_namespace, ldexp, pow2_exponent, sq_sum, to_numpy
from ._dask import as_dask_arrays, dask_row_sum, dask_scaled_moments, is_dask_array
from ._validation import check_nonconstant, check_representation_xp

__all__ = [
    "DEFAULT_RIDGE_ALPHAS",
    "RIDGE_PARAMETER_CONSTRAINTS",
    "RIDGE_SCORE_CONSTRAINTS",
    "MULTIOUTPUT_OPTIONS",
    "SCORE_METHODS",
    "fit_ridge",
    "fit_ridge_pair",
    "ridge_r2",
    "ridge_pair_r2",
    "ridge_regression_score",
]

#: Default relative penalties (multiples of the mean eigenvalue of the centred XᵀX).
DEFAULT_RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-6, 3, 10))

#: How the per-column scores of Y become one number (scikit-learn's names); ``'raw_values'``
#: (one score per column) is offered by :func:`ridge_r2` only, a scorer returns one float.
MULTIOUTPUT_OPTIONS = ("variance_weighted", "uniform_average")
#: What is computed per column of Y: the coefficient of determination, or the
#: correlation of the prediction with the target.
SCORE_METHODS = ("r2", "pearson")

#: How held-out predictions are scored, as scikit-learn parameter constraints.
RIDGE_SCORE_CONSTRAINTS = {
    "multioutput": [StrOptions(set(MULTIOUTPUT_OPTIONS))],
    "score_method": [StrOptions(set(SCORE_METHODS))],
}

#: The hyper-parameters of linear predictivity, as scikit-learn parameter constraints; used
#: by the public functions here and by :class:`skalign.LinearRegressionScorer`.
RIDGE_PARAMETER_CONSTRAINTS = {
    "alphas": ["array-like", Interval(Real, 0, None, closed="neither")],
    "cv": ["cv_object"],
    "alpha_per_target": ["boolean"],
    "symmetric": ["boolean"],
    **RIDGE_SCORE_CONSTRAINTS,
}


# --------------------------------------------------------------------------- helpers
def _check_alphas(alphas, cv, alpha_per_target):
    a = np.atleast_1d(np.asarray(alphas, dtype=float)) if not isinstance(alphas, str) else None
    if a is None or a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)) or not np.all(a > 0):
        raise ValueError(f"alphas must be a non-empty 1-D sequence of positive finite floats; got {alphas!r}.")
    if alpha_per_target and cv is not None:
        raise ValueError("alpha_per_target=True needs cv=None (RidgeCV's efficient leave-one-out).")
    return a


def _fit_one(X, Y, a, cv, alpha_per_target, xp, names):
    """RidgeCV X -> Y on validated rows with the relative grid ``a``, in the data's units."""
    # exact powers of two where squares could overflow or underflow; 0 for ordinary data
    ex, ey = pow2_exponent(X, xp, when="extreme"), pow2_exponent(Y, xp, when="extreme")
    Xs, Ys = ldexp(X, -ex, xp), ldexp(Y, -ey, xp)
    # mean eigenvalue of the centred XᵀX, without forming it
    Xf = xp.astype(Xs, acc_dtype(xp, Xs), copy=False)
    scale = float(sq_sum(Xf - xp.mean(Xf, axis=0), xp)) / Xs.shape[1]
    grid = _grid(a, scale)
    model = RidgeCV(alphas=grid, cv=cv, alpha_per_target=alpha_per_target).fit(Xs, Ys)

    def peaks():
        return (max(float(xp.max(A)), -float(xp.min(A))) for A in (X, Y))

    return _finish_fit(model, scale, grid, ex, ey, cv, xp, names, peaks)


def _grid(a, scale):
    grid = a * scale
    if not np.all(np.isfinite(grid)):
        raise ValueError(
            f"alphas up to {a.max():g} times the mean eigenvalue of X's covariance ({scale:g}) exceed "
            "the float range; use smaller alphas."
        )
    return grid


def _finish_fit(model, scale, grid, ex, ey, cv, xp, names, peaks):
    """A RidgeCV fitted on rows divided by ``2**ex`` and ``2**ey``, back in the data's units.

    The in-memory and the Dask routes both finish here; ``peaks()`` gives the
    largest magnitudes of X and Y for the error message.
    """
    # per-target penalties on a device: a few numbers, kept on the host like the grid
    alpha = to_numpy(model.alpha_) if not isinstance(model.alpha_, float) else model.alpha_
    model.relative_alpha_ = np.asarray(alpha) / scale
    if ex or ey:
        # back to the data's units (products that exceed the float range become inf)
        with np.errstate(over="ignore", under="ignore"):
            model.coef_ = ldexp(model.coef_, ey - ex, xp)
            model.intercept_ = ldexp(model.intercept_, ey, xp)
            model.alpha_ = ldexp(model.alpha_, 2 * ex, xp)
            model.alphas = ldexp(grid, 2 * ex)
            if cv is None:  # leave-one-out's best_score_ is a mean squared error of Y
                model.best_score_ = ldexp(model.best_score_, 2 * ey, xp)
        if not bool(xp.all(xp.isfinite(model.coef_))):
            px, py = peaks()
            raise ValueError(
                f"{names[0]} (largest |value| {px:.1e}) and {names[1]} ({py:.1e}) differ in magnitude "
                f"by more than the float range allows: the ridge coefficients from {names[0]} to "
                f"{names[1]} overflow. Rescale one of them."
            )
    return model


def _fit_both(X, Y, a, cv, alpha_per_target, symmetric, names):
    """X -> Y (and Y -> X when symmetric) on validated rows."""
    xp = get_namespace(X, Y)
    check_nonconstant(X, names[0], xp=xp)
    check_nonconstant(Y, names[1], xp=xp)
    forward = _fit_one(X, Y, a, cv, alpha_per_target, xp, names)
    return forward, (_fit_one(Y, X, a, cv, alpha_per_target, xp, names[::-1]) if symmetric else None)


# --------------------------------------------------------------------------- Dask arrays
def _loo_block(blocks, directions, n):
    """Sums of squared leave-one-out errors of one row block, per penalty and target, for each direction.

    ``directions``: ``(i, j, e_i, e_j, mean_i, mean_j, V, lam, W, grid)`` fits array ``j``
    from array ``i`` with the eigenvectors ``V`` and values ``lam`` of the centred Gram of
    ``i`` and ``W = V^T X_i^{c T} X_j^c``.
    """
    if blocks[0].shape[0] == 0:
        return None
    out = []
    for i, j, ei, ej, mi, mj, V, lam, W, grid in directions:
        xc = np.ldexp(np.asarray(blocks[i], dtype=np.float64), -ei) - mi
        yc = np.ldexp(np.asarray(blocks[j], dtype=np.float64), -ej) - mj
        Z = xc @ V
        Z2 = Z * Z
        sums = np.empty((len(grid), yc.shape[1]))
        for k, alpha in enumerate(grid):
            D = 1.0 / (lam + alpha)
            # RidgeCV's leave-one-out error with an intercept: (y - ŷ) / (1 - h_ii - 1/n)
            loo = (yc - Z @ (D[:, None] * W)) / (1.0 - Z2 @ D - 1.0 / n)[:, None]
            sums[k] = np.einsum("ij,ij->j", loo, loo)
        out.append(sums.ravel())
    return np.concatenate(out)


def _dask_fit_both(X, Y, a, cv, alpha_per_target, symmetric, names):
    """:func:`_fit_both` for Dask arrays: RidgeCV's leave-one-out fit from d x d sums and one pass over the rows.

    The first pass forms the means, the centred Grams and the cross-product; the
    eigendecomposition of the Gram gives every penalty's coefficients on the host;
    a second pass sums the squared leave-one-out errors of every penalty, which
    need each row's leverage (for both directions at once when ``symmetric``).
    The model is then chosen, and expressed in the data's units, as for in-memory data.
    """
    if cv is not None:
        raise ValueError(
            f"cv={cv!r}: with Dask arrays the penalty is chosen by RidgeCV's leave-one-out only (cv=None), "
            "which d x d sums and one pass over the rows give exactly; compute the arrays first for other "
            "cross-validation."
        )
    X, Y = as_dask_arrays((X, Y), names, min_samples=3)
    st, exps = dask_scaled_moments([X, Y], list(names), grams=[True, bool(symmetric)], crosses=[(0, 1)])
    n = st["n"]
    sides = [(0, 1, st["cross"][0, 1])] + ([(1, 0, st["cross"][0, 1].T)] if symmetric else [])
    directions, fits = [], []
    for i, j, C in sides:
        M = st["m2"][i]
        scale = float(np.trace(M)) / M.shape[0]
        grid = _grid(a, scale)
        lam, V = np.linalg.eigh(M)
        W = V.T @ C
        directions.append((i, j, exps[i], exps[j], st["mean"][i], st["mean"][j], V, lam, W, grid))
        fits.append((scale, grid, lam, V, W))
    sums = dask_row_sum([X, Y], _loo_block, directions, n)
    arrays, models, start = (X, Y), [], 0
    for (i, j, *_), (scale, grid, lam, V, W) in zip(directions, fits):
        d_t = arrays[j].shape[1]
        sq = sums[start:start + len(grid) * d_t].reshape(len(grid), d_t)
        start += len(grid) * d_t
        per_target = alpha_per_target and d_t > 1
        score = -sq / n if per_target else -sq.sum(axis=1) / (n * d_t)
        best = np.argmax(score, axis=0)  # the first of equal scores, as RidgeCV keeps it
        coefs = [V @ ((1.0 / (lam + grid[k]))[:, None] * W) for k in range(len(grid))]
        if per_target:
            coef = np.stack([coefs[k][:, t] for t, k in enumerate(best)], axis=1)
            alpha, best_score = grid[best], score[best, np.arange(d_t)]
        else:
            coef, alpha, best_score = coefs[best], float(grid[best]), float(score[best])
        model = RidgeCV(alphas=grid, cv=None, alpha_per_target=alpha_per_target)
        model.coef_ = coef.T.ravel() if d_t == 1 else coef.T
        model.intercept_ = st["mean"][j] - st["mean"][i] @ model.coef_.T
        model.alpha_, model.best_score_, model.n_features_in_ = alpha, best_score, arrays[i].shape[1]

        def peaks(i=i, j=j):
            return (max(float(st["max"][k].max()), -float(st["min"][k].min())) for k in (i, j))

        models.append(_finish_fit(model, scale, grid, exps[i], exps[j], None, get_namespace(np.zeros(1)),
                                  (names[i], names[j]), peaks))
    return models[0], (models[1] if symmetric else None)


def _predict_block(blocks, coef, intercept):
    """Y's block, its prediction from X's block and the residual, in float64."""
    x, y = (np.asarray(b, dtype=np.float64) for b in blocks)
    p = x @ coef.T + intercept
    return [y, p, y - p]


def _dask_r2(model, X, Y, names=("X", "Y"), multioutput="uniform_average", score_method="r2"):
    """:func:`_r2` for Dask rows: the residual and total sums of squares (and, for 'pearson',
    the moments of the prediction) summed over row blocks in one pass."""
    X, Y = as_dask_arrays((X, Y), names, min_samples=2)
    coef = np.asarray(model.coef_, dtype=np.float64).reshape(-1, X.shape[1])
    intercept = np.asarray(model.intercept_, dtype=np.float64).reshape(-1)
    if coef.shape[0] != Y.shape[1]:
        raise ValueError(f"{names[1]} has {Y.shape[1]} features but the model predicts {coef.shape[0]}.")
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise ValueError(f"The model from {names[0]} to {names[1]} has coefficients that are not finite.")
    pred = f"the predictions of {names[1]} from {names[0]}"

    def exponent(es):
        # R² and r are unchanged when Y and its prediction are divided by Y's power of two
        return [0, 0, 0] if es is None else [es[0]] * 3

    st, _ = dask_scaled_moments([X, Y], [names[1], pred, pred], grams=[False] * 3,
                                crosses=[(0, 1)] if score_method == "pearson" else [], nonconstant=False,
                                exponent=exponent, derive=(_predict_block, coef, intercept),
                                dtypes=[Y.dtype] * 3, checked=[True, False, False])
    if not (np.isfinite(st["max"][1]).all() and np.isfinite(st["min"][1]).all()):
        raise ValueError(
            f"The predictions of {names[1]} from {names[0]} are not finite: the rows of {names[0]} are "
            "far outside the range of the training rows."
        )
    n, sst = st["n"], st["m2"][0]
    if score_method == "pearson":
        cov, spp = np.diag(st["cross"][0, 1]), st["m2"][1]
        ok = (sst > 0) & (spp > 0)
        r = np.zeros_like(sst)
        # two square roots, not one of the product, which could leave the float range
        r[ok] = cov[ok] / np.sqrt(sst[ok]) / np.sqrt(spp[ok])
        return _average_pearson(np.clip(r, -1.0, 1.0), sst, multioutput)
    sse = st["m2"][2] + n * st["mean"][2] ** 2
    return _r2_from_sums(sse, sst, multioutput, names)


def _any_dask(*arrays):
    return any(is_dask_array(A) for A in arrays)


def _unit_columns(A, xp):
    """Centred columns of ``A`` scaled to unit norm (a constant column stays all zeros), in acc_dtype."""
    A = centre(xp.astype(A, acc_dtype(xp, A), copy=False), xp)
    # the largest entry first, so that the squares can neither overflow nor underflow
    top = xp.max(xp.abs(A), axis=0)
    A = A / xp.where(top > 0, top, xp.ones_like(top))
    norm = xp.sqrt(sq_sum(A, xp, axis=0))
    return A / xp.where(norm > 0, norm, xp.ones_like(norm))


def _pearson(Y, P, multioutput, xp):
    """Correlation of each column of P with the same column of Y, and its mean or weighted mean."""
    r = xp.sum(_unit_columns(Y, xp) * _unit_columns(P, xp), axis=0)
    r = to_numpy(xp.clip(r, -1.0, 1.0), xp)
    w = None
    if multioutput == "variance_weighted":
        w = to_numpy(sq_sum(centre(xp.astype(Y, acc_dtype(xp, Y), copy=False), xp), xp, axis=0), xp)
    return _average_pearson(r, w, multioutput)


def _average_pearson(r, sst, multioutput):
    """The per-column correlations ``r`` (host), their mean, or their mean weighted by ``sst``."""
    if multioutput == "raw_values":
        return r
    if multioutput == "variance_weighted" and sst.sum() > 0:
        return float(np.dot(sst, r) / sst.sum())
    return float(r.mean())


def _r2_from_sums(sse, sst, multioutput, names):
    """R² of each column from its residual and total sums of squares (host vectors), and their average.

    scikit-learn's conventions (:func:`sklearn.metrics.r2_score`, ``force_finite=True``): a
    column with no residual scores 1, a constant column with a residual scores 0, and
    'variance_weighted' falls back to the plain mean when every column is constant.
    """
    nonzero_sse, nonzero_sst = sse != 0, sst != 0
    scores = np.ones(sse.shape, dtype=np.float64)
    valid = nonzero_sse & nonzero_sst
    scores[valid] = 1.0 - sse[valid] / sst[valid]
    scores[nonzero_sse & ~nonzero_sst] = 0.0
    if multioutput == "raw_values":
        r2 = scores
    elif multioutput == "variance_weighted" and nonzero_sst.any():
        r2 = float(np.average(scores, weights=sst))
    else:
        r2 = float(np.mean(scores))
    if not np.all(np.isfinite(r2)):
        raise ValueError(
            f"The predictions of {names[1]} from {names[0]} are so far from {names[1]} (more than "
            "1e150 times its spread) that R² lies below the float range."
        )
    return r2


def _r2(model, X, Y, names=("X", "Y"), multioutput="uniform_average", score_method="r2"):
    if _any_dask(X, Y):
        return _dask_r2(model, X, Y, names, multioutput, score_method)
    # lists and other array-likes become NumPy; Array API arrays stay in their library
    Y = Y if is_array_api_obj(Y) else np.asarray(Y)
    P = model.predict(X)
    xp = get_namespace(P, Y)
    if not bool(xp.all(xp.isfinite(P))):
        raise ValueError(
            f"The predictions of {names[1]} from {names[0]} are not finite: the rows of {names[0]} are "
            "far outside the range of the training rows."
        )
    # R² and r are unchanged when Y and its prediction are divided by one power of two
    e = pow2_exponent(Y, xp, when="extreme")
    Y, P = ldexp(Y, -e, xp), ldexp(P, -e, xp)
    if score_method == "pearson":
        return _pearson(Y, P, multioutput, xp)
    # the d_y sums on the device, as r2_score forms them (one target: both as columns); the rest on the host
    Y, P = (xp.reshape(A, (A.shape[0], -1)) for A in (Y, P))
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, by name
        sse = xp.sum((Y - P) ** 2, axis=0)
        sst = xp.sum((Y - xp.mean(Y, axis=0)) ** 2, axis=0)
    return _r2_from_sums(to_numpy(sse, xp).astype(np.float64), to_numpy(sst, xp).astype(np.float64),
                         multioutput, names)


def _pair_r2(model, reverse_model, X, Y, multioutput="uniform_average", score_method="r2"):
    s = _r2(model, X, Y, ("X", "Y"), multioutput, score_method)
    if reverse_model is None:
        return s
    return 0.5 * (s + _r2(reverse_model, Y, X, ("Y", "X"), multioutput, score_method))


# --------------------------------------------------------------------------- public functions
@validate_params({k: RIDGE_PARAMETER_CONSTRAINTS[k] for k in ("alphas", "cv", "alpha_per_target")}
                 | {"validate": ["boolean"]}, prefer_skip_nested_validation=True)
def fit_ridge(X, Y, *, alphas=DEFAULT_RIDGE_ALPHAS, cv=None, alpha_per_target=False, validate=True):
    """Ridge regression X -> Y with the penalty chosen by CV on these rows.

    Minimises :math:`\\|Y - XB - b\\|_F^2 + \\lambda\\|B\\|_F^2` (Hoerl & Kennard 1970) with
    :math:`\\lambda` taken from the relative grid (see the module notes).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        Training rows of the predictor representation.
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in the predicted representation.
    alphas : sequence of float, default=DEFAULT_RIDGE_ALPHAS
        Relative penalties: :math:`a` means :math:`\\lambda = a\\,\\|X^c\\|_F^2 / d_x` (see
        :mod:`skalign.regression`).
    cv : None, int, cross-validation generator or iterable, default=None
        Internal CV of :class:`~sklearn.linear_model.RidgeCV`; None is its
        efficient leave-one-out.
    alpha_per_target : bool, default=False
        One penalty per column of Y (only with ``cv=None``).
    validate : bool, default=True
        Check the input (turn off only for arrays that passed
        :func:`skalign._validation.check_representation_xp`; the zero-variance check
        runs either way).

    Returns
    -------
    model : RidgeCV
        Fitted; ``model.alpha_`` is the absolute penalty and
        ``model.relative_alpha_`` the chosen grid value (the absolute penalty of
        data near the float range's ends may not be representable: then ``alpha_``
        is inf or 0, while ``relative_alpha_`` and the predictions are exact).
    """
    return fit_ridge_pair(X, Y, alphas=alphas, cv=cv, alpha_per_target=alpha_per_target,
                          validate=validate)[0]


@validate_params({**RIDGE_PARAMETER_CONSTRAINTS, "validate": ["boolean"]}, prefer_skip_nested_validation=True)
def fit_ridge_pair(X, Y, *, alphas=DEFAULT_RIDGE_ALPHAS, cv=None, alpha_per_target=False, symmetric=False,
                   validate=True):
    """The ridge fits of linear predictivity: X -> Y, and Y -> X when ``symmetric``.

    What :meth:`skalign.LinearRegressionScorer.fit` learns; :func:`ridge_pair_r2`
    scores new rows with the result.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        Training rows of the first representation.
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in the second representation.
    alphas, cv, alpha_per_target, validate
        See :func:`fit_ridge`.
    symmetric : bool, default=False
        Also fit Y -> X.

    Returns
    -------
    model : RidgeCV
        X -> Y (see :func:`fit_ridge`).
    reverse_model : RidgeCV or None
        Y -> X when ``symmetric``, else None.
    """
    a = _check_alphas(alphas, cv, alpha_per_target)
    if _any_dask(X, Y):
        return _dask_fit_both(X, Y, a, cv, alpha_per_target, symmetric, ("X", "Y"))
    if validate:
        X, Y, _ = check_representation_xp(X, Y, min_samples=3)
    return _fit_both(X, Y, a, cv, alpha_per_target, symmetric, ("X", "Y"))


@validate_params(
    {"multioutput": [StrOptions(set(MULTIOUTPUT_OPTIONS) | {"raw_values"})],
     "score_method": RIDGE_SCORE_CONSTRAINTS["score_method"]},
    prefer_skip_nested_validation=True,
)
def ridge_r2(model, X, Y, *, multioutput="variance_weighted", score_method="r2"):
    """R² (or correlation) over Y's columns of a fitted ridge model's predictions.

    With :math:`\\mathrm{SSE}_j = \\sum_i (y_{ij} - \\hat y_{ij})^2` and
    :math:`\\mathrm{SST}_j = \\sum_i (y_{ij} - \\bar y_j)^2` on these rows,

    .. math::

        R^2_{\\mathrm{vw}} = 1 - \\frac{\\sum_j \\mathrm{SSE}_j}{\\sum_j \\mathrm{SST}_j},
        \\qquad
        R^2_{\\mathrm{uniform}} = \\frac{1}{d_y} \\sum_j \\Big(1 - \\frac{\\mathrm{SSE}_j}{\\mathrm{SST}_j}\\Big).

    The variance-weighted score is the fraction of Y's total variance that is
    explained; the uniform average gives every column the same say, so a column
    with almost no variance on the scored rows (a unit that fires on one test
    image) can drive it to large negative values. ``score_method='pearson'``
    replaces each column's R² by the correlation :math:`r_j` of
    :math:`\\hat y_{\\cdot j}` with :math:`y_{\\cdot j}`, averaged the same way
    (weights :math:`\\mathrm{SST}_j` for ``'variance_weighted'``); the plain mean
    (``multioutput='uniform_average'``) is the neural-predictivity convention.

    Columns of Y that are constant on these rows get scikit-learn's R²
    convention (1 if predicted exactly, else 0), and correlation 0 (as does a
    constant prediction).

    Parameters
    ----------
    model : fitted regressor
        Usually from :func:`fit_ridge`.
    X : array of shape (n_samples, n_features_x)
        Rows to predict from.
    Y : array of shape (n_samples, n_features_y)
        The rows to be predicted.
    multioutput : {'uniform_average', 'variance_weighted', 'raw_values'}, default='variance_weighted'
        scikit-learn's names (:func:`sklearn.metrics.r2_score`); ``'raw_values'``
        returns one score per column of Y. The default was the uniform average
        before; pass ``'uniform_average'`` for the earlier numbers.
    score_method : {'r2', 'pearson'}, default='r2'

    Returns
    -------
    float or ndarray of shape (n_features_y,)
        R² in (-inf, 1] (0 is the score of predicting each column's mean, and a
        held-out score can be negative), or r in [-1, 1].
    """
    return _r2(model, X, Y, ("X", "Y"), multioutput, score_method)


@validate_params(RIDGE_SCORE_CONSTRAINTS, prefer_skip_nested_validation=True)
def ridge_pair_r2(model, reverse_model, X, Y, *, multioutput="variance_weighted", score_method="r2"):
    """Linear predictivity of new rows: :func:`ridge_r2` of X -> Y, averaged with Y -> X.

    .. math::

        s = \\bar R^2_{X \\to Y} \\quad\\text{or}\\quad
        s = \\tfrac12\\big(\\bar R^2_{X \\to Y} + \\bar R^2_{Y \\to X}\\big)

    Parameters
    ----------
    model, reverse_model : RidgeCV, and RidgeCV or None
        From :func:`fit_ridge_pair`; without ``reverse_model`` the one-way score.
    X : array of shape (n_samples, n_features_x)
        Rows of the first representation.
    Y : array of shape (n_samples, n_features_y)
        The same samples in the second representation.
    multioutput : {'uniform_average', 'variance_weighted'}, default='variance_weighted'
        See :func:`ridge_r2`.
    score_method : {'r2', 'pearson'}, default='r2'
        See :func:`ridge_r2`.

    Returns
    -------
    float
        R² in (-inf, 1], or r in [-1, 1].
    """
    return _pair_r2(model, reverse_model, X, Y, multioutput, score_method)


@validate_params(RIDGE_PARAMETER_CONSTRAINTS, prefer_skip_nested_validation=True)
def ridge_regression_score(
    X_train, Y_train, X_test=None, Y_test=None, *, alphas=DEFAULT_RIDGE_ALPHAS, cv=None,
    alpha_per_target=False, symmetric=False, multioutput="variance_weighted", score_method="r2",
):
    """Linear predictivity of Y from X: mean R² of a ridge fit, held out if test rows are given.

    The ridge fit of :func:`fit_ridge` (Hoerl & Kennard 1970), scored by
    :func:`ridge_pair_r2`.

    Parameters
    ----------
    X_train, Y_train : array-like of shape (n_train, d_x), (n_train, d_y)
        Rows the penalty and the weights are learned on.
    X_test, Y_test : array-like of shape (n_test, d_x), (n_test, d_y), optional
        Rows the score is computed on; without them the in-sample R² is
        returned, which is optimistic when d_x is not small compared to n.
    alphas, cv, alpha_per_target
        See :func:`fit_ridge`.
    symmetric : bool, default=False
        Average the X -> Y and Y -> X scores.
    multioutput : {'uniform_average', 'variance_weighted'}, default='variance_weighted'
        See :func:`ridge_r2`.
    score_method : {'r2', 'pearson'}, default='r2'
        See :func:`ridge_r2`.

    Returns
    -------
    float
        R² in (-inf, 1] or r in [-1, 1]; higher = Y is better predicted linearly from X.

    Notes
    -----
    The four arrays may be ``dask.array`` arrays (with ``cv=None``): the fit and the
    scores are then formed from sums over row chunks on the active Dask scheduler
    (see :mod:`skalign.regression`).
    """
    a = _check_alphas(alphas, cv, alpha_per_target)
    if (X_test is None) != (Y_test is None):
        raise ValueError("Pass both X_test and Y_test, or neither.")
    if _any_dask(X_train, Y_train, X_test, Y_test):
        names = ("X_train", "Y_train")
        if _any_dask(X_train, Y_train):
            models = _dask_fit_both(X_train, Y_train, a, cv, alpha_per_target, symmetric, names)
        else:
            X_train, Y_train, _ = check_representation_xp(X_train, Y_train, name=names[0], name_y=names[1],
                                                          min_samples=3)
            models = _fit_both(X_train, Y_train, a, cv, alpha_per_target, symmetric, names)
        if X_test is None:
            X_test, Y_test = X_train, Y_train
        for name, tr, te in (("X", X_train, X_test), ("Y", Y_train, Y_test)):
            if np.shape(tr)[1] != np.shape(te)[1]:
                raise ValueError(f"{name}_test has {np.shape(te)[1]} features but {name}_train has {np.shape(tr)[1]}.")
        return _pair_r2(*models, X_test, Y_test, multioutput, score_method)
    X_train, Y_train, _ = check_representation_xp(X_train, Y_train, name="X_train", name_y="Y_train",
                                                  min_samples=3)
    if X_test is None:
        X_test, Y_test = X_train, Y_train
    else:
        X_test, Y_test, _ = check_representation_xp(X_test, Y_test, name="X_test", name_y="Y_test", min_samples=2)
        for name, tr, te in (("X", X_train, X_test), ("Y", Y_train, Y_test)):
            if tr.shape[1] != te.shape[1]:
                raise ValueError(f"{name}_test has {te.shape[1]} features but {name}_train has {tr.shape[1]}.")
    models = _fit_both(X_train, Y_train, a, cv, alpha_per_target, symmetric, ("X_train", "Y_train"))
    return _pair_r2(*models, X_test, Y_test, multioutput, score_method)
