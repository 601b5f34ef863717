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

The work splits as for every scorer: :func:`prepare_tuning_curves` normalises one
representation (a :class:`PreparedTuningCurves`), :func:`tuning_correlations` pairs two,
:func:`match_units` or :func:`soft_matching_plan` learns a matching from the correlations,
and :func:`permutation_statistics` or :func:`soft_matching_statistics` measures a learned
matching on any rows. Each unit is divided by an exact power of two near its largest
magnitude before it is centred, so the curves, and every score, are the same for data at
1e-300 or 1e300.

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
from dataclasses import dataclass
from numbers import Integral
from typing import NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._validation import check_nonconstant, check_paired, check_representation, check_same_samples

__all__ = [
    "CORRELATIONS",
    "DEFAULT_MAX_ITER",
    "MATCHING_PARAMETER_CONSTRAINTS",
    "SOFT_MATCHING_PARAMETER_CONSTRAINTS",
    "PreparedTuningCurves",
    "MatchingStatistics",
    "prepare_tuning_curves",
    "normalize_tuning_curves",
    "tuning_correlations",
    "unit_correlations",
    "match_units",
    "soft_matching_plan",
    "matched_correlations",
    "permutation_statistics",
    "soft_matching_statistics",
    "permutation_score",
    "permutation_distance",
    "soft_matching_score",
    "soft_matching_distance",
]

#: correlations of tuning curves: of the values, or of their per-unit ranks
CORRELATIONS = ("pearson", "spearman")
#: default cap on network-simplex iterations of ``ot.emd`` (POT's own default is 1e5)
DEFAULT_MAX_ITER = 1_000_000

#: parameters of every matching measure (scikit-learn's ``validate_params`` format),
#: shared with :class:`skalign.PermutationScorer`
MATCHING_PARAMETER_CONSTRAINTS = {"correlation": [StrOptions(set(CORRELATIONS))]}
#: parameters of soft matching, shared with :class:`skalign.SoftMatchingScorer`
SOFT_MATCHING_PARAMETER_CONSTRAINTS = {
    **MATCHING_PARAMETER_CONSTRAINTS,
    "max_iter": [Interval(Integral, 1, None, closed="left")],
}


@dataclass
class PreparedTuningCurves:
    """Normalised tuning curves of one representation (see :func:`prepare_tuning_curves`).

    Attributes
    ----------
    curves : ndarray of shape (n_samples, n_units)
        :math:`\\hat x_i`, centred columns of unit norm; a constant unit is a zero column.
    correlation : {'pearson', 'spearman'}
        What ``curves.T @ other.curves`` correlates.
    name : str
        Name of the representation, used in error messages.
    """

    curves: np.ndarray
    correlation: str
    name: str = "X"

    @property
    def n_samples(self):
        return self.curves.shape[0]

    @property
    def n_units(self):
        return self.curves.shape[1]


class MatchingStatistics(NamedTuple):
    """Score and distance of one matching of units, measured on one set of rows."""

    #: the weighted mean correlation of the matched pairs, in [-1, 1]
    score: float
    #: the root of the weighted mean squared distance between matched curves, in [0, 2]
    distance: float


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
    hi, lo = X.max(axis=0), X.min(axis=0)
    if correlation == "spearman":
        Z = rankdata(X, axis=0)
    else:
        # Pearson r is free of each unit's scale, but its squares are not: they overflow
        # from 1e154 and underflow below 1e-154. Dividing each column by the power of two
        # at or below its largest magnitude is exact (and finite even at the dtype's
        # maximum), so the curves are those of the values given.
        _, exponent = np.frexp(np.maximum(hi, -lo))
        Z = X / np.ldexp(np.ones_like(hi), exponent - 1)
    Z -= Z.mean(axis=0)
    # a rounded mean leaves a constant unit a little noise, which would be normalised up
    Z[:, hi == lo] = 0
    norms = np.sqrt(np.einsum("ij,ij->j", Z, Z, dtype=np.float64))
    # a constant unit has no tuning curve: it correlates with nothing (r = 0) rather than NaN
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    Z *= inv.astype(Z.dtype, copy=False)
    return Z


