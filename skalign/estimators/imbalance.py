"""Paired scorer for the information imbalance: a thin layer over :mod:`skalign.imbalance`."""

from __future__ import annotations

from sklearn.utils._param_validation import StrOptions

from ..base import BasePairedScorer
from ..imbalance import (
    IMBALANCE_PARAMETER_CONSTRAINTS,
    information_imbalance_prepared,
    information_imbalance_score,
    prepare_information_imbalance,
)
from ..neighbors import DISTANCE_METRICS

__all__ = ["InformationImbalance"]


class InformationImbalance(BasePairedScorer):
    """Information imbalance between two representations (Glielmo et al. 2022).

    ``Delta(X -> Y) = (2 / N) * mean rank in Y of each point's k nearest neighbours
    in X`` (rank 1 = nearest). It is near 0 when X's neighbours are Y's neighbours and
    near 1 when X says nothing about Y's neighbourhoods.

    ``score = 1 - (Delta(X -> Y) + Delta(Y -> X)) / 2`` (``direction='both'``), or
    ``1 - Delta`` of one side (:func:`skalign.imbalance.information_imbalance_score`), so higher means more mutually informative: about 1
    for the same neighbourhoods, about 0 for independent ones, below 0 only when
    neighbours in one space are systematically far in the other.

    Parameters
    ----------
    n_neighbors : int, default=1
        k nearest neighbours in the source space (the paper uses k = 1).
    direction : {'both', 'x_to_y', 'y_to_x'}, default='both'
        Which imbalance the score reports. One-sided scores are asymmetric.
    metric : {'euclidean', 'sqeuclidean', 'cosine'}, default='euclidean'
        Distance in both spaces.

    Attributes
    ----------
    delta_xy_ : float
        ``Delta(X -> Y)`` on the training rows: small when X predicts Y's neighbours.
    delta_yx_ : float
        ``Delta(Y -> X)`` on the training rows.
    n_features_in_, n_features_y_ : int
    feature_names_in_ : ndarray of str
        Only when X is a DataFrame with string column names.

    Notes
    -----
    Nothing is learned: ``score(X, Y)`` recomputes both imbalances on the rows given.
    :meth:`prepare` stores each representation's exact k nearest neighbours (and its
    points); :meth:`combine` still needs each space's full distances, streamed in
    blocks: O(n^2 (d_x + d_y)) time and O(block x n) memory per pair, about the cost
    of two exact kNN searches. ``Delta`` is about ``(k + 1) / N`` for identical
    neighbourhoods, so the score of a representation with itself is
    ``1 - (k + 1) / N``.

    References
    ----------
    Glielmo, Zeni, Cheng, Csányi & Laio, "Ranking the information content of
    distance measures", PNAS Nexus 1(2), pgac039 (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import InformationImbalance
    >>> X = np.random.default_rng(0).random((1000, 3))
    >>> ii = InformationImbalance().fit(X, X[:, :2])
    >>> bool(ii.delta_xy_ < ii.delta_yx_)
    True
    """

    def _metadata(self):
        return {
            "score_range": (-1.0, 1.0),
            "invariances": (
                "translation",
                "isotropic_scaling",
                "orthogonal",
                "permutation",
                "monotone_distance",
                "sample_permutation",
            ),
            # one direction of the imbalance is the point of the measure: only the average is symmetric
            "symmetric": self.direction == "both",
            "stateless": True,
            "distinct_rows": True,
        }

    _parameter_constraints: dict = {
        "n_neighbors": IMBALANCE_PARAMETER_CONSTRAINTS["n_neighbors"],
        "direction": IMBALANCE_PARAMETER_CONSTRAINTS["direction"],
        # score(X, Y) takes feature rows: distance matrices cannot be split by cross-validation
        "metric": [StrOptions({m for m in DISTANCE_METRICS if m != "precomputed"})],
    }

    def __init__(self, n_neighbors=1, direction="both", metric="euclidean"):
        self.n_neighbors = n_neighbors
        self.direction = direction
        self.metric = metric

    def _min_samples(self):
        # k >= n is left to the neighbour search, whose error names n_neighbors and its range
        return 3

    def prepare(self, X, name="X"):
        """Validate X and find its exact nearest neighbours (ties by index).

        Returns
        -------
        skalign.imbalance.PreparedImbalance
        """
        return prepare_information_imbalance(X, self.n_neighbors, metric=self.metric, name=name)

    def combine(self, PX, PY):
        """Score from two :meth:`prepare` results (see the class docstring)."""
        return information_imbalance_score(PX, PY, direction=self.direction)

    def _fit(self, X, Y):
        PX, PY = self.prepare(X, "X"), self.prepare(Y, "Y")
        # both sides are reported whatever the direction: they are the diagnosis
        self.delta_xy_ = information_imbalance_prepared(PX, PY)
        self.delta_yx_ = information_imbalance_prepared(PY, PX)
