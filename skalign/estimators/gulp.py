"""GULPScorer: the prediction-based GULP measure as a paired scorer."""

from __future__ import annotations

from sklearn.utils._param_validation import StrOptions

from ..base import BasePairedScorer
from ..gulp import GULP_PARAMETER_CONSTRAINTS, PreparedGULP, combine_gulp, prepare_gulp

__all__ = ["GULPScorer"]


class GULPScorer(BasePairedScorer):
    """GULP between two representations of the same samples: how alike their ridge predictors are.

    Boix-Adserà et al. (2022) measure the difference between the predictions that
    ridge regressions with parameter λ make from X and from Y, averaged over
    linear tasks: :math:`d_\\lambda = \\|H_x - H_y\\|_F` for the ridge hat operators
    :math:`H`. The score is its similarity form, the cosine of the hat operators
    (``score_method='similarity'``, in [0, 1]), or minus the distance
    (``score_method='distance'``). The single implementation is
    :func:`skalign.metrics.gulp_distance` / :func:`skalign.metrics.gulp_similarity`;
    see :mod:`skalign.gulp` for the formulas.

    GULP learns nothing: ``fit`` checks the input and records the widths, and
    ``score`` compares the rows given.

    Parameters
    ----------
    lam : float > 0, default=0.01
        Ridge parameter, in units of the variances (of the normalised data when
        ``normalize``). Large values approach linear CKA, small ones CCA.
    normalize : bool, default=True
        Scale each centred representation to unit total variance first, which
        makes the score invariant to isotropic scaling.
    score_method : {'similarity', 'distance'}, default='similarity'
        'similarity': :math:`s_\\lambda \\in [0, 1]`; 'distance': :math:`-d_\\lambda \\le 0`.

    Attributes
    ----------
    n_features_in_, n_features_y_, feature_names_in_, feature_names_y_
        As in :class:`skalign.base.BasePairedScorer`.

    Notes
    -----
    1 (or a distance of 0) when Y equals X up to rotation, translation and (with
    ``normalize``) uniform scale. Unlike CCA it is not invariant to general
    invertible linear maps, since the ridge penalty sees the scale of each direction.

    References
    ----------
    Boix-Adserà, Lawrence, Stepaniants & Rigollet (2022). GULP: a prediction-based
    metric between representations. NeurIPS 35.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import GULPScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 6))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    >>> round(GULPScorer().fit(X, 2 * X @ Q).score(X, 2 * X @ Q), 10)
    1.0
    """

    _parameter_constraints: dict = {
        **GULP_PARAMETER_CONSTRAINTS,
        "score_method": [StrOptions({"similarity", "distance"})],
    }
    _needs_variation = True

    def __init__(self, lam=0.01, normalize=True, score_method="similarity"):
        self.lam = lam
        self.normalize = normalize
        self.score_method = score_method

    def _metadata(self):
        invariances = ("translation", "orthogonal", "permutation", "sample_permutation")
        if self.normalize:
            invariances = invariances + ("isotropic_scaling",)
        return {
            "score_range": (0.0, 1.0) if self.score_method == "similarity" else (float("-inf"), 0.0),
            "invariances": invariances,
            "symmetric": True,
            "stateless": True,
        }

    def prepare(self, X, name="X"):
        """Centred, scaled data of one representation rotated to its covariance eigenbasis.

        Returns
        -------
        skalign.gulp.PreparedGULP
        """
        self._validate_params()
        return prepare_gulp(X, lam=self.lam, normalize=self.normalize, name=name)

    def combine(self, PX, PY):
        """Score of two prepared representations (one d_x x d_y product)."""
        self._check_prepared_settings(PreparedGULP, (PX, PY), lam=float(self.lam), normalize=bool(self.normalize))
        comparison = combine_gulp(PX, PY)
        return comparison.similarity() if self.score_method == "similarity" else -comparison.distance()