def _curves_of(P):
    """The curves of a :class:`PreparedTuningCurves` or of an array of normalised curves."""
    return P.curves if isinstance(P, PreparedTuningCurves) else np.asarray(P)


def _check_prepared_pair(PX, PY, names=("PX", "PY")):
    """Curves of two prepared representations of the same samples, prepared alike."""
    cx, cy = _curves_of(PX), _curves_of(PY)
    for c, arg in zip((cx, cy), names):
        if c.ndim != 2:
            raise ValueError(f"{arg} must hold 2-D tuning curves (n_samples, n_units); got shape {c.shape}.")
    check_same_samples(cx.shape[0], cy.shape[0], names=names, shapes=(cx.shape, cy.shape))
    kinds = {P.correlation for P in (PX, PY) if isinstance(P, PreparedTuningCurves)}
    if len(kinds) > 1:
        raise ValueError(
            f"{names[0]} was prepared with correlation={PX.correlation!r} and {names[1]} with "
            f"{PY.correlation!r}; prepare both with the same correlation."
        )
    return cx, cy


@validate_params(
    {"X": ["array-like"], **MATCHING_PARAMETER_CONSTRAINTS, "name": [str], "validate": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def prepare_tuning_curves(X, *, correlation="pearson", name="X", validate=True):
    """Normalised tuning curves of one representation, for pairing with any other.

    Each column (unit) is centred and scaled to unit norm, after ranking it for
    ``correlation='spearman'``; a unit constant on these rows becomes the zero
    vector, so it correlates with nothing. The column's scale is divided out
    first, so the result is the same for data at 1e-150 or 1e150.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_units)
        One representation, rows = samples.
    correlation : {'pearson', 'spearman'}, default='pearson'
        'spearman' ranks each column first (average ranks for ties).
    name : str, default='X'
        Name used in error messages.
    validate : bool, default=True
        Validate ``X`` (:func:`skalign._validation.check_representation`); False for
        an ndarray that the caller has validated already.

    Returns
    -------
    prepared : PreparedTuningCurves

    Raises
    ------
    ValueError
        When every unit is constant (zero-variance representation).
    """
    if validate:
        X = check_representation(X, name=name, min_samples=2)
    check_nonconstant(X, name)
    return PreparedTuningCurves(_normalize(X, correlation), correlation, name)


@validate_params(
    {"X": ["array-like"], **MATCHING_PARAMETER_CONSTRAINTS, "name": [str]},
    prefer_skip_nested_validation=True,
)
def normalize_tuning_curves(X, *, correlation="pearson", name="X"):
    """Centre each column of ``X`` and scale it to unit norm.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_units)
    correlation : {'pearson', 'spearman'}, default='pearson'
        'spearman' ranks each column first.
    name : str, default='X'
        Name used in error messages.

    Returns
    -------
    Xhat : ndarray of shape (n_samples, n_units)
        :math:`\\hat x_i`; ``Xhat.T @ Yhat`` is the matrix of correlations. Columns of
        constant units are zero. The ``curves`` of :func:`prepare_tuning_curves`.

    Raises
    ------
    ValueError
        When every unit is constant (zero-variance representation).
    """
    return prepare_tuning_curves(X, correlation=correlation, name=name).curves


@validate_params(
    {"PX": [PreparedTuningCurves, "array-like"], "PY": [PreparedTuningCurves, "array-like"]},
    prefer_skip_nested_validation=True,
)
def tuning_correlations(PX, PY):
    """Correlation of every unit of one prepared representation with every unit of another.

    Parameters
    ----------
    PX, PY : PreparedTuningCurves or ndarray of shape (n_samples, n_units)
        Results of :func:`prepare_tuning_curves` (or their ``curves``) for the same rows.

    Returns
    -------
    R : ndarray of shape (n_units_x, n_units_y)
        :math:`r_{ij} = \\langle \\hat x_i, \\hat y_j\\rangle` in [-1, 1]; 0 for a constant unit.
    """
    cx, cy = _check_prepared_pair(PX, PY)
    return np.clip((cx.T @ cy).astype(np.float64), -1.0, 1.0)


def _prepare_pair(X, Y, correlation):
    """Validate a pair once and prepare both representations."""
    X, Y = check_paired(X, Y, min_samples=2)
    return (
        prepare_tuning_curves(X, correlation=correlation, name="X", validate=False),
        prepare_tuning_curves(Y, correlation=correlation, name="Y", validate=False),
    )


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"], **MATCHING_PARAMETER_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def unit_correlations(X, Y, *, correlation="pearson"):
    """Correlation of every unit of ``X`` with every unit of ``Y`` over the same rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_units_x)
    Y : array-like of shape (n_samples, n_units_y)
    correlation : {'pearson', 'spearman'}, default='pearson'

    Returns
    -------
    R : ndarray of shape (n_units_x, n_units_y)
        :math:`r_{ij}` in [-1, 1]; 0 for a constant unit.
    """
    return tuning_correlations(*_prepare_pair(X, Y, correlation))


def _check_correlation_matrix(R):
    R = np.asarray(R, dtype=np.float64)
    if R.ndim != 2 or 0 in R.shape or not np.isfinite(R).all():
        raise ValueError(f"R must be a finite, non-empty 2-D matrix; got shape {R.shape}.")
    return R


@validate_params({"R": ["array-like"]}, prefer_skip_nested_validation=True)
def match_units(R):
    """Optimal one-to-one matching of units for a correlation matrix.

    The linear assignment problem, solved exactly by
    :func:`scipy.optimize.linear_sum_assignment` (Williams et al., 2021).

    Parameters
    ----------
    R : array-like of shape (n_units_x, n_units_y)

    Returns
    -------
    rows, cols : ndarray of int, each of length ``min(n_units_x, n_units_y)``
        Unit ``rows[k]`` of X is matched to unit ``cols[k]`` of Y; ``rows`` is increasing.
        The pairs maximise ``R[rows, cols].sum()``.
    """
    return linear_sum_assignment(_check_correlation_matrix(R), maximize=True)


@validate_params(
    {"R": ["array-like"], "max_iter": SOFT_MATCHING_PARAMETER_CONSTRAINTS["max_iter"]},
    prefer_skip_nested_validation=True,
)
def soft_matching_plan(R, *, max_iter=DEFAULT_MAX_ITER):
    """Optimal transport plan between units with uniform marginals and cost :math:`1 - r`.

    Solved exactly by POT's network simplex (Flamary et al., 2021).

    Parameters
    ----------
    R : array-like of shape (n_units_x, n_units_y)
        Correlations between units.
    max_iter : int, default=1_000_000
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
    R = _check_correlation_matrix(R)
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


def _matched(cx, cy, rows, cols, chunk):
    out = np.empty(len(rows))
    for start in range(0, len(rows), chunk):
        sl = slice(start, start + chunk)
        out[sl] = np.einsum("ij,ij->j", cx[:, rows[sl]], cy[:, cols[sl]], dtype=np.float64)
    return np.clip(out, -1.0, 1.0)


def _check_pairs(rows, cols, cx, cy):
    rows, cols = np.asarray(rows), np.asarray(cols)
    if rows.ndim != 1 or rows.shape != cols.shape or rows.dtype.kind not in "iu" or cols.dtype.kind not in "iu":
        raise ValueError(
            f"rows and cols must be 1-D integer arrays of equal length; got shapes {rows.shape} and {cols.shape}."
        )
    for idx, arg, width in ((rows, "rows", cx.shape[1]), (cols, "cols", cy.shape[1])):
        if idx.size and (idx.min() < 0 or idx.max() >= width):
            raise ValueError(f"{arg} must index units 0..{width - 1}; got values in [{idx.min()}, {idx.max()}].")
    return rows, cols


@validate_params(
    {
        "Xhat": [PreparedTuningCurves, "array-like"],
        "Yhat": [PreparedTuningCurves, "array-like"],
        "rows": ["array-like"],
        "cols": ["array-like"],
        "chunk": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def matched_correlations(Xhat, Yhat, rows, cols, *, chunk=256):
    """Correlations of the matched unit pairs from normalised tuning curves (one per pair).

    Only the listed pairs are formed, O(n * n_pairs) work; pairs are taken ``chunk`` at a
    time so the gathered columns never exceed two ``(n_samples, chunk)`` blocks.

    Parameters
    ----------
    Xhat, Yhat : PreparedTuningCurves or ndarray of shape (n_samples, n_units)
        Normalised tuning curves of the same rows (:func:`prepare_tuning_curves`).
    rows, cols : array-like of int of shape (n_pairs,)
        Unit ``rows[k]`` of X is paired with unit ``cols[k]`` of Y.
    chunk : int, default=256
        Pairs formed at a time.

    Returns
    -------
    r : ndarray of shape (n_pairs,)
        The correlation of each pair, in [-1, 1].
    """
    cx, cy = _check_prepared_pair(Xhat, Yhat, names=("Xhat", "Yhat"))
    rows, cols = _check_pairs(rows, cols, cx, cy)
    return _matched(cx, cy, rows, cols, chunk)


def _unit_mass(curves):
    """:math:`\\|\\hat x_i\\|^2`: 1 for a varying unit, 0 for a constant one."""
    return (np.einsum("ij,ij->j", curves, curves, dtype=np.float64) > 0.5).astype(np.float64)


def _weighted_statistics(cx, cy, rows, cols, weights):
    """Weighted mean correlation and root weighted squared distance of the listed pairs.

    :math:`\\|\\hat x_r - \\hat y_c\\|^2 = m_r + m_c - 2 r_{rc}` with the unit masses
    :math:`m` (1, or 0 for a constant unit), so no difference of curves is formed.
    """
    r = _matched(cx, cy, rows, cols, 256)
    mx, my = _unit_mass(cx), _unit_mass(cy)
    sq = float(np.sum(weights * (mx[rows] + my[cols] - 2.0 * r)))
    return MatchingStatistics(float(np.sum(weights * r)), float(np.sqrt(max(sq, 0.0))))


@validate_params(
    {
        "PX": [PreparedTuningCurves, "array-like"],
        "PY": [PreparedTuningCurves, "array-like"],
        "rows": ["array-like"],
        "cols": ["array-like"],
    },
    prefer_skip_nested_validation=True,
)
def permutation_statistics(PX, PY, rows, cols):
    """Score and distance of a one-to-one matching of units on the rows prepared.

    Parameters
    ----------
    PX, PY : PreparedTuningCurves or ndarray of shape (n_samples, n_units)
        Normalised tuning curves of the same rows.
    rows, cols : array-like of int of shape (m,)
        The matching, e.g. from :func:`match_units` (possibly on other rows).

    Returns
    -------
    statistics : MatchingStatistics
        ``score`` :math:`\\bar r = \\frac1m \\sum_k r_{\\,i_k j_k}` and ``distance``
        :math:`\\bigl(\\tfrac1m \\sum_k \\|\\hat x_{i_k} - \\hat y_{j_k}\\|^2\\bigr)^{1/2}`.
    """
    cx, cy = _check_prepared_pair(PX, PY)
    rows, cols = _check_pairs(rows, cols, cx, cy)
    if rows.size == 0:
        raise ValueError("rows and cols must list at least one pair of units.")
    return _weighted_statistics(cx, cy, rows, cols, np.full(len(rows), 1.0 / len(rows)))


@validate_params(
    {"PX": [PreparedTuningCurves, "array-like"], "PY": [PreparedTuningCurves, "array-like"], "T": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def soft_matching_statistics(PX, PY, T):
    """Score and distance of a transport plan between units on the rows prepared.

    Parameters
    ----------
    PX, PY : PreparedTuningCurves or ndarray of shape (n_samples, n_units)
        Normalised tuning curves of the same rows.
    T : array-like of shape (n_units_x, n_units_y)
        A transport plan, e.g. from :func:`soft_matching_plan` (possibly on other rows).

    Returns
    -------
    statistics : MatchingStatistics
        ``score`` :math:`\\sum_{ij} T_{ij} r_{ij}` and ``distance``
        :math:`\\bigl(\\sum_{ij} T_{ij} \\|\\hat x_i - \\hat y_j\\|^2\\bigr)^{1/2}`.
    """
    cx, cy = _check_prepared_pair(PX, PY)
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (cx.shape[1], cy.shape[1]) or not np.isfinite(T).all():
        raise ValueError(
            f"T must be a finite ({cx.shape[1]}, {cy.shape[1]}) plan between the units of PX and PY; "
            f"got shape {T.shape}."
        )
    rows, cols = np.nonzero(T > 0)
    return _weighted_statistics(cx, cy, rows, cols, T[rows, cols])


def _permutation_in_sample(X, Y, correlation):
    PX, PY = _prepare_pair(X, Y, correlation)
    rows, cols = match_units(tuning_correlations(PX, PY))
    return permutation_statistics(PX, PY, rows, cols)


def _soft_in_sample(X, Y, correlation, max_iter):
    PX, PY = _prepare_pair(X, Y, correlation)
    T = soft_matching_plan(tuning_correlations(PX, PY), max_iter=max_iter)
    return soft_matching_statistics(PX, PY, T)


_PAIR_CONSTRAINTS = {"X": ["array-like"], "Y": ["array-like"]}


@validate_params({**_PAIR_CONSTRAINTS, **MATCHING_PARAMETER_CONSTRAINTS}, prefer_skip_nested_validation=True)
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
    return _permutation_in_sample(X, Y, correlation).score


@validate_params({**_PAIR_CONSTRAINTS, **MATCHING_PARAMETER_CONSTRAINTS}, prefer_skip_nested_validation=True)
def permutation_distance(X, Y, *, correlation="pearson"):
    """Root-mean-square distance between optimally matched normalised tuning curves.

    :math:`\\bigl(\\tfrac1m \\sum_k \\|\\hat x_{r_k} - \\hat y_{c_k}\\|^2\\bigr)^{1/2} = \\sqrt{2 - 2\\bar r}`
    over the ``m`` matched pairs of non-constant units; in [0, 2].

    Parameters
    ----------
    X : array-like of shape (n_samples, n_units_x)
    Y : array-like of shape (n_samples, n_units_y)
    correlation : {'pearson', 'spearman'}, default='pearson'

    Returns
    -------
    distance : float in [0, 2]
    """
    return _permutation_in_sample(X, Y, correlation).distance


@validate_params({**_PAIR_CONSTRAINTS, **SOFT_MATCHING_PARAMETER_CONSTRAINTS}, prefer_skip_nested_validation=True)
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
    return _soft_in_sample(X, Y, correlation, max_iter).score


@validate_params({**_PAIR_CONSTRAINTS, **SOFT_MATCHING_PARAMETER_CONSTRAINTS}, prefer_skip_nested_validation=True)
def soft_matching_distance(X, Y, *, correlation="pearson", max_iter=DEFAULT_MAX_ITER):
    """Soft-matching (2-Wasserstein) distance between normalised tuning curves, in [0, 2].

    Equals :math:`\\sqrt{2 - 2\\sum T_{ij} r_{ij}}` when no unit is constant (Khosla & Williams, 2023).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_units_x)
    Y : array-like of shape (n_samples, n_units_y)
    correlation : {'pearson', 'spearman'}, default='pearson'
    max_iter : int, default=1_000_000
        Iteration cap of the exact transport solver.

    Returns
    -------
    distance : float in [0, 2]
    """
    return _soft_in_sample(X, Y, correlation, max_iter).distance
