"""DistanceCorrelationScorer: distance correlation as a paired scorer."""

from __future__ import annotations

from ..base import BasePairedScorer
from ..distance_correlation import (
    DISTANCE_CORRELATION_PARAMETER_CONSTRAINTS, PreparedDistances, combine_distance_correlation,
    prepare_distance_correlation,
)

__all__ = ["DistanceCorrelationScorer"]


class DistanceCorrelationScorer(BasePairedScorer):
    """Distance correlation between two representations of the same samples.

    The correlation of the double-centred Euclidean distance matrices of X and Y
    (Székely, Rizzo & Bakirov 2007), 0 in the population if and only if X and Y are
    independent; optionally its bias-corrected version (Székely & Rizzo 2013). The
    single implementation is :func:`skalign.metrics.distance_correlation`; see
    :mod:`skalign.distance_correlation` for the formulas. Distances are formed in row
    blocks, so memory stays near scikit-learn's ``working_memory``.

    The measure learns nothing: ``fit`` checks the input and records the widths,
    and ``score`` is the distance correlation of the rows given.

    Parameters
    ----------
    bias_corrected : bool, default=False
        False: :math:`\\mathcal R_n \\in [0, 1]`, biased upwards for small n or wide
        representations. True: the bias-corrected :math:`\\mathcal R^*_n \\in [-1, 1]`,
        an unbiased estimate of the squared distance correlation, near 0 for
        independent representations; needs at least 4 samples.

    Attributes
    ----------
    n_features_in_, n_features_y_, feature_names_in_, feature_names_y_
        As in :class:`skalign.base.BasePairedScorer`.

    Notes
    -----
    1 when Y equals X up to rotation, uniform scaling and translation. The chance
    level of :math:`\\mathcal R_n` is well above 0 and grows with the width; that of
    :math:`\\mathcal R^*_n` is 0.

    References
    ----------
    Székely, Rizzo & Bakirov (2007). Measuring and testing dependence by correlation
    of distances. Ann. Statist. 35(6), 2769-2794.
    Székely & Rizzo (2013). The distance correlation t-test of independence in high
    dimension. J. Multivariate Anal. 117, 193-213.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import DistanceCorrelationScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5))
    >>> est = DistanceCorrelationScorer().fit(X, 3 * X + 1)
    >>> round(est.score(X, 3 * X + 1), 10)
    1.0
    """

    _parameter_constraints: dict = {**DISTANCE_CORRELATION_PARAMETER_CONSTRAINTS}
    _needs_variation = True

    def __init__(self, bias_corrected=False):
        self.bias_corrected = bias_corrected

    def _metadata(self):
        return {
            # the U-statistic estimate can fall below 0; the V-statistic cannot
            "score_range": (-1.0, 1.0) if self.bias_corrected else (0.0, 1.0),
            "invariances": ("translation", "isotropic_scaling", "orthogonal", "permutation", "sample_permutation"),
            "symmetric": True,
            "stateless": True,
            # the U-statistic leaves out i = j terms, which a duplicated row brings back
            "distinct_rows": self.bias_corrected,
        }

    def _min_samples(self):
        return 4 if self.bias_corrected else 2

    def prepare(self, X, name="X"):
        """Centred rows, distance row sums and the distance variance of one representation.

        Returns
        -------
        skalign.distance_correlation.PreparedDistances
        """
        self._validate_params()
        return prepare_distance_correlation(X, bias_corrected=self.bias_corrected, name=name)

    def combine(self, PX, PY):
        """Distance correlation of two prepared representations (one blocked pass)."""
        self._check_prepared_settings(PreparedDistances, (PX, PY), bias_corrected=bool(self.bias_corrected))
        return combine_distance_correlation(PX, PY)
