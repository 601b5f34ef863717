"""Estimators for unit-level correspondence: permutation and soft matching.

The measures are the functions of :mod:`skalign.matching` (after Khosla & Williams [1]_,
in the framework of shape metrics [2]_); these classes learn the matching (or the
transport plan) on training rows and score other rows with it.

References
----------
.. [1] Khosla, M. & Williams, A. H. (2023). Soft matching distance: a metric on neural
   representations that captures single-neuron tuning. UniReps workshop, NeurIPS 2023.
.. [2] Williams, A. H., Kunz, E., Kornblith, S. & Linderman, S. W. (2021). Generalized
   shape metrics on neural representations. NeurIPS 34.
"""

from __future__ import annotations

from .._validation import pair_warnings_off
from ..base import BasePairedScorer
from ..matching import (
    DEFAULT_MAX_ITER,
    MATCHING_PARAMETER_CONSTRAINTS,
    SOFT_MATCHING_PARAMETER_CONSTRAINTS,
    PreparedTuningCurves,
    match_units,
    permutation_statistics,
    prepare_tuning_curves,
    soft_matching_plan,
    soft_matching_statistics,
    tuning_correlations,
)

__all__ = ["PermutationScorer", "SoftMatchingScorer"]


class _UnitMatchingScorer(BasePairedScorer):
    """Shared plumbing: tuning curves are normalised on the rows being scored."""

    def _metadata(self):
        return {
            "score_range": (-1.0, 1.0),
            "invariances": ("translation", "isotropic_scaling", "permutation", "sample_permutation"),
            "symmetric": True,
            "stateless": False,
        }

    def _curves(self, X, Y):
        # X and Y were validated by the base class
        return (
            prepare_tuning_curves(X, correlation=self.correlation, name="X", validate=False),
            prepare_tuning_curves(Y, correlation=self.correlation, name="Y", validate=False),
        )

    def prepare(self, X, name="X"):
        """Normalised tuning curves (centred, unit-norm columns) of one representation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_units)
        name : str, default='X'
            Argument name for error messages.

        Returns
        -------
        skalign.matching.PreparedTuningCurves
        """
        self._validate_params()
        return prepare_tuning_curves(X, correlation=self.correlation, name=name)

    def distance(self, X, y):
        """Distance between matched normalised tuning curves on the rows given, in [0, 2].

        The matching is the one learned in ``fit``; see :mod:`skalign.matching`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_x)
        y : array-like of shape (n_samples, n_features_y)
            The second representation, ``Y``, of the same samples.

        Returns
        -------
        distance : float
        """
        X, Y = self._check_fitted_pair(X, y)
        with pair_warnings_off():
            return self._statistics(*self._curves(X, Y)).distance

    def _score(self, X, Y):
        return self._statistics(*self._curves(X, Y)).score

    def combine(self, PX, PY):
        """In-sample score of two prepared representations: matched and scored on the same rows.

        Parameters
        ----------
        PX, PY : skalign.matching.PreparedTuningCurves
            Results of :meth:`prepare` for the same samples.

        Returns
        -------
        score : float
        """
        self._check_prepared_settings(PreparedTuningCurves, (PX, PY), correlation=self.correlation)
        return self._statistics(PX, PY, self._match(PX, PY)).score


