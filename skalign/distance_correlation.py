"""Distance correlation: dependence of two representations through their pairwise distances.

With :math:`a_{ij} = \\|x_i - x_j\\|` and :math:`b_{ij} = \\|y_i - y_j\\|` the Euclidean
distance matrices of the two representations, the squared distance covariance of
Székely, Rizzo & Bakirov [1]_ is the mean product of the double-centred matrices,

.. math::

    \\mathcal V^2_n(X, Y) = \\frac1{n^2} \\sum_{i,j} A_{ij} B_{ij}, \\qquad
    A_{ij} = a_{ij} - \\bar a_{i\\cdot} - \\bar a_{\\cdot j} + \\bar a_{\\cdot\\cdot},

and the distance correlation is

.. math::

    \\mathcal R_n(X, Y) = \\sqrt{\\frac{\\mathcal V^2_n(X, Y)}{\\sqrt{\\mathcal V^2_n(X, X)\\,\\mathcal V^2_n(Y, Y)}}}
    \\in [0, 1].

It is 0 in the population if and only if X and Y are independent, and 1 when Y is a
similarity transform of X (rotation, uniform scale, translation). In a sample
:math:`\\mathcal R_n` is biased upwards (towards 1 as the width grows with n fixed).
The bias-corrected version of Székely & Rizzo [2]_ replaces double centring by
U-centring, an unbiased estimator of the squared distance covariance,

.. math::

    \\Omega_n(X, Y) = \\frac1{n(n-3)} \\Bigl[\\sum_{i \\ne j} a_{ij} b_{ij}
        - \\frac2{n-2} \\sum_i a_{i\\cdot} b_{i\\cdot}
        + \\frac{a_{\\cdot\\cdot}\\, b_{\\cdot\\cdot}}{(n-1)(n-2)}\\Bigr],
    \\qquad
    \\mathcal R^*_n(X, Y) = \\frac{\\Omega_n(X, Y)}{\\sqrt{\\Omega_n(X, X)\\,\\Omega_n(Y, Y)}},

(:math:`a_{i\\cdot}` a row sum, :math:`a_{\\cdot\\cdot}` the total), which is not squared
again: :math:`\\mathcal R^*_n` estimates :math:`\\mathcal R^2` without bias, lies in
[-1, 1] and is near 0 for independent representations, at any width.

Both need only the row sums and totals of :math:`a` and :math:`b` and the sums
:math:`\\sum a_{ij} b_{ij}`, :math:`\\sum a^2_{ij}`, :math:`\\sum b^2_{ij}`, so the distances
are formed in row blocks sized by scikit-learn's ``working_memory``, one block of each
representation at a time: no n x n matrix is ever held. Distances come from the
expansion :math:`\\|x_i\\|^2 + \\|x_j\\|^2 - 2\\langle x_i, x_j\\rangle` on column-centred
float64 data (fast, BLAS), with squared distances below its rounding error set to 0.

References
----------
.. [1] Székely, G. J., Rizzo, M. L. & Bakirov, N. K. (2007). Measuring and testing
   dependence by correlation of distances. Ann. Statist. 35(6), 2769-2794.
.. [2] Székely, G. J. & Rizzo, M. L. (2013). The distance correlation t-test of
   independence in high dimension. J. Multivariate Anal. 117, 193-213.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils._param_validation import validate_params

from ._array_api import ldexp, pow2_exponent, sq_sum
from ._validation import check_nonconstant, check_prepared_pair, check_representation, check_same_samples
from .neighbors import block_rows, pairwise_block

__all__ = [
    "DISTANCE_CORRELATION_PARAMETER_CONSTRAINTS",
    "PreparedDistances",
    "prepare_distance_correlation",
    "combine_distance_correlation",
    "distance_correlation",
]

DISTANCE_CORRELATION_PARAMETER_CONSTRAINTS = {"bias_corrected": ["boolean"]}

# squared distances below this multiple of eps * (|x_i|^2 + |x_j|^2) are rounding noise
_NOISE = 64 * np.finfo(np.float64).eps


@dataclass
class PreparedDistances:
    """One representation ready for :func:`combine_distance_correlation`.

    Holds the column-centred float64 rows and their squared norms (from which any
    row block of the distance matrix is recomputed), the distance matrix's row sums
    and total, and its self term (:math:`\\mathcal V^2_n(X, X)` or :math:`\\Omega_n(X, X)`).
    """

    Z: np.ndarray
    sq_norms: np.ndarray
    row_sums: np.ndarray
    total: float
    self_term: float
    bias_corrected: bool
    name: str

    @property
    def n_samples(self):
        return self.Z.shape[0]


def _distance_block(Z, sq_norms, rows):
    D = pairwise_block(Z, sq_norms, rows, "sqeuclidean")
    idx = np.arange(D.shape[0])
    D[idx, rows.start + idx] = 0.0
    D[D <= _NOISE * (sq_norms[rows][:, None] + sq_norms[None, :])] = 0.0
    return np.sqrt(D, out=D)


def _cross_sum(PX, PY):
    """:math:`\\sum_{ij} a_{ij} b_{ij}` over row blocks, one block of each side at a time."""
    n = PX.n_samples
    step = block_rows(n, n_copies=3)
    total = 0.0
    for start in range(0, n, step):
        rows = slice(start, min(start + step, n))
        A = _distance_block(PX.Z, PX.sq_norms, rows)
        B = _distance_block(PY.Z, PY.sq_norms, rows)
        total += float(np.einsum("ij,ij->", A, B))
    return total


def _statistic(s_ab, ra, rb, ta, tb, n, bias_corrected):
    """:math:`\\mathcal V^2_n` or :math:`\\Omega_n` from the sums it depends on."""
    if bias_corrected:
        return (s_ab - 2.0 / (n - 2) * float(ra @ rb) + ta * tb / ((n - 1) * (n - 2))) / (n * (n - 3))
    return s_ab / n**2 - 2.0 / n**3 * float(ra @ rb) + ta * tb / n**4


def _prepare(X, bias_corrected, name):
    check_nonconstant(X, name)
    Z = np.asarray(X, dtype=np.float64)
    # distances do not depend on the origin; centring keeps the expansion accurate. The
    # statistic is free of each side's scale: exact powers of two bring the data (and its
    # centred copy) to unit scale, so no squared distance overflows or underflows
    Z = ldexp(Z, -pow2_exponent(Z))
    Z = Z - Z.mean(axis=0)
    Z = ldexp(Z, -pow2_exponent(Z))
    sq_norms = sq_sum(Z, axis=1)
    n = Z.shape[0]
    row_sums = np.empty(n)
    step = block_rows(n, n_copies=2)
    s_aa = 0.0
    for start in range(0, n, step):
        rows = slice(start, min(start + step, n))
        A = _distance_block(Z, sq_norms, rows)
        row_sums[rows] = A.sum(axis=1)
        s_aa += float(np.einsum("ij,ij->", A, A))
    total = float(row_sums.sum())
    self_term = _statistic(s_aa, row_sums, row_sums, total, total, n, bias_corrected)
    if not self_term > 0.0:
        raise ValueError(
            f"{name} has a distance variance of {self_term:.3g}, so its distance correlation is "
            f"undefined ({n} samples{', bias-corrected' if bias_corrected else ''})."
        )
    return PreparedDistances(Z, sq_norms, row_sums, total, float(self_term), bool(bias_corrected), name)


def _min_samples(bias_corrected):
    # U-centring divides by n - 3
    return 4 if bias_corrected else 2


@validate_params(
    {"X": "no_validation", "name": [str], **DISTANCE_CORRELATION_PARAMETER_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def prepare_distance_correlation(X, *, bias_corrected=False, name="X"):
    """Per-representation work of the distance correlation: row sums and self term.

    One pass over the distance matrix in row blocks; :func:`combine_distance_correlation`
    then needs one pass over the two distance matrices together.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    bias_corrected : bool, default=False
        See :func:`distance_correlation`.
    name : str, default='X'

    Returns
    -------
    PreparedDistances
    """
    X = check_representation(X, name=name, min_samples=_min_samples(bias_corrected))
    return _prepare(X, bias_corrected, name)


def combine_distance_correlation(PX, PY):
    """Distance correlation of two results of :func:`prepare_distance_correlation`.

    Returns
    -------
    score : float
        :math:`\\mathcal R_n \\in [0, 1]`, or :math:`\\mathcal R^*_n \\in [-1, 1]` when prepared
        with ``bias_corrected=True``.
    """
    check_prepared_pair(PX, PY, PreparedDistances, ("bias_corrected",), "combine_distance_correlation")
    s_ab = _cross_sum(PX, PY)
    cross = _statistic(s_ab, PX.row_sums, PY.row_sums, PX.total, PY.total, PX.n_samples, PX.bias_corrected)
    r = cross / np.sqrt(PX.self_term * PY.self_term)
    if PX.bias_corrected:
        return float(np.clip(r, -1.0, 1.0))
    # V^2_n(X, Y) >= 0 exactly; a rounding-level negative value is 0
    return float(np.sqrt(np.clip(r, 0.0, 1.0)))


@validate_params(
    {"X": "no_validation", "Y": "no_validation", **DISTANCE_CORRELATION_PARAMETER_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def distance_correlation(X, Y, *, bias_corrected=False):
    """Distance correlation of two representations of the same samples [1]_.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in a second representation (row i = stimulus i).
    bias_corrected : bool, default=False
        False: :math:`\\mathcal R_n` of [1]_ in [0, 1] (``dcor.distance_correlation``).
        True: the bias-corrected :math:`\\mathcal R^*_n` of [2]_ in [-1, 1], an unbiased
        estimate of the *squared* population distance correlation, near 0 for
        independent representations (``dcor.u_distance_correlation_sqr``); needs n >= 4.

    Returns
    -------
    score : float
        1 when Y is a rotation, uniform scaling and translation of X.

    Raises
    ------
    ValueError
        Too few samples, or a representation whose rows are all the same point.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.metrics import distance_correlation
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> round(distance_correlation(X, -2 * X + 1), 12)
    1.0
    """
    m = _min_samples(bias_corrected)
    X = check_representation(X, name="X", min_samples=m)
    Y = check_representation(Y, name="Y", min_samples=m)
    check_same_samples(X.shape[0], Y.shape[0], shapes=(X.shape, Y.shape))
    return combine_distance_correlation(_prepare(X, bias_corrected, "X"), _prepare(Y, bias_corrected, "Y"))
