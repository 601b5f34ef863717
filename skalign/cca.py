"""Canonical correlation analysis (CCA): mean canonical correlation, SVCCA and PWCCA.

Column-centred representations :math:`X_c` and :math:`Y_c` are whitened through their
thin SVDs, :math:`X_c = U_x S_x V_x^\\top`, keeping the singular values above a relative
tolerance (``tol``, default :math:`\\max(n, d)\\,\\varepsilon`): null directions (dead units,
collinear features, more features than samples) are dropped instead of inverting a
singular covariance. The canonical correlations are the singular values of

.. math::

    U_x^\\top U_y = A\\, \\operatorname{diag}(\\rho_1 \\ge \\dots \\ge \\rho_m)\\, B^\\top,
    \\qquad m = \\min(r_x, r_y),

equivalently the cosines of the principal angles between the column spaces of
:math:`X_c` and :math:`Y_c`, and the canonical weights are :math:`V_x S_x^{-1} A` and
:math:`V_y S_y^{-1} B` (Hotelling [1]_). Three summaries (``kind``):

* ``'mean'``: :math:`\\bar\\rho = \\frac1m \\sum_i \\rho_i`.
* ``'svcca'`` (Raghu et al. [2]_): each side is first reduced to its leading singular
  directions that explain ``variance_fraction`` of its variance (the fewest :math:`k`
  with :math:`\\sum_{i \\le k} s_i^2 \\ge f \\sum_i s_i^2`), then the mean canonical
  correlation of the reduced representations.
* ``'pwcca'`` (Morcos et al. [3]_): :math:`\\sum_i \\tilde\\alpha_i \\rho_i` with
  :math:`\\alpha_i = \\sum_j |\\langle h_i, x_j \\rangle|`, :math:`\\tilde\\alpha = \\alpha / \\sum_i \\alpha_i`,
  where :math:`h_i = U_x a_i` is the i-th unit-norm canonical variate of X and
  :math:`x_j` the j-th centred column of X: the directions that account for more of X
  weigh more. The weights come from X, so PWCCA is not symmetric (the authors'
  reference code instead takes them from whichever side keeps fewer neurons, and
  adds a small ridge to the covariances; its values differ accordingly).

Fitted and held-out
-------------------
:func:`fit_cca` learns the centring and the canonical weights on training rows;
:func:`cca_transfer_score` applies them unchanged to new rows and correlates each pair
of canonical variates there (Pearson, over the new rows), so a held-out score lies in
[-1, 1] and is not inflated by overfitting. In sample the variates' correlations are the
:math:`\\rho_i`, so :func:`cca_score` is in [0, 1]. With more features than samples the
in-sample canonical correlations are all 1 (:math:`r_x + r_y > n - 1` leaves common
directions by dimension count alone): score held out, or reduce with ``'svcca'``.
A held-out variate that is constant on the new rows has no correlation; it counts as 0.

References
----------
.. [1] Hotelling, H. (1936). Relations between two sets of variates. Biometrika 28, 321-377.
.. [2] Raghu, M., Gilmer, J., Yosinski, J. & Sohl-Dickstein, J. (2017). SVCCA: Singular
   vector canonical correlation analysis for deep learning dynamics and
   interpretability. NeurIPS 30.
.. [3] Morcos, A. S., Raghu, M. & Bengio, S. (2018). Insights on representational
   similarity in neural networks with canonical correlation. NeurIPS 31.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._validation import check_nonconstant, check_prepared_pair, check_representation, check_same_samples

__all__ = [
    "CCA_KINDS",
    "CCA_PARAMETER_CONSTRAINTS",
    "PreparedCCA",
    "CCAFit",
    "prepare_cca",
    "combine_cca",
    "fit_cca",
    "cca_transfer_score",
    "cca_score",
]

#: Summaries of the canonical correlations.
CCA_KINDS = ("mean", "svcca", "pwcca")

CCA_PARAMETER_CONSTRAINTS = {
    "kind": [StrOptions(set(CCA_KINDS))],
    "variance_fraction": [Interval(Real, 0, 1, closed="right")],
    "tol": [Interval(Real, 0, 1, closed="left"), None],
}


@dataclass
class PreparedCCA:
    """One representation whitened for :func:`combine_cca` (see :func:`prepare_cca`).

    ``U`` (n x r) is an orthonormal basis of the kept column space of the centred rows,
    ``W`` (d x r) maps centred rows onto it (:math:`X_c W = U`), and ``SVt`` (r x d) is
    :math:`S V^\\top` of the full-rank part, from which PWCCA's weights follow.
    """

    mean: np.ndarray
    U: np.ndarray
    W: np.ndarray
    SVt: np.ndarray
    kind: str
    variance_fraction: float
    name: str

    @property
    def n_samples(self):
        return self.U.shape[0]


@dataclass
class CCAFit:
    """Centring and canonical weights learned on training rows (see :func:`fit_cca`).

    ``weights_x`` (d_x x m) and ``weights_y`` (d_y x m) map centred rows to the canonical
    variates; ``correlations`` are the training canonical correlations (decreasing);
    ``component_weights`` sum to 1 and weigh the components in the score.
    """

    mean_x: np.ndarray
    mean_y: np.ndarray
    weights_x: np.ndarray
    weights_y: np.ndarray
    correlations: np.ndarray
    component_weights: np.ndarray
    kind: str

    def score(self):
        """The training (in-sample) score: the weighted mean of ``correlations``."""
        return float(np.clip(self.component_weights @ self.correlations, 0.0, 1.0))

    def transfer_score(self, X, Y):
        """Score of validated new rows (see :func:`cca_transfer_score`, which validates)."""
        for A, mean, name in ((X, self.mean_x, "X"), (Y, self.mean_y, "Y")):
            if A.shape[1] != mean.size:
                raise ValueError(f"{name} has {A.shape[1]} features, but the CCA was fitted with {mean.size}.")
        Cx = (np.asarray(X, dtype=np.float64) - self.mean_x) @ self.weights_x
        Cy = (np.asarray(Y, dtype=np.float64) - self.mean_y) @ self.weights_y
        return float(self.component_weights @ _variate_correlations(Cx, Cy))


def _prepare(X, kind, variance_fraction, tol, name):
    check_nonconstant(X, name)
    Xf = np.asarray(X, dtype=np.float64)
    mean = Xf.mean(axis=0)
    Xc = Xf - mean
    n, d = Xc.shape
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    rtol = max(n, d) * np.finfo(np.float64).eps if tol is None else float(tol)
    r = int(np.sum(s > rtol * s[0]))
    U, s, Vt = U[:, :r], s[:r], Vt[:r]
    SVt = s[:, None] * Vt
    k = r
    if kind == "svcca":
        share = np.cumsum(s**2) / np.sum(s**2)
        # the fewest leading directions whose share reaches the fraction (rounding-tolerant)
        k = min(int(np.searchsorted(share, variance_fraction * (1 - 1e-12), side="left")) + 1, r)
    W = Vt[:k].T / s[:k]
    return PreparedCCA(mean, U[:, :k], W, SVt, kind, float(variance_fraction), name)


@validate_params(
    {"X": "no_validation", "name": [str], **CCA_PARAMETER_CONSTRAINTS}, prefer_skip_nested_validation=True
)
def prepare_cca(X, *, kind="mean", variance_fraction=0.99, tol=None, name="X"):
    """Per-representation work of CCA: centring and an SVD-based whitening.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    kind, variance_fraction, tol
        See :func:`cca_score`.
    name : str, default='X'

    Returns
    -------
    PreparedCCA
    """
    X = check_representation(X, name=name, min_samples=2)
    return _prepare(X, kind, variance_fraction, tol, name)


def combine_cca(PX, PY):
    """Canonical correlation analysis of two results of :func:`prepare_cca`.

    One SVD of the :math:`r_x \\times r_y` product :math:`U_x^\\top U_y`.

    Returns
    -------
    CCAFit
        Its :meth:`~CCAFit.score` is the in-sample score.
    """
    check_prepared_pair(PX, PY, PreparedCCA, ("kind", "variance_fraction"), "combine_cca")
    A, rho, Bt = np.linalg.svd(PX.U.T @ PY.U, full_matrices=False)
    m = rho.size
    A, B = A[:, :m], Bt[:m].T
    rho = np.clip(rho, 0.0, 1.0)
    if PX.kind == "pwcca":
        # |<h_i, x_j>| summed over the columns of X, with h_i = U_x a_i
        alpha = np.abs(A.T @ PX.SVt).sum(axis=1)
        w = alpha / alpha.sum()
    else:
        w = np.full(m, 1.0 / m)
    return CCAFit(PX.mean, PY.mean, PX.W @ A, PY.W @ B, rho, w, PX.kind)


def _variate_correlations(Cx, Cy):
    Cx = Cx - Cx.mean(axis=0)
    Cy = Cy - Cy.mean(axis=0)
    num = np.einsum("ij,ij->j", Cx, Cy)
    den = np.sqrt(np.einsum("ij,ij->j", Cx, Cx) * np.einsum("ij,ij->j", Cy, Cy))
    scale = np.finfo(np.float64).eps * Cx.shape[0]
    # a variate constant on these rows (to rounding) has no correlation: it counts as 0
    ok = den > scale * np.sqrt(np.einsum("ij,ij->j", Cx, Cx).max() * np.einsum("ij,ij->j", Cy, Cy).max())
    out = np.zeros(Cx.shape[1])
    out[ok] = num[ok] / den[ok]
    return np.clip(out, -1.0, 1.0)


@validate_params(
    {"X": "no_validation", "Y": "no_validation", **CCA_PARAMETER_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def fit_cca(X, Y, *, kind="mean", variance_fraction=0.99, tol=None):
    """Learn the centring and canonical weights of X and Y on these rows.

    Parameters are those of :func:`cca_score`.

    Returns
    -------
    CCAFit
    """
    return _fit_pair(X, Y, kind, variance_fraction, tol)


def _fit_pair(X, Y, kind, variance_fraction, tol):
    X = check_representation(X, name="X", min_samples=2)
    Y = check_representation(Y, name="Y", min_samples=2)
    check_same_samples(X.shape[0], Y.shape[0], shapes=(X.shape, Y.shape))
    return combine_cca(_prepare(X, kind, variance_fraction, tol, "X"), _prepare(Y, kind, variance_fraction, tol, "Y"))


def cca_transfer_score(fit, X, Y):
    """Score of new rows under a :class:`CCAFit` learned on other rows.

    The learned centring and weights map X and Y to canonical variates; each pair is
    correlated over these rows and the correlations are averaged with the fit's
    component weights.

    Parameters
    ----------
    fit : CCAFit
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
        At least 2 rows, with the widths the fit was learned on.

    Returns
    -------
    score : float
        In [-1, 1]; equal to ``fit.score()`` on the training rows.
    """
    if not isinstance(fit, CCAFit):
        raise TypeError(f"fit must be a CCAFit from fit_cca or combine_cca; got {type(fit).__name__}.")
    X = check_representation(X, name="X", min_samples=2)
    Y = check_representation(Y, name="Y", min_samples=2)
    check_same_samples(X.shape[0], Y.shape[0], shapes=(X.shape, Y.shape))
    return fit.transfer_score(X, Y)


@validate_params(
    {"X": "no_validation", "Y": "no_validation", **CCA_PARAMETER_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def cca_score(X, Y, *, kind="mean", variance_fraction=0.99, tol=None):
    """In-sample CCA similarity of two representations of the same samples.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
        The same samples in a second representation (row i = stimulus i).
    kind : {'mean', 'svcca', 'pwcca'}, default='mean'
        Mean canonical correlation [1]_, SVCCA [2]_ or PWCCA [3]_ (see :mod:`skalign.cca`).
    variance_fraction : float in (0, 1], default=0.99
        For 'svcca': the share of each side's variance its kept singular directions explain.
    tol : float or None, default=None
        Singular values at or below ``tol`` times the largest are dropped (null
        directions); None: :math:`\\max(n, d)\\,\\varepsilon`.

    Returns
    -------
    score : float
        In [0, 1]; 1 when Y is an invertible linear map of X plus a translation
        (for 'mean'). All ones when the kept widths add up to more than n - 1.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign.metrics import cca_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5))
    >>> round(cca_score(X, X @ rng.normal(size=(5, 5)) + 1), 10)
    1.0
    """
    return _fit_pair(X, Y, kind, variance_fraction, tol).score()
