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
scikit-learn runs in the input's namespace) and scored (``r2_score``) on its own
device. With a ``cv`` splitter instead of the default leave-one-out,
scikit-learn fits Ridge with its 'svd' solver in the input's namespace (and
warns that NumPy input would use 'cholesky'); the scores agree to rounding.

References
----------
.. [1] Hoerl, A. E. & Kennard, R. W. (1970). Ridge regression: biased estimation for
   nonorthogonal problems. Technometrics 12(1), 55-67.
.. [2] Kornblith, S., Norouzi, M., Lee, H. & Hinton, G. (2019). Similarity of neural
   network representations revisited. ICML (linear regression as a similarity baseline).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from sklearn.externals.array_api_compat import is_array_api_obj
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._array_api import acc_dtype, centre, get_namespace, ldexp, pow2_exponent, sq_sum, to_numpy
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
    grid = a * scale
    if not np.all(np.isfinite(grid)):
        raise ValueError(
            f"alphas up to {a.max():g} times the mean eigenvalue of X's covariance ({scale:g}) exceed "
            "the float range; use smaller alphas."
        )
    model = RidgeCV(alphas=grid, cv=cv, alpha_per_target=alpha_per_target).fit(Xs, Ys)
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
            px, py = (max(float(xp.max(A)), -float(xp.min(A))) for A in (X, Y))
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
    if multioutput == "raw_values":
        return r
    if multioutput == "variance_weighted":
        w = to_numpy(sq_sum(centre(xp.astype(Y, acc_dtype(xp, Y), copy=False), xp), xp, axis=0), xp)
        if w.sum() > 0:
            return float(np.dot(w, r) / w.sum())
    return float(r.mean())


def _r2(model, X, Y, names=("X", "Y"), multioutput="uniform_average", score_method="r2"):
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
    # r2_score follows the namespace of Array API input
    r2 = r2_score(Y, P, multioutput=multioutput)
    r2 = to_numpy(r2, xp) if multioutput == "raw_values" else float(r2)
    if not np.all(np.isfinite(r2)):
        raise ValueError(
            f"The predictions of {names[1]} from {names[0]} are so far from {names[1]} (more than "
            "1e150 times its spread) that R² lies below the float range."
        )
    return r2


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
    """
    a = _check_alphas(alphas, cv, alpha_per_target)
    X_train, Y_train, _ = check_representation_xp(X_train, Y_train, name="X_train", name_y="Y_train",
                                                  min_samples=3)
    if (X_test is None) != (Y_test is None):
        raise ValueError("Pass both X_test and Y_test, or neither.")
    if X_test is None:
        X_test, Y_test = X_train, Y_train
    else:
        X_test, Y_test, _ = check_representation_xp(X_test, Y_test, name="X_test", name_y="Y_test", min_samples=2)
        for name, tr, te in (("X", X_train, X_test), ("Y", Y_train, Y_test)):
            if tr.shape[1] != te.shape[1]:
                raise ValueError(f"{name}_test has {te.shape[1]} features but {name}_train has {tr.shape[1]}.")
    models = _fit_both(X_train, Y_train, a, cv, alpha_per_target, symmetric, ("X_train", "Y_train"))
    return _pair_r2(*models, X_test, Y_test, multioutput, score_method)
