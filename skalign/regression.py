"""Linear predictivity: ridge regression from one representation to another.

The encoding-model score of the convergent-learning and neural-predictivity
literature: fit Ŷ = X B + b by ridge regression on training rows, choosing the
penalty by internal cross-validation on those rows only, and report the mean
coefficient of determination over Y's columns on held-out rows,

.. math::

    \\bar R^2 = \\frac{1}{d_y} \\sum_{j=1}^{d_y}
        \\Big(1 - \\frac{\\sum_i (y_{ij} - \\hat y_{ij})^2}{\\sum_i (y_{ij} - \\bar y_j)^2}\\Big).

Penalties are *relative*: a grid value α means the ridge penalty
α x ||Xᶜ||²_F / d_x, i.e. α times the mean eigenvalue of the centred XᵀX of the
training rows. The grid is then scale-free and the score is unchanged when X is
multiplied by a constant. The internal CV is scikit-learn's
:class:`~sklearn.linear_model.RidgeCV` (efficient leave-one-out by default).

Array API (GPU): with ``sklearn.set_config(array_api_dispatch=True)``, CuPy or
PyTorch input is checked, scaled, fitted (RidgeCV's leave-one-out route, which
scikit-learn runs in the input's namespace) and scored (``r2_score``) on its own
device. With a ``cv`` splitter instead of the default leave-one-out,
scikit-learn fits Ridge with its 'svd' solver in the input's namespace (and
warns that NumPy input would use 'cholesky'); the scores agree to rounding.

References
----------
Hoerl & Kennard (1970). Ridge regression: biased estimation for nonorthogonal
problems. Technometrics 12(1).
Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
representations revisited. ICML (linear regression as a similarity baseline).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score

from ._validation import check_representation_xp
from .kernels import _acc_dtype
from .kernels import _namespace_of as _xp
from .shape import _check_nonconstant_any

__all__ = ["DEFAULT_RIDGE_ALPHAS", "fit_ridge", "ridge_r2", "ridge_regression_score"]

#: Default relative penalties (multiples of the mean eigenvalue of XᶜᵀXᶜ).
DEFAULT_RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-6, 3, 10))


def _check_alphas(alphas):
    a = np.atleast_1d(np.asarray(alphas, dtype=float)) if not isinstance(alphas, str) else None
    if a is None or a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)) or not np.all(a > 0):
        raise ValueError(f"alphas must be a non-empty 1-D sequence of positive finite floats; got {alphas!r}.")
    return a


def fit_ridge(X, Y, *, alphas=DEFAULT_RIDGE_ALPHAS, cv=None, alpha_per_target=False, validate=True):
    """Ridge regression X -> Y with the penalty chosen by CV on these rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
    alphas : sequence of float, default=DEFAULT_RIDGE_ALPHAS
        Relative penalties: α means α x ||Xᶜ||²_F / d_x (see module docstring).
    cv : None, int, cross-validation generator or iterable, default=None
        Internal CV of :class:`~sklearn.linear_model.RidgeCV`; None is its
        efficient leave-one-out.
    alpha_per_target : bool, default=False
        One penalty per column of Y (only with ``cv=None``).
    validate : bool, default=True
        Check the input (turn off only for arrays already validated).

    Returns
    -------
    model : RidgeCV
        Fitted; ``model.alpha_`` is the absolute penalty and
        ``model.relative_alpha_`` the chosen grid value.

    References
    ----------
    Hoerl & Kennard (1970), Technometrics 12(1).
    """
    a = _check_alphas(alphas)
    if alpha_per_target and cv is not None:
        raise ValueError("alpha_per_target=True needs cv=None (RidgeCV's efficient leave-one-out).")
    if validate:
        X, Y, xp = check_representation_xp(X, Y, min_samples=3)
        _check_nonconstant_any(X, "X", xp)
        _check_nonconstant_any(Y, "Y", xp)
    else:
        xp = _xp(X)
    if xp is None:
        Xf = X.astype(np.float64, copy=False)
        # mean eigenvalue of the centred XᵀX, without forming it
        scale = float(((Xf - Xf.mean(axis=0)) ** 2).sum()) / Xf.shape[1]
    else:
        Xc = X - xp.mean(X, axis=0)
        scale = float(xp.sum(Xc * Xc, dtype=_acc_dtype(xp, X))) / X.shape[1]
    model = RidgeCV(alphas=a * scale, cv=cv, alpha_per_target=alpha_per_target).fit(X, Y)
    alpha = model.alpha_
    if not isinstance(alpha, (float, np.ndarray, np.generic)):
        # per-target penalties on the device: a few numbers, kept on the host like the grid
        from sklearn.utils._array_api import _convert_to_numpy

        alpha = _convert_to_numpy(alpha, _xp(alpha))
    model.relative_alpha_ = np.asarray(alpha) / scale
    return model


def ridge_r2(model, X, Y):
    """Mean R² over Y's columns of a fitted ridge model's predictions.

    Columns of Y that are constant on these rows get scikit-learn's convention
    (1 if predicted exactly, else 0).

    Returns
    -------
    float
        In (-inf, 1]; 0 is the score of predicting each column's mean, and a
        held-out score can be negative.
    """
    if _xp(Y) is None:
        Y = np.asarray(Y)
    # r2_score follows the namespace of Array API input
    return float(r2_score(Y, model.predict(X), multioutput="uniform_average"))


def ridge_regression_score(
    X_train, Y_train, X_test=None, Y_test=None, *, alphas=DEFAULT_RIDGE_ALPHAS, cv=None,
    alpha_per_target=False, symmetric=False,
):
    """Linear predictivity of Y from X: mean R² of a ridge fit, held out if test rows are given.

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

    Returns
    -------
    float
        In (-inf, 1], higher = Y is better predicted linearly from X.

    References
    ----------
    Hoerl & Kennard (1970), Technometrics 12(1).
    """
    X_train, Y_train, xp = check_representation_xp(X_train, Y_train, name="X_train", name_y="Y_train", min_samples=3)
    _check_nonconstant_any(X_train, "X_train", xp)
    _check_nonconstant_any(Y_train, "Y_train", xp)
    if (X_test is None) != (Y_test is None):
        raise ValueError("Pass both X_test and Y_test, or neither.")
    if X_test is None:
        X_test, Y_test = X_train, Y_train
    else:
        X_test, Y_test, _ = check_representation_xp(X_test, Y_test, name="X_test", name_y="Y_test", min_samples=2)
        for name, tr, te in (("X", X_train, X_test), ("Y", Y_train, Y_test)):
            if tr.shape[1] != te.shape[1]:
                raise ValueError(f"{name}_test has {te.shape[1]} features but {name}_train has {tr.shape[1]}.")
    kw = dict(alphas=alphas, cv=cv, alpha_per_target=alpha_per_target, validate=False)
    s = ridge_r2(fit_ridge(X_train, Y_train, **kw), X_test, Y_test)
    if symmetric:
        s = 0.5 * (s + ridge_r2(fit_ridge(Y_train, X_train, **kw), Y_test, X_test))
    return s
