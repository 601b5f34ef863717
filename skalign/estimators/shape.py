"""Estimator for the generalized shape metrics (Procrustes, partial whitening, CCA)."""

from __future__ import annotations

import numpy as np


from ..base import BasePairedScorer
from ..shape import (
    SHAPE_PARAMETER_CONSTRAINTS,
    PreparedShape,
    combine_shape,
    fit_shape_pair,
    prepare_shape,
    transfer_shape_alignment,
)

__all__ = ["ProcrustesScorer"]


class ProcrustesScorer(BasePairedScorer):
    """Generalized shape metric with the rotation learned on training rows.

    ``fit`` learns, on the training rows, the centring, the partial whitening
    :math:`\\alpha I + (1-\\alpha)\\tilde\\Sigma^{-1/2}`, the normalising scale and the optimal
    rotation :math:`Q = UV^\\top` of the whitened cross-covariance. ``score`` applies all of
    them unchanged to the rows given and returns

    .. math:: \\cos\\theta = \\frac{\\langle \\phi(X) Q, \\phi(Y)\\rangle_F}{\\|\\phi(X)\\|_F\\,\\|\\phi(Y)\\|_F},

    so ``cross_val_score(ProcrustesScorer(), X, Y, cv=5)`` is an honest held-out score.
    The formulas and conventions are in :mod:`skalign.shape`.

    Parameters
    ----------
    alpha : float in [0, 1], default=1.0
        Partial whitening. 1 = orthogonal Procrustes (no whitening), 0 = CCA (full
        whitening, score = mean canonical correlation for equal widths). Values between
        0 and 1 regularise the whitening; every value below 1 needs more training rows
        than features and a non-singular covariance, otherwise ``fit`` raises (use
        ``alpha=1``, or reduce the width first, e.g. with PCA in a Pipeline).
    center : bool, default=True
        Subtract the training column means (translation invariance).
    scale : bool, default=True
        Normalise each representation to training mean squared row norm 1. The angular
        score does not depend on it; the Euclidean one does.
    score_method : {'angular', 'euclidean'}, default='angular'
        'angular': score = :math:`\\cos\\theta`, distance = :math:`\\theta` in radians.
        'euclidean': distance = :math:`d_E = \\|\\phi(X)Q - \\phi(Y)\\|_F/\\sqrt n` (root mean
        square per sample) and score = :math:`-d_E`, following scikit-learn's ``neg_``
        convention for losses (0 = equal up to rotation).
    width : {'zero_pad', 'pca'}, default='zero_pad'
        Unequal widths: zero-pad the narrower representation (a metric), or keep the top
        ``min(d_x, d_y)`` principal components of each (learned in ``fit``).

    Attributes
    ----------
    transform_x_, transform_y_ : skalign.shape.ShapeTransform
        The learned maps :math:`\\phi` (mean, whitening matrix, scale).
    rotation_ : ndarray of shape (k_x, k_y)
        The learned orthogonal map (orthonormal columns or rows for unequal widths).
    n_features_in_, n_features_y_ : int
        Widths of X and Y seen in ``fit``.

    Notes
    -----
    ``score_range`` is (-1, 1) for the angular score: on the training rows the score is in
    [0, 1]; on held-out rows the learned rotation may transfer badly and the score may
    dip below 0 (it is not clipped, so fold averages stay unbiased). For
    ``score_method='euclidean'`` the score lies in (-inf, 0] (in [-2, 0] with ``scale=True``
    on the training rows). ``invariances`` hold for every ``alpha`` when ``center=True``;
    ``alpha=0`` adds invariance to any invertible linear map.

    ``prepare(X)`` stores the centred, whitened, normalised rows, so ``combine`` of two
    prepared layers costs one cross-product and one SVD.

    With ``sklearn.set_config(array_api_dispatch=True)``, CuPy or PyTorch input is
    fitted and scored on its own device; the learned maps and ``rotation_`` are then
    arrays of that library (see :mod:`skalign.shape`).

    ``dask.array`` input (training or test rows, either side): the d x d sums are
    computed over row chunks on the cluster and the fit is finished in memory (see
    :mod:`skalign.shape`); the score equals the in-memory one to rounding.
    :meth:`prepare` needs in-memory arrays.

    References
    ----------
    .. [1] Williams, A. H., Kunz, E., Kornblith, S. & Linderman, S. W. (2021). Generalized
       shape metrics on neural representations. NeurIPS 34.
    .. [2] Schönemann, P. H. (1966). A generalized solution of the orthogonal Procrustes
       problem. Psychometrika 31, 1-10.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import KFold, cross_val_score
    >>> from skalign import ProcrustesScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 10))
    >>> Q = np.linalg.qr(rng.normal(size=(10, 10)))[0]
    >>> Y = X @ Q + 0.1 * rng.normal(size=(500, 10))
    >>> scores = cross_val_score(ProcrustesScorer(), X, Y, cv=KFold(5, shuffle=True, random_state=0))
    >>> bool(scores.min() > 0.99)
    True
    """

    def _metadata(self):
        return {
            # 'euclidean' scores are minus a distance; 'angular' ones are cos(theta), [0, 1] in sample
            "score_range": (-np.inf, 0.0) if self.score_method == "euclidean" else (-1.0, 1.0),
            "invariances": ("translation", "isotropic_scaling", "orthogonal", "sample_permutation"),
            "symmetric": True,
            "stateless": False,
        }

    _array_api = True
    _dask = True

    _parameter_constraints: dict = {**SHAPE_PARAMETER_CONSTRAINTS}

    def __init__(self, alpha=1.0, center=True, scale=True, score_method="angular", width="zero_pad"):
        self.alpha = alpha
        self.center = center
        self.scale = scale
        self.score_method = score_method
        self.width = width

    def _fit(self, X, Y):
        self.transform_x_, self.transform_y_, self.rotation_, _ = fit_shape_pair(
            X, Y, alpha=self.alpha, center=self.center, scale=self.scale, width=self.width, validate=False
        )

    def _alignment(self, X, Y):
        return transfer_shape_alignment(self.transform_x_, self.transform_y_, self.rotation_, X, Y,
                                        validate=False)

    def _score(self, X, Y):
        return self._alignment(X, Y).score(self.score_method)

    def distance(self, X, y):
        """Shape distance of the rows given under the learned maps and rotation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_x)
            The first representation, as many columns as in ``fit``.
        y : array-like of shape (n_samples, n_features_y)
            The second representation, ``Y``, of the same samples.

        Returns
        -------
        distance : float
            :math:`\\theta \\in [0, \\pi]` radians for 'angular' (in :math:`[0, \\pi/2]` on the
            training rows), or the root-mean-square Euclidean distance :math:`d_E \\ge 0`.
        """
        X, y = self._check_fitted_pair(X, y)
        return self._alignment(X, y).distance(self.score_method)

    def prepare(self, X, name="X"):
        """Centred, partially whitened, normalised rows of one representation."""
        self._validate_params()
        return prepare_shape(
            X, alpha=float(self.alpha), center=self.center, scale=self.scale, width=self.width, name=name
        )

    def combine(self, PX, PY):
        """In-sample score of two prepared representations (one cross-product and one SVD)."""
        self._check_prepared_settings(
            PreparedShape, (PX, PY), alpha=float(self.alpha), scale=bool(self.scale), width=self.width
        )
        return combine_shape(PX, PY).score(self.score_method)
