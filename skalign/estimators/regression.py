"""LinearRegressionScorer: held-out linear predictivity (ridge, CV-chosen penalty)."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..base import BasePairedScorer
from ..regression import (
    DEFAULT_RIDGE_ALPHAS,
    RIDGE_PARAMETER_CONSTRAINTS,
    fit_ridge_pair,
    ridge_pair_r2,
)

__all__ = ["LinearRegressionScorer"]


class LinearRegressionScorer(BasePairedScorer):
    """Ridge regression from X to Y; score = R² (or correlation) over Y's columns on the rows given.

    ``fit`` learns the ridge weights, choosing the penalty from ``alphas`` by
    internal cross-validation on the training rows only (scikit-learn's
    :class:`~sklearn.linear_model.RidgeCV`); ``score`` predicts Y from X on the
    rows given and returns the coefficient of determination over Y's columns
    (variance-weighted or averaged, see ``multioutput``), or the correlation of
    prediction and target (``score_method='pearson'``). Under
    ``cross_val_score`` this is the held-out linear
    predictivity of the convergent-learning literature. The single
    implementation is :func:`skalign.metrics.fit_ridge_pair` /
    :func:`skalign.metrics.ridge_pair_r2`.

    Parameters
    ----------
    alphas : array-like of float, default=numpy.logspace(-6, 3, 10)
        Relative penalties: :math:`a` means a ridge penalty of
        :math:`a\\,\\|X^c\\|_F^2 / d_x` (:math:`a` times the mean eigenvalue of the
        centred training :math:`X^\\top X`), so the grid
        does not depend on the scale of X.
    symmetric : bool, default=False
        Also fit Y -> X and report the average of the two directions. (The
        class attribute of the same name describes the default, asymmetric
        measure.)
    cv : None, int, cross-validation generator or iterable, default=None
        Internal CV for the penalty; None is RidgeCV's efficient leave-one-out.
    alpha_per_target : bool, default=False
        One penalty per column of Y (only with ``cv=None``).
    multioutput : {'uniform_average', 'variance_weighted'}, default='variance_weighted'
        How the per-column scores become one number (scikit-learn's names):
        ``'variance_weighted'`` is the fraction of Y's total variance explained,
        :math:`1 - \\sum_j \\mathrm{SSE}_j / \\sum_j \\mathrm{SST}_j`;
        ``'uniform_average'`` the plain mean of the per-column R², where a column
        with almost no variance on the scored rows can reach large negative
        values. The default was ``'uniform_average'`` before, so default scores
        changed; pass it for the earlier numbers. Per-column scores: :func:`skalign.metrics.ridge_r2` with
        ``multioutput='raw_values'``.
    score_method : {'r2', 'pearson'}, default='r2'
        ``'pearson'``: the correlation of each column's held-out prediction with
        the column, averaged as ``multioutput`` says (``'uniform_average'`` is the
        neural-predictivity convention). It is read on the scale of Procrustes'
        :math:`\\cos\\theta` and of the matching scorers' mean r.

    Attributes
    ----------
    model_ : RidgeCV
        The fitted X -> Y model.
    reverse_model_ : RidgeCV or None
        The fitted Y -> X model when ``symmetric=True``.
    alpha_ : float or ndarray
        Chosen relative penalty (X -> Y).
    n_features_in_, n_features_y_ : int

    Notes
    -----
    Score range (-inf, 1] for R² ([-1, 1] for ``score_method='pearson'``): 1 is
    perfect prediction, 0 is predicting each column's training mean, and held-out scores of unrelated
    representations are typically slightly negative. Columns of Y that are
    constant on the scored rows follow scikit-learn's R² convention (1 if
    predicted exactly, else 0). Invariant to translating either representation
    and to scaling either by a positive constant (the relative penalty grid
    makes the X scaling exact); not symmetric unless ``symmetric=True``.

    With ``sklearn.set_config(array_api_dispatch=True)``, CuPy or PyTorch input
    is fitted and scored on its own device (see :mod:`skalign.regression`).

    ``dask.array`` input (training or test rows): the ridge fit (leave-one-out
    alpha choice included) and the held-out R² come from d x d sums over row
    chunks, computed on the cluster (see :mod:`skalign.regression`).

    References
    ----------
    Hoerl & Kennard (1970). Ridge regression: biased estimation for
    nonorthogonal problems. Technometrics 12(1).
    Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
    representations revisited. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import KFold, cross_val_score
    >>> from skalign import LinearRegressionScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 10))
    >>> Y = X @ rng.normal(size=(10, 3)) + 0.1 * rng.normal(size=(200, 3))
    >>> scores = cross_val_score(LinearRegressionScorer(), X, Y, cv=KFold(5, shuffle=True, random_state=0))
    >>> bool(scores.min() > 0.9)
    True
    """

    def _metadata(self):
        return {
            "score_range": (-1.0, 1.0) if self.score_method == "pearson" else (-np.inf, 1.0),
            "invariances": ("translation", "isotropic_scaling", "sample_permutation"),
            # the hyper-parameter is the property: symmetric=True averages both directions
            "symmetric": bool(self.symmetric),
            "stateless": False,
        }

    _array_api = True
    _dask = True

    _parameter_constraints: dict = {**RIDGE_PARAMETER_CONSTRAINTS}

    def __init__(self, alphas=DEFAULT_RIDGE_ALPHAS, symmetric=False, cv=None, alpha_per_target=False,
                 multioutput="variance_weighted", score_method="r2"):
        self.alphas = alphas
        self.symmetric = symmetric
        self.cv = cv
        self.alpha_per_target = alpha_per_target
        self.multioutput = multioutput
        self.score_method = score_method

    def _min_samples(self):
        return 3

    def _fit(self, X, Y):
        self.model_, self.reverse_model_ = fit_ridge_pair(
            X, Y, alphas=self.alphas, cv=self.cv, alpha_per_target=self.alpha_per_target,
            symmetric=self.symmetric, validate=False,
        )
        self.alpha_ = self.model_.relative_alpha_

    def _score(self, X, Y):
        check_is_fitted(self, "model_")
        return ridge_pair_r2(self.model_, self.reverse_model_, X, Y, multioutput=self.multioutput,
                             score_method=self.score_method)
