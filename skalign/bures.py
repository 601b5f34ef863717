"""Normalized Bures similarity (NBS) of the linear kernels of two representations.

With :math:`K = X_c X_c^\\top` and :math:`L = Y_c Y_c^\\top` the linear kernels of the
column-centred representations, the normalized Bures similarity of Tang et al. [1]_ is

.. math::

    \\mathrm{NBS}(X, Y) = \\frac{\\operatorname{tr}\\bigl((K^{1/2} L K^{1/2})^{1/2}\\bigr)}
        {\\sqrt{\\operatorname{tr} K \\, \\operatorname{tr} L}} \\in [0, 1],

the fidelity of the two kernels seen as (unnormalised) covariance operators. The
eigenvalues of :math:`K^{1/2} L K^{1/2}` are the squared singular values of
:math:`X_c^\\top Y_c`, and :math:`\\operatorname{tr} K = \\|X_c\\|_F^2`, so

.. math::

    \\mathrm{NBS}(X, Y) = \\frac{\\|X_c^\\top Y_c\\|_*}{\\|X_c\\|_F \\, \\|Y_c\\|_F},

computed in feature space: one :math:`d_x \\times d_y` product and its singular values.
This is the cosine of the angle between the shapes of X and Y in orthogonal Procrustes
(``ProcrustesScorer(alpha=1)`` in sample), i.e. the cosine of the Riemannian shape
distance of Harvey, Larsen & Williams [2]_. A representation wider than it has samples
is first replaced by the :math:`n \\times n` factor :math:`R^\\top` of the QR decomposition
:math:`X_c^\\top = QR`, which has the same kernel (:math:`R^\\top R = K`) and hence the same NBS.

NBS is 1 if and only if Y equals X up to rotation, uniform scale and translation. It
is not 0 for independent representations: the nuclear norm of a product of independent
matrices is positive, and its chance level grows with the widths relative to n.

References
----------
.. [1] Tang, S., Maddox, W. J., Dickens, C., Diethe, T. & Damianou, A. (2020).
   Similarity of neural networks with gradients. arXiv:2003.11498.
.. [2] Harvey, S. E., Larsen, B. W. & Williams, A. H. (2024). Duality of Bures and shape
   distances with implications for comparing neural representations. UniReps workshop,
   PMLR 243.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
from sklearn.utils._param_validation import validate_params

from ._array_api import ldexp, pow2_exponent, sq_sum
from ._validation import check_nonconstant, check_prepared_pair, check_representation, check_same_samples

__all__ = [
    "BURES_PARAMETER_CONSTRAINTS",
    "PreparedBures",
    "prepare_bures",
    "combine_bures",
    "normalized_bures_similarity",
]

BURES_PARAMETER_CONSTRAINTS = {"center": ["boolean"]}


@dataclass
class PreparedBures:
    """One representation ready for :func:`combine_bures`.

    ``F`` has the kernel of the (centred) data (:math:`F F^\\top = X_c X_c^\\top`) with at most
    ``n_samples`` columns; ``trace`` is :math:`\\operatorname{tr} K = \\|F\\|_F^2`.
    """

    F: np.ndarray
    trace: float
    center: bool
    name: str

    @property
    def n_samples(self):
        return self.F.shape[0]


def _prepare(X, center, name):
    # NBS is free of each side's scale; exact powers of two bring X (and again its
    # centred copy) to unit scale, so no square overflows at 1e300 or underflows at 1e-300
    Xc = np.asarray(X, dtype=np.float64)
    Xc = ldexp(Xc, -pow2_exponent(Xc))
    if center:
        check_nonconstant(X, name)
        Xc = Xc - Xc.mean(axis=0)
        Xc = ldexp(Xc, -pow2_exponent(Xc))
    elif not np.any(Xc):
        raise ValueError(f"{name} is all zero: its kernel is 0 and NBS is undefined.")
    n, d = Xc.shape
    # wide data: an n x n factor with the same kernel keeps combine at n x n
    F = np.linalg.qr(Xc.T, mode="r").T if d > n else Xc
    return PreparedBures(F, float(sq_sum(F)), bool(center), name)


@validate_params(
    {"X": "no_validation", "name": [str], **BURES_PARAMETER_CONSTRAINTS}, prefer_skip_nested_validation=True
)
def prepare_bures(X, *, center=True, name="X"):
    """Per-representation work of NBS: centring, and a QR factor for data wider than long.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    center : bool, default=True
        See :func:`normalized_bures_similarity`.
    name : str, default='X'

    Returns
    -------
    PreparedBures
    """
    X = check_representation(X, name=name, min_samples=2)
    return _prepare(X, center, name)


def combine_bures(PX, PY):
    """NBS of two results of :func:`prepare_bures`: one product and its singular values."""
    check_prepared_pair(PX, PY, PreparedBures, ("center",), "combine_bures")
    s = scipy.linalg.svdvals(PX.F.T @ PY.F)
    return float(np.clip(s.sum() / np.sqrt(PX.trace * PY.trace), 0.0, 1.0))


@validate_params(
    {"X": "no_validation", "Y": "no_validation", **BURES_PARAMETER_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def normalized_bures_similarity(X, Y, *, center=True):
    """Normalized Bures similarity of the linear kernels of two representations [1]_.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in a second representation (row i = stimulus i).
    center : bool, default=True
        Centre the columns first (the kernels of Tang et al. are centred). False
        compares the raw linear kernels, and NBS is then no longer invariant to
        translation.

    Returns
    -------
    nbs : float
        In [0, 1]; 1 iff Y = c X Q + t for an orthogonal Q (zero-padding the narrower
        side), c > 0. See :mod:`skalign.bures` for its chance level.

    Raises
    ------
    ValueError
        Fewer than 2 samples, or a representation whose rows are all the same point.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.metrics import normalized_bures_similarity
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 6))
    >>> Q = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    >>> round(normalized_bures_similarity(X, 2 * X @ Q + 1), 12)
    1.0
    """
    X = check_representation(X, name="X", min_samples=2)
    Y = check_representation(Y, name="Y", min_samples=2)
    check_same_samples(X.shape[0], Y.shape[0], shapes=(X.shape, Y.shape))
    return combine_bures(_prepare(X, center, "X"), _prepare(Y, center, "Y"))
