"""Transformers for the topology of one representation (thin layers over skalign.topology)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..topology import (
    CONSTRUCTIONS,
    PERSISTENCE_FEATURES,
    SCALES,
    _check_dims,
    _check_thresholds,
    as_grids,
    as_point_clouds,
    betti_curves,
    minmax_per_sample,
    persistence_summary,
    quantile_thresholds,
)

__all__ = ["CubicalBettiProfile", "PersistenceSummary"]


def _pad(n):
    return max(2, len(str(n - 1)))


class CubicalBettiProfile(TransformerMixin, BaseEstimator):
    """Betti curves of the superlevel sets of images, feature maps or volumes.

    For every sample ``a`` (a function on a grid) and every threshold ``eta`` the
    output holds ``beta_q({a >= eta})``, the number of q-dimensional holes of the
    superlevel set. The persistence of ``-a`` is computed once per sample with
    gudhi's cubical complexes and all thresholds are read off its bars:
    ``beta_q(eta) = #{(b, d) in Dgm_q(-a) : b <= -eta < d}`` (see
    :func:`skalign.topology.betti_curves`).

    Parameters
    ----------
    homology_dimensions : sequence of int, default=(0, 1)
        Dimensions at or above the grid's dimension give zero columns (a subset
        of R^d has no d-dimensional homology), so the output width does not
        depend on the grid.
    thresholds : int or array-like of float, default=20
        An int: that many quantiles (levels evenly spaced from 0 to 1) of all
        values of the training samples, learned in ``fit``. An array: the
        thresholds, taken as given (in normalised units when ``normalize``).
    construction : {'T', 'V'}, default='T'
        'T': values are top cells (pixels as closed squares, 8-connectivity in
        2-D, 26 in 3-D). 'V': values are vertices (4-connectivity in 2-D, 6 in 3-D).
        The default is the library's choice (gudhi has a fast exact algorithm for
        2-D top cells).
    grid_shape : tuple of int or None, default=None
        Shape of one sample's grid when ``X`` is given flat as (n_samples,
        n_features). None: 3-D and 4-D ``X`` carry their grid; a 2-D ``X`` is read
        as one 1-D signal per row (only beta_0 can be non-zero), which is also how
        scikit-learn's generic checks exercise this transformer.
    normalize : bool, default=False
        Rescale each sample to [0, 1] by its own min and max before thresholding,
        so that thresholds compare shapes rather than scales.
    n_jobs : int or None, default=None
        Threads over blocks of samples (gudhi releases the GIL).

    Attributes
    ----------
    thresholds_ : ndarray of shape (n_thresholds,)
        The thresholds ``eta`` in column order.
    grid_shape_ : tuple of int
        Grid of one sample seen in ``fit``.
    homology_dimensions_ : tuple of int
    n_features_in_ : int
        ``X.shape[1]`` of the training input.
    feature_names_in_ : ndarray of str
        Column names of a training DataFrame.

    Notes
    -----
    Output columns are grouped by homology dimension, then threshold:
    ``betti0_t00, betti0_t01, ..., betti1_t00, ...``. Values are counts stored as
    float64. The input is validated with :func:`skalign._validation.check_representation`;
    NaN and inf are refused.

    References
    ----------
    S. Suresh et al., "On characterizing the evolution of embedding space of neural
    networks using algebraic topology", arXiv:2311.04592 (2023).

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import CubicalBettiProfile
    >>> ring = np.zeros((7, 7)); ring[1:6, 1:6] = 1; ring[2:5, 2:5] = 0
    >>> CubicalBettiProfile(thresholds=[0.5]).fit_transform(ring[None])
    array([[1., 1.]])
    """

    _parameter_constraints: dict = {
        "homology_dimensions": ["array-like", Interval(Integral, 0, None, closed="left")],
        "thresholds": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "construction": [StrOptions(set(CONSTRUCTIONS))],
        "grid_shape": ["array-like", None],
        "normalize": ["boolean"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self, homology_dimensions=(0, 1), thresholds=20, construction="T", grid_shape=None, normalize=False, n_jobs=None
    ):
        self.homology_dimensions = homology_dimensions
        self.thresholds = thresholds
        self.construction = construction
        self.grid_shape = grid_shape
        self.normalize = normalize
        self.n_jobs = n_jobs

    def _grids(self, X, reset):
        grids = as_grids(X, grid_shape=self.grid_shape)
        validate_data(self, X, skip_check_array=True, reset=reset)
        if not reset and grids.shape[1:] != self.grid_shape_:
            raise ValueError(
                f"X has samples on a grid of shape {grids.shape[1:]}, but {type(self).__name__} "
                f"was fitted on a grid of shape {self.grid_shape_}."
            )
        return minmax_per_sample(grids) if self.normalize else grids

    def fit(self, X, y=None):
        """Learn the thresholds from the training samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) or (n_samples, H, W, D)
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._validate_params()
        self.homology_dimensions_ = _check_dims(self.homology_dimensions)
        grids = self._grids(X, reset=True)
        self.grid_shape_ = grids.shape[1:]
        if isinstance(self.thresholds, Integral):
            self.thresholds_ = quantile_thresholds(grids, int(self.thresholds))
        else:
            self.thresholds_ = _check_thresholds(self.thresholds)
        return self

    def transform(self, X):
        """Betti curves of every sample at the learned thresholds.

        Returns
        -------
        curves : ndarray of shape (n_samples, n_dims * n_thresholds)
        """
        check_is_fitted(self)
        grids = self._grids(X, reset=False)
        curves = betti_curves(
            grids,
            self.thresholds_,
            homology_dimensions=self.homology_dimensions_,
            construction=self.construction,
            n_jobs=self.n_jobs,
        )
        return curves.reshape(curves.shape[0], -1).astype(np.float64)

    def get_feature_names_out(self, input_features=None):
        """Names ``betti<q>_t<k>``: dimension q at the k-th threshold of ``thresholds_``."""
        check_is_fitted(self)
        K = len(self.thresholds_)
        w = _pad(K)
        return np.asarray(
            [f"betti{q}_t{k:0{w}d}" for q in self.homology_dimensions_ for k in range(K)], dtype=object
        )


class PersistenceSummary(TransformerMixin, BaseEstimator):
    """Vietoris-Rips persistence summaries of point clouds, one row per cloud.

    For each cloud and each homology dimension: the maximum persistence, the total
    persistence ``sum (d - b)^p``, the number of bars longer than
    ``persistence_threshold`` and the persistent entropy (see
    :func:`skalign.topology.diagram_features`). Tang et al. read grokking as a sharp
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
        Useful in low ambient dimension only (see :func:`skalign.topology.rips_diagrams`).
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
    Atienza, Gonzalez-Diaz & Soriano-Trigueros, Pattern Recognition 107 (2020).

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

    _parameter_constraints: dict = {
        "homology_dimensions": ["array-like", Interval(Integral, 0, None, closed="left")],
        "p": [Interval(Real, 0, None, closed="neither")],
        "persistence_threshold": [Interval(Real, 0, None, closed="left")],
        "metric": [str],
        "max_edge_length": [Interval(Real, 0, None, closed="right")],
        "collapse_edges": [StrOptions({"auto"}), "boolean"],
        "sparse": [Interval(Real, 0, None, closed="neither"), None],
        "max_points": [Interval(Integral, 3, None, closed="left"), None],
        "scale": [StrOptions(set(SCALES))],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

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
        self.homology_dimensions_ = _check_dims(self.homology_dimensions)
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
