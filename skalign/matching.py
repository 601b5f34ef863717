"""Unit-level correspondence: hard permutation matching and soft matching by optimal transport.

Both compare the *tuning curves* of units, i.e. the columns of X and Y over the same
stimuli. With :math:`\\hat x_i` the centred column i of X scaled to unit norm (a unit that is
constant on the rows given becomes the zero vector), the Pearson correlation is
:math:`r_{ij} = \\langle \\hat x_i, \\hat y_j\\rangle` and :math:`\\|\\hat x_i - \\hat y_j\\|^2 = 2 - 2 r_{ij}`
for non-constant units.

**Permutation matching** pairs units one-to-one to maximise :math:`\\sum r_{i\\pi(i)}` (the
linear assignment problem, solved exactly by :func:`scipy.optimize.linear_sum_assignment`;
with unequal widths ``min(d_x, d_y)`` pairs are formed and the surplus units of the wider
representation stay unmatched). The score is the mean :math:`r` of the matched pairs.

**Soft matching** (Khosla & Williams 2023) relaxes the permutation to a transport plan
:math:`T \\ge 0` with uniform marginals :math:`T\\mathbf 1 = \\mathbf 1/d_x`,
:math:`T^\\top\\mathbf 1 = \\mathbf 1/d_y`, chosen to minimise :math:`\\sum T_{ij}(1 - r_{ij})`
(POT's exact network-simplex solver ``ot.emd``). The score is :math:`\\sum T_{ij} r_{ij}` and
the soft-matching distance is the 2-Wasserstein distance between the uniform distributions
on the normalised tuning curves,

.. math:: d_{SM} = \\Bigl(\\min_T \\sum_{ij} T_{ij}\\,\\|\\hat x_i - \\hat y_j\\|^2\\Bigr)^{1/2},

minimised by the same plan since the marginals are fixed. With equal widths the vertices of
the transport polytope are permutation matrices divided by ``d``, so soft matching then
coincides with permutation matching.

In the estimators the matching (or the plan) is learned on training rows and the
correlations are measured on the rows scored, so held-out scores are honest; both lie in
[-1, 1].

``correlation='spearman'`` uses the correlation of ranks (per column, average ranks for
ties), which is insensitive to monotone nonlinear changes of a unit's response.

POT is an optional dependency (the ``ot`` extra: ``pip install 'skalign[ot]'``), imported
only when a transport plan is computed.

References
----------
.. [1] Khosla, M. & Williams, A. H. (2023). Soft matching distance: a metric on neural
   representations that captures single-neuron tuning. UniReps workshop, NeurIPS 2023.
.. [2] Williams, A. H., Kunz, E., Kornblith, S. & Linderman, S. W. (2021). Generalized shape
   metrics on neural representations. NeurIPS 34 (permutation-invariant metrics).
.. [3] Flamary, R. et al. (2021). POT: Python Optimal Transport. JMLR 22(78), 1-8.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata
from sklearn.exceptions import ConvergenceWarning

from ._validation import check_nonconstant, check_paired, check_representation

__all__ = [
    "normalize_tuning_curves",
    "unit_correlations",
    "match_units",
    "soft_matching_plan",
    "matched_correlations",
    "permutation_score",
    "permutation_distance",
    "soft_matching_score",
    "soft_matching_distance",
]

_CORRELATIONS = ("pearson", "spearman")
#: default cap on network-simplex iterations of ``ot.emd`` (POT's own default is 1e5)
DEFAULT_MAX_ITER = 1_000_000


def _import_ot():
    try:
        import ot
    except ImportError as exc:
        raise ImportError(
            "Soft matching needs the optional dependency POT (import name 'ot') for its exact "
            "optimal-transport solver. Install it with: pip install 'skalign[ot]' (or pip install pot)."
        ) from exc
    return ot


def _normalize(X, correlation):
    """Unit-norm centred columns; constant columns become zero. X is validated."""
    if correlation == "spearman":
        X = rankdata(X, axis=0)
    Z = X - X.mean(axis=0)
    norms = np.sqrt(np.einsum("ij,ij->j", Z, Z, dtype=np.float64))
    # a constant unit has no tuning curve: it correlates with nothing (r = 0) rather than NaN
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    Z *= inv.astype(Z.dtype, copy=False)
    return Z


def _check_correlation(correlation):
    if correlation not in _CORRELATIONS:
        raise ValueError(f"correlation must be one of {_CORRELATIONS}; got {correlation!r}.")


def normalize_tuning_curves(X, *, correlation="pearson", name="X"):
    """Centre each column of ``X`` and scale it to unit norm.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_units)
    correlation : {'pearson', 'spearman'}
        'spearman' ranks each column first.
    name : str
        Name used in error messages.

    Returns
    -------
    Xhat : ndarray of shape (n_samples, n_units)
        :math:`\\hat x_i`; ``Xhat.T @ Yhat`` is the matrix of correlations. Columns of
        constant units are zero.

    Raises
    ------
    ValueError
        When every unit is constant (zero-variance representation).
    """
    _check_correlation(correlation)
    X = check_representation(X, name=name, min_samples=2)
    check_nonconstant(X, name)
    return _normalize(X, correlation)


def unit_correlations(X, Y, *, correlation="pearson"):
    """Correlation of every unit of ``X`` with every unit of ``Y`` over the same rows.

    Returns
    -------
    R : ndarray of shape (n_units_x, n_units_y)
        :math:`r_{ij}` in [-1, 1]; 0 for a constant unit.
    """
    return _cross(*_prepare_pair(X, Y, correlation))


def _cross(Xhat, Yhat):
    return np.clip((Xhat.T @ Yhat).astype(np.float64), -1.0, 1.0)


def match_units(R):
    """Optimal one-to-one matching of units for a correlation matrix.

    Parameters
    ----------
    R : ndarray of shape (n_units_x, n_units_y)

    Returns
    -------
    rows, cols : ndarray of int, each of length ``min(n_units_x, n_units_y)``
        Unit ``rows[k]`` of X is matched to unit ``cols[k]`` of Y; ``rows`` is increasing.
        The pairs maximise ``R[rows, cols].sum()``.
    """
    R = np.asarray(R, dtype=np.float64)
    if R.ndim != 2 or 0 in R.shape or not np.isfinite(R).all():
        raise ValueError(f"R must be a finite, non-empty 2-D matrix; got shape {R.shape}.")
    return linear_sum_assignment(R, maximize=True)


def soft_matching_plan(R, *, max_iter=DEFAULT_MAX_ITER):
    """Optimal transport plan between units with uniform marginals and cost :math:`1 - r`.

    Parameters
    ----------
    R : ndarray of shape (n_units_x, n_units_y)
        Correlations between units.
    max_iter : int
        Iteration cap of the network simplex (``numItermax`` of ``ot.emd``).

    Returns
    -------
    T : ndarray of shape (n_units_x, n_units_y)
        Non-negative, rows sum to ``1/n_units_x``, columns to ``1/n_units_y``; an optimal
        vertex, so it has at most ``n_units_x + n_units_y - 1`` non-zero entries.

    Warns
    -----
    ConvergenceWarning
        When the solver stopped at ``max_iter`` before reaching optimality.
    """
    ot = _import_ot()
    R = np.asarray(R, dtype=np.float64)
    if R.ndim != 2 or 0 in R.shape or not np.isfinite(R).all():
        raise ValueError(f"R must be a finite, non-empty 2-D matrix; got shape {R.shape}.")
    dx, dy = R.shape
    a = np.full(dx, 1.0 / dx)
    b = np.full(dy, 1.0 / dy)
    T, log = ot.emd(a, b, np.ascontiguousarray(1.0 - R), numItermax=int(max_iter), log=True)
    if log.get("warning"):
        warnings.warn(
            f"The exact transport solver stopped before optimality ({log['warning']}); "
            f"increase max_iter (now {max_iter}).",
            ConvergenceWarning,
            stacklevel=2,
        )
    return np.asarray(T, dtype=np.float64)


def matched_correlations(Xhat, Yhat, rows, cols, *, chunk=256):
    """Correlations of the matched unit pairs from normalised tuning curves (one per pair).

    Only the listed pairs are formed, O(n * n_pairs) work; pairs are taken ``chunk`` at a
    time so the gathered columns never exceed two ``(n_samples, chunk)`` blocks.
    """
    rows, cols = np.asarray(rows), np.asarray(cols)
    out = np.empty(len(rows))
    for start in range(0, len(rows), chunk):
        sl = slice(start, start + chunk)
        out[sl] = np.einsum("ij,ij->j", Xhat[:, rows[sl]], Yhat[:, cols[sl]], dtype=np.float64)
    return np.clip(out, -1.0, 1.0)


def _unit_mass(Xhat):
    """:math:`\\|\\hat x_i\\|^2`: 1 for a varying unit, 0 for a constant one."""
    return (np.einsum("ij,ij->j", Xhat, Xhat, dtype=np.float64) > 0.5).astype(np.float64)


def _sq_distance_terms(Xhat, Yhat, rows, cols, weights):
    """:math:`\\sum_k w_k \\|\\hat x_{r_k} - \\hat y_{c_k}\\|^2` from masses and correlations."""
    r = matched_correlations(Xhat, Yhat, rows, cols)
    mx, my = _unit_mass(Xhat), _unit_mass(Yhat)
    return float(np.sum(weights * (mx[rows] + my[cols] - 2.0 * r))), float(np.sum(weights * r))


def _plan_support(T):
    rows, cols = np.nonzero(T > 0)
    return rows, cols, T[rows, cols]


def _permutation_stats(Xhat, Yhat, rows, cols):
    w = np.full(len(rows), 1.0 / len(rows))
    sq, score = _sq_distance_terms(Xhat, Yhat, rows, cols, w)
    return score, float(np.sqrt(max(sq, 0.0)))


def _soft_stats(Xhat, Yhat, T):
    rows, cols, w = _plan_support(T)
    sq, score = _sq_distance_terms(Xhat, Yhat, rows, cols, w)
    return score, float(np.sqrt(max(sq, 0.0)))


def _prepare_pair(X, Y, correlation):
    _check_correlation(correlation)
    X, Y = check_paired(X, Y, min_samples=2)
    check_nonconstant(X, "X")
    check_nonconstant(Y, "Y")
    return _normalize(X, correlation), _normalize(Y, correlation)


def _permutation_in_sample(X, Y, correlation):
    Xhat, Yhat = _prepare_pair(X, Y, correlation)
    rows, cols = match_units(_cross(Xhat, Yhat))
    return _permutation_stats(Xhat, Yhat, rows, cols)


def _soft_in_sample(X, Y, correlation, max_iter):
    Xhat, Yhat = _prepare_pair(X, Y, correlation)
    T = soft_matching_plan(_cross(Xhat, Yhat), max_iter=max_iter)
    return _soft_stats(Xhat, Yhat, T)


def permutation_score(X, Y, *, correlation="pearson"):
    """Mean correlation of optimally matched units (one-to-one), on the rows given.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_units_x)
    Y : array-like of shape (n_samples, n_units_y)
    correlation : {'pearson', 'spearman'}, default='pearson'

    Returns
    -------
    score : float in [-1, 1]
        1 when Y is X with its columns permuted and positively rescaled (and shifted).
    """
    return _permutation_in_sample(X, Y, correlation)[0]


def permutation_distance(X, Y, *, correlation="pearson"):
    """Root-mean-square distance between optimally matched normalised tuning curves.

    :math:`\\bigl(\\tfrac1m \\sum_k \\|\\hat x_{r_k} - \\hat y_{c_k}\\|^2\\bigr)^{1/2} = \\sqrt{2 - 2\\bar r}`
    over the ``m`` matched pairs of non-constant units; in [0, 2].
    """
    return _permutation_in_sample(X, Y, correlation)[1]


def soft_matching_score(X, Y, *, correlation="pearson", max_iter=DEFAULT_MAX_ITER):
    """:math:`\\sum_{ij} T_{ij} r_{ij}` under the optimal soft matching, on the rows given.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_units_x)
    Y : array-like of shape (n_samples, n_units_y)
    correlation : {'pearson', 'spearman'}, default='pearson'
    max_iter : int, default=1_000_000
        Iteration cap of the exact transport solver.

    Returns
    -------
    score : float in [-1, 1]
    """
    return _soft_in_sample(X, Y, correlation, max_iter)[0]


def soft_matching_distance(X, Y, *, correlation="pearson", max_iter=DEFAULT_MAX_ITER):
    """Soft-matching (2-Wasserstein) distance between normalised tuning curves, in [0, 2].

    Equals :math:`\\sqrt{2 - 2\\sum T_{ij} r_{ij}}` when no unit is constant.
    """
    return _soft_in_sample(X, Y, correlation, max_iter)[1]
