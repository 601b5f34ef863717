"""Transformer for Vietoris-Rips persistence of point clouds: a thin layer over :mod:`skalign.persistence`."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..persistence import (
    FEATURE_PARAMETER_CONSTRAINTS,
    PERSISTENCE_FEATURES,
    RIPS_PARAMETER_CONSTRAINTS,
    as_point_clouds,
    check_homology_dimensions,
    persistence_summary,
)

__all__ = ["PersistenceSummary"]


class PersistenceSummary(TransformerMixin, BaseEstimator):
    """Vietoris-Rips persistence summaries of point clouds, one row per cloud.

    For each cloud and each homology dimension: the maximum persistence, the total
    persistence ``sum (d - b)^p``, the number of bars longer than
    ``persistence_threshold`` and the persistent entropy (see
    :func:`skalign.persistence.diagram_features`). Tang et al. read grokking as a sharp
    rise of the maximum and total H1 persistence of a model's embedding cloud.

    Input and scikit-learn conventions: a *sample* is a whole point cloud, so
    ``n_samples`` is the number of clouds and the output has one row per cloud.
    ``X`` is a list of clouds (each (n_points, d), sizes may differ), a 3-D array
    (n_clouds, n_points, d), or with ``metric='precomputed'`` a list or 3-D array of
    square distance matrices. A 2-D array is read as one cloud of scalar points per
    row. ``fit`` learns nothing but checks the input; clouds need at least 3 points.

    Parameters
    ----------
    homology_dimensions : sequence of int, default=(0, 1)
    p : float, default=1.0
        Exponent of the total persistence.
    persistence_threshold : float, default=0.1
        Bars longer than this are counted, in the units after ``scale``; pick a
        ``scale`` other than 'none' for a unit-free count.
    metric : str, default='euclidean'
        A metric of :func:`sklearn.metrics.pairwise_distances`, or 'precomputed'.
    max_edge_length : float, default=inf
        Largest edge of the filtration (after ``scale``); classes alive there die
        at ``max_edge_length``.
    collapse_edges : {'auto', True, False}, default='auto'
        Edge collapse before the expansion (exact); 'auto' is gudhi's heuristic.
    sparse : float or None, default=None
        Approximation parameter epsilon of gudhi's sparse Rips complex; None: exact.
        Useful in low ambient dimension only (see :func:`skalign.persistence.rips_diagrams`).
    max_points : int or None, default=1000
        Clouds with more points are replaced by this many farthest-point landmarks
        (bars move by at most twice the landmarks' covering radius), so that clouds
        of several thousand points finish in seconds; None: every point (exact).
    scale : {'none', 'max_h0_death', 'diameter'}, default='none'
        Divide distances by the longest minimum-spanning-tree edge (the largest
        finite H0 death) or by the diameter of each cloud, so that a uniform
        shrinkage, e.g. by weight decay, is not read as topology.
    random_state : int, RandomState or None, default=None
        First landmark of the subsample.
    n_jobs : int or None, default=None
        Threads over clouds.

    Attributes
    ----------
    homology_dimensions_ : tuple of int
    n_clouds_ : int
        Number of clouds seen in ``fit``.

    References
    ----------
    Tang, Wang, Garcia-Redondo & Monod, "Topological signatures of grokking".

    Atienza, Gonzalez-Diaz & Soriano-Trigueros, "On the stability of persistent
    entropy and new summary functions for topological data analysis", Pattern
    Recognition 107 (2020).

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import PersistenceSummary
    >>> t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    >>> circle = np.c_[np.cos(t), np.sin(t)]
    >>> ps = PersistenceSummary(homology_dimensions=[1]).fit([circle])
    >>> ps.get_feature_names_out()[0]
    'h1_max_persistence'
    """

    _parameter_constraints: dict = {**RIPS_PARAMETER_CONSTRAINTS, **FEATURE_PARAMETER_CONSTRAINTS}

    def __init__(
        self,
        homology_dimensions=(0, 1),
        p=1.0,
        persistence_threshold=0.1,
        metric="euclidean",
        max_edge_length=np.inf,
        collapse_edges="auto",
        sparse=None,
        max_points=1000,
        scale="none",
        random_state=None,
        n_jobs=None,
    ):
        self.homology_dimensions = homology_dimensions
        self.p = p
        self.persistence_threshold = persistence_threshold
        self.metric = metric
        self.max_edge_length = max_edge_length
        self.collapse_edges = collapse_edges
        self.sparse = sparse
        self.max_points = max_points
        self.scale = scale
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        """Check the parameters and the clouds; nothing is learned.

        Parameters
        ----------
        X : list of array-like, 3-D array, or 2-D array (one scalar cloud per row)
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._validate_params()
        self.homology_dimensions_ = check_homology_dimensions(self.homology_dimensions)
        self.n_clouds_ = len(as_point_clouds(X, metric=self.metric))
        return self

    def transform(self, X):
        """Persistence features of every cloud.

        Returns
        -------
        features : ndarray of shape (n_clouds, 4 * n_dims)
        """
        check_is_fitted(self)
        return persistence_summary(
            X,
            homology_dimensions=self.homology_dimensions_,
            p=self.p,
            persistence_threshold=self.persistence_threshold,
            metric=self.metric,
            max_edge_length=self.max_edge_length,
            collapse_edges=self.collapse_edges,
            sparse=self.sparse,
            max_points=self.max_points,
            scale=self.scale,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )

    def get_feature_names_out(self, input_features=None):
        """Names ``h<q>_<feature>``, e.g. ``h1_max_persistence``."""
        check_is_fitted(self)
        names = [f"h{q}_{f}" for q in self.homology_dimensions_ for f in PERSISTENCE_FEATURES]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a sample is a whole cloud of any size, so there is no fixed feature width
        # to record or check between fit and transform
        tags.no_validation = True
        return tags