class PermutationScorer(_UnitMatchingScorer):
    """Hard one-to-one matching of units, learned on training rows [1]_.

    ``fit`` pairs the units of X and Y one-to-one so as to maximise the total correlation
    of their tuning curves on the training rows (linear assignment,
    :func:`scipy.optimize.linear_sum_assignment`). ``score`` returns the mean correlation
    of the matched pairs on the rows given,

    .. math:: \\frac1m \\sum_{k=1}^m r_{\\,i_k j_k}, \\qquad m = \\min(d_x, d_y).

    Parameters
    ----------
    correlation : {'pearson', 'spearman'}, default='pearson'
        Correlation of tuning curves; 'spearman' correlates ranks.

    Attributes
    ----------
    matched_x_, matched_y_ : ndarray of int of shape (m,)
        Unit ``matched_x_[k]`` of X is paired with unit ``matched_y_[k]`` of Y. With unequal
        widths the surplus units of the wider representation are left unmatched.
    n_features_in_, n_features_y_ : int

    Notes
    -----
    Score range [-1, 1]; 1 when Y is X with permuted, positively rescaled and shifted
    columns. A unit constant on the rows scored counts as correlation 0. ``distance`` is
    :math:`\\sqrt{2 - 2\\bar r}`, the root-mean-square distance between matched normalised
    tuning curves. With equal widths, this is soft matching restricted to permutations.

    References
    ----------
    Khosla & Williams (2023) [1]_ and Williams et al. (2021) [2]_, in the module docstring.
    """

    _parameter_constraints: dict = {**MATCHING_PARAMETER_CONSTRAINTS}

    def __init__(self, correlation="pearson"):
        self.correlation = correlation

    def _match(self, PX, PY):
        return match_units(tuning_correlations(PX, PY))

    def _fit(self, X, Y):
        self.matched_x_, self.matched_y_ = self._match(*self._curves(X, Y))

    def _statistics(self, PX, PY, matching=None):
        rows, cols = (self.matched_x_, self.matched_y_) if matching is None else matching
        return permutation_statistics(PX, PY, rows, cols)


class SoftMatchingScorer(_UnitMatchingScorer):
    """Soft matching of units by optimal transport, learned on training rows [1]_.

    ``fit`` solves, on the training rows, the exact optimal transport problem between the
    units of X and Y with uniform marginals :math:`1/d_x`, :math:`1/d_y` and cost
    :math:`1 - r_{ij}` (POT's ``ot.emd``). ``score`` returns :math:`\\sum_{ij} T_{ij} r_{ij}` with
    the correlations measured on the rows given.

    Parameters
    ----------
    correlation : {'pearson', 'spearman'}, default='pearson'
        Correlation of tuning curves; 'spearman' correlates ranks.
    max_iter : int, default=1_000_000
        Iteration cap of the network simplex; a ``ConvergenceWarning`` is raised if it
        is reached before optimality.

    Attributes
    ----------
    transport_plan_ : ndarray of shape (n_features_x, n_features_y)
        The plan :math:`T`: rows sum to :math:`1/d_x`, columns to :math:`1/d_y`.
    n_features_in_, n_features_y_ : int

    Notes
    -----
    Score range [-1, 1]. ``distance`` is the soft-matching (2-Wasserstein) distance
    :math:`(\\sum T_{ij}\\|\\hat x_i - \\hat y_j\\|^2)^{1/2} = \\sqrt{2 - 2\\sum T_{ij} r_{ij}}` between
    normalised tuning curves, in [0, 2]. With equal widths the optimal plan is a
    permutation matrix divided by :math:`d`, and the scorer agrees with
    :class:`PermutationScorer`. Needs the optional dependency POT
    (``pip install 'skalign[ot]'``).

    References
    ----------
    Khosla & Williams (2023) [1]_ and Williams et al. (2021) [2]_, in the module docstring.
    """

    _parameter_constraints: dict = {**SOFT_MATCHING_PARAMETER_CONSTRAINTS}

    def __init__(self, correlation="pearson", max_iter=DEFAULT_MAX_ITER):
        self.correlation = correlation
        self.max_iter = max_iter

    def _match(self, PX, PY):
        return soft_matching_plan(tuning_correlations(PX, PY), max_iter=self.max_iter)

    def _fit(self, X, Y):
        self.transport_plan_ = self._match(*self._curves(X, Y))

    def _statistics(self, PX, PY, plan=None):
        return soft_matching_statistics(PX, PY, self.transport_plan_ if plan is None else plan)
