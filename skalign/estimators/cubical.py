"""Transformer for cubical homology of samples on a grid: a thin layer over :mod:`skalign.cubical`."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ..cubical import (
    CUBICAL_PARAMETER_CONSTRAINTS,
    as_grids,
    betti_curves,
    check_homology_dimensions,
    check_thresholds,
    minmax_per_sample,
    quantile_thresholds,
)

__all__ = ["CubicalBettiProfile"]


class CubicalBettiProfile(TransformerMixin, BaseEstimator):
    """Betti curves of the superlevel sets of images, feature maps or volumes.

    For every sample ``a`` (a function on a grid) and every threshold ``eta`` the
    output holds ``beta_q({a >= eta})``, the number of q-dimensional holes of the
    superlevel set. The persistence of ``-a`` is computed once per sample with
    gudhi's cubical complexes and all thresholds are read off its bars:
    ``beta_q(eta) = #{(b, d) in Dgm_q(-a) : b <= -eta < d}`` (see
    :func:`skalign.cubical.betti_curves`).

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
    float64. NaN and inf are refused. Threshold quantiles follow Suresh et al. (2023).

    References
    ----------
    S. Suresh, B. Das, V. Abrol, S. Dutta Roy. On characterizing the evolution of
    embedding space of neural networks using algebraic topology. arXiv:2311.04592, 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import CubicalBettiProfile
    >>> ring = np.zeros((7, 7)); ring[1:6, 1:6] = 1; ring[2:5, 2:5] = 0
    >>> CubicalBettiProfile(thresholds=[0.5]).fit_transform(ring[None])
    array([[1., 1.]])
    """

    _parameter_constraints: dict = {
        **CUBICAL_PARAMETER_CONSTRAINTS,
        # an int: that many quantiles learned in fit
        "thresholds": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "normalize": ["boolean"],
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
        self.homology_dimensions_ = check_homology_dimensions(self.homology_dimensions)
        grids = self._grids(X, reset=True)
        self.grid_shape_ = grids.shape[1:]
        if isinstance(self.thresholds, Integral):
            self.thresholds_ = quantile_thresholds(grids, int(self.thresholds))
        else:
            self.thresholds_ = check_thresholds(self.thresholds)
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
        w = max(2, len(str(K - 1)))
        return np.asarray(
            [f"betti{q}_t{k:0{w}d}" for q in self.homology_dimensions_ for k in range(K)], dtype=object
        )
