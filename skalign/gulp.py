"""GULP: the distance between the ridge-regression predictors two representations allow.

Boix-Adserà et al. [1]_ compare representations by what a ridge regression can
predict from them. With column-centred :math:`X_c` (:math:`n \\times d_x`), its covariance
:math:`\\Sigma_x = X_c^\\top X_c / n` and the cross-covariance :math:`\\Sigma_{xy} = X_c^\\top Y_c / n`,
the GULP distance with ridge parameter :math:`\\lambda > 0` is

.. math::

    d_\\lambda^2(X, Y) = \\operatorname{tr}\\bigl(\\Sigma_x^{\\lambda} \\Sigma_x \\Sigma_x^{\\lambda} \\Sigma_x\\bigr)
        + \\operatorname{tr}\\bigl(\\Sigma_y^{\\lambda} \\Sigma_y \\Sigma_y^{\\lambda} \\Sigma_y\\bigr)
        - 2 \\operatorname{tr}\\bigl(\\Sigma_x^{\\lambda} \\Sigma_{xy} \\Sigma_y^{\\lambda} \\Sigma_{yx}\\bigr),
    \\qquad \\Sigma^{\\lambda} = (\\Sigma + \\lambda I)^{-1},

which is :math:`\\|H_x - H_y\\|_F^2` for the ridge "hat" operators
:math:`H_x = X_c (X_c^\\top X_c + n\\lambda I)^{-1} X_c^\\top` that map any target on the samples
to its ridge prediction from X: :math:`d_\\lambda` measures how differently the two
representations predict linear tasks, averaged over tasks.

The similarity form is the cosine of the two hat operators,

.. math::

    s_\\lambda(X, Y) = \\frac{\\operatorname{tr}(H_x H_y)}{\\sqrt{\\operatorname{tr}(H_x^2)\\,\\operatorname{tr}(H_y^2)}} \\in [0, 1],
    \\qquad d_\\lambda^2 = \\operatorname{tr}(H_x^2) + \\operatorname{tr}(H_y^2) - 2\\, s_\\lambda \\sqrt{\\operatorname{tr}(H_x^2)\\operatorname{tr}(H_y^2)},

1 iff the two ridge predictors agree on every task. It interpolates between the two
classical similarities: as :math:`\\lambda \\to \\infty`, :math:`H \\propto X_c X_c^\\top` and
:math:`s_\\lambda` tends to linear CKA; as :math:`\\lambda \\to 0`, :math:`H` tends to the projection
on the column space and :math:`s_\\lambda \\to \\sum_i \\rho_i^2 / \\sqrt{r_x r_y}`, the
canonical correlations :math:`\\rho_i` of CCA.

Everything is computed from one eigendecomposition per representation of its
:math:`d \\times d` covariance (of its :math:`n \\times n` Gram matrix when :math:`d > n`):
with :math:`\\Sigma_x = V \\operatorname{diag}(e) V^\\top`, the scaled data
:math:`\\tilde X = X_c V \\operatorname{diag}(e + \\lambda)^{-1/2}` give
:math:`\\operatorname{tr}(H_x H_y) = \\|\\tilde X^\\top \\tilde Y\\|_F^2 / n^2` and
:math:`\\operatorname{tr}(H_x^2) = \\sum_i \\bigl(e_i / (e_i + \\lambda)\\bigr)^2`.

Scale convention: :math:`\\lambda` is compared with the variances of X, so by default
(``normalize=True``) each centred representation is first scaled to unit total
variance (:math:`\\operatorname{tr} \\Sigma = 1`), which makes the measure invariant to
isotropic scaling and one :math:`\\lambda` meaningful for every layer.

References
----------
.. [1] Boix-Adserà, E., Lawrence, H., Stepaniants, G. & Rigollet, P. (2022). GULP: a
   prediction-based metric between representations. NeurIPS 35.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

from ._array_api import sq_sum
from ._validation import check_nonconstant, check_prepared_pair, check_representation, check_same_samples

__all__ = [
    "GULP_PARAMETER_CONSTRAINTS",
    "PreparedGULP",
    "GULPComparison",
    "prepare_gulp",
    "combine_gulp",
    "gulp_distance",
    "gulp_similarity",
]

GULP_PARAMETER_CONSTRAINTS = {
    "lam": [Interval(Real, 0, None, closed="neither")],
    "normalize": ["boolean"],
}


@dataclass
class PreparedGULP:
    """One representation ready for :func:`combine_gulp`.

    ``Z`` is the scaled data :math:`\\tilde X` (:math:`\\tilde X \\tilde X^\\top = n H_x`),
    ``self_term`` is :math:`\\operatorname{tr}(H_x^2)`.
    """

    Z: np.ndarray
    self_term: float
    lam: float
    normalize: bool
    name: str

    @property
    def n_samples(self):
        return self.Z.shape[0]


@dataclass
class GULPComparison:
    """The three traces a GULP comparison needs: :math:`\\operatorname{tr}(H_x^2)`,
    :math:`\\operatorname{tr}(H_y^2)` and :math:`\\operatorname{tr}(H_x H_y)`."""

    xx: float
    yy: float
    xy: float

    def distance(self):
        """:math:`d_\\lambda \\ge 0`."""
        return float(np.sqrt(max(self.xx + self.yy - 2.0 * self.xy, 0.0)))

    def similarity(self):
        """:math:`s_\\lambda \\in [0, 1]`."""
        return float(np.clip(self.xy / np.sqrt(self.xx * self.yy), 0.0, 1.0))


def _prepare(X, lam, normalize, name):
    check_nonconstant(X, name)
    Xc = np.asarray(X, dtype=np.float64)
    Xc = Xc - Xc.mean(axis=0)
    n, d = Xc.shape
    if normalize:
        Xc = Xc * np.sqrt(n / sq_sum(Xc))
    if d <= n:
        e, V = np.linalg.eigh(Xc.T @ Xc / n)
        e = np.clip(e, 0.0, None)
        Z = Xc @ (V / np.sqrt(e + lam))
    else:
        # Gram route: X_c = U S W^T gives X~ = U S / sqrt(S^2/n + lam), with e = S^2 / n
        g, U = np.linalg.eigh(Xc @ Xc.T)
        g = np.clip(g, 0.0, None)
        e = g / n
        Z = U * np.sqrt(g / (e + lam))
    self_term = float(np.sum((e / (e + lam)) ** 2))
    return PreparedGULP(Z, self_term, float(lam), bool(normalize), name)


@validate_params(
    {"X": "no_validation", "name": [str], **GULP_PARAMETER_CONSTRAINTS}, prefer_skip_nested_validation=True
)
def prepare_gulp(X, *, lam=0.01, normalize=True, name="X"):
    """Per-representation work of GULP: centring, scaling and one eigendecomposition.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    lam, normalize
        See :func:`gulp_distance`.
    name : str, default='X'

    Returns
    -------
    PreparedGULP
    """
    X = check_representation(X, name=name, min_samples=2)
    return _prepare(X, lam, normalize, name)


def combine_gulp(PX, PY):
    """The traces of a GULP comparison from two results of :func:`prepare_gulp`.

    One :math:`d_x \\times d_y` product over the samples.

    Returns
    -------
    GULPComparison
    """
    check_prepared_pair(PX, PY, PreparedGULP, ("lam", "normalize"), "combine_gulp")
    n = PX.n_samples
    xy = float(sq_sum(PX.Z.T @ PY.Z)) / n**2
    return GULPComparison(PX.self_term, PY.self_term, xy)


def _compare(X, Y, lam, normalize):
    X = check_representation(X, name="X", min_samples=2)
    Y = check_representation(Y, name="Y", min_samples=2)
    check_same_samples(X.shape[0], Y.shape[0], shapes=(X.shape, Y.shape))
    return combine_gulp(_prepare(X, lam, normalize, "X"), _prepare(Y, lam, normalize, "Y"))


@validate_params(
    {"X": "no_validation", "Y": "no_validation", **GULP_PARAMETER_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def gulp_distance(X, Y, *, lam=0.01, normalize=True):
    """GULP distance between two representations of the same samples [1]_.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in a second representation (row i = stimulus i).
    lam : float > 0, default=0.01
        Ridge parameter :math:`\\lambda`, in units of the (normalised) variances.
    normalize : bool, default=True
        Scale each centred representation to unit total variance first.

    Returns
    -------
    distance : float
        :math:`d_\\lambda \\ge 0`; 0 iff the two ridge predictors agree on every task.
        As the square root of a difference of traces, a distance of 0 comes out at
        about the square root of the rounding error (1e-8).

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.metrics import gulp_distance
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> bool(gulp_distance(X, 3 * X + 1) < 1e-6)
    True
    """
    return _compare(X, Y, lam, normalize).distance()


@validate_params(
    {"X": "no_validation", "Y": "no_validation", **GULP_PARAMETER_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def gulp_similarity(X, Y, *, lam=0.01, normalize=True):
    """GULP similarity :math:`s_\\lambda`: the cosine of the two ridge hat operators.

    Parameters are those of :func:`gulp_distance`.

    Returns
    -------
    similarity : float
        In [0, 1]; 1 iff the ridge predictors agree. Tends to linear CKA as ``lam``
        grows and to a CCA :math:`R^2` similarity as it shrinks (see :mod:`skalign.gulp`).
    """
    return _compare(X, Y, lam, normalize).similarity()
