"""CCAScorer: mean canonical correlation, SVCCA and PWCCA, fitted on training rows."""

from __future__ import annotations

from ..base import BasePairedScorer
from ..cca import CCA_PARAMETER_CONSTRAINTS, PreparedCCA, combine_cca, fit_cca, prepare_cca

__all__ = ["CCAScorer"]


class CCAScorer(BasePairedScorer):
    """Canonical correlation analysis (CCA) between two representations of the same samples.

    ``fit`` learns the centring and canonical weights of X and Y on the training rows
    (through SVD-based whitening that drops null directions, so dead units and more
    features than samples are fine); ``score`` maps the rows given to canonical
    variates with them and averages the per-component correlations there, so
    ``cross_val_score`` gives a held-out CCA that overfitting cannot inflate. The
    single implementation is :mod:`skalign.cca` (:func:`skalign.metrics.cca_score`
    for the in-sample score).

    Parameters
    ----------
    kind : {'mean', 'svcca', 'pwcca'}, default='mean'
        'mean': the mean canonical correlation. 'svcca': each side is first reduced
        to the singular directions explaining ``variance_fraction`` of its variance
        (Raghu et al. 2017). 'pwcca': correlations weighted by how much of X each
        canonical direction accounts for (Morcos et al. 2018; not symmetric).
    variance_fraction : float in (0, 1], default=0.99
        For 'svcca' only.
    tol : float or None, default=None
        Relative singular-value tolerance below which directions are dropped;
        None: max(n, d) x machine epsilon.

    Attributes
    ----------
    cca_ : skalign.cca.CCAFit
        The centring, canonical weights and training correlations.
    canonical_correlations_ : ndarray of shape (n_components,)
        Training canonical correlations, decreasing.
    n_features_in_, n_features_y_, feature_names_in_, feature_names_y_
        As in :class:`skalign.base.BasePairedScorer`.

    Notes
    -----
    Score range [-1, 1] held out, [0, 1] in sample. In sample, 'mean' is 1 when Y
    is an invertible linear map of X plus a translation, and all canonical
    correlations are 1 once the kept widths add up to more than n - 1 (score held
    out, or use 'svcca'). The declared invariances are those of the in-sample
    score: 'mean' is invariant to any invertible linear map, 'svcca' only to
    orthogonal ones (the variance truncation depends on the basis), and 'pwcca'
    to neither (its weights depend on X's individual columns).

    References
    ----------
    Hotelling (1936). Relations between two sets of variates. Biometrika 28.
    Raghu, Gilmer, Yosinski & Sohl-Dickstein (2017). SVCCA: Singular vector
    canonical correlation analysis for deep learning dynamics and interpretability.
    NeurIPS 30.
    Morcos, Raghu & Bengio (2018). Insights on representational similarity in
    neural networks with canonical correlation. NeurIPS 31.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import KFold, cross_val_score
    >>> from skalign import CCAScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 10))
    >>> Y = X @ rng.normal(size=(10, 10)) + 0.1 * rng.normal(size=(500, 10))
    >>> scores = cross_val_score(CCAScorer(), X, Y, cv=KFold(5, shuffle=True, random_state=0))
    >>> bool(scores.min() > 0.9)
    True
    """

    _parameter_constraints: dict = {**CCA_PARAMETER_CONSTRAINTS}

    def __init__(self, kind="mean", variance_fraction=0.99, tol=None):
        self.kind = kind
        self.variance_fraction = variance_fraction
        self.tol = tol

    def _metadata(self):
        common = ("translation", "isotropic_scaling", "permutation", "sample_permutation")
        extra = {"mean": ("orthogonal", "invertible_linear"), "svcca": ("orthogonal",)}.get(self.kind, ())
        return {
            # held-out correlations of the learned variates can be negative
            "score_range": (-1.0, 1.0),
            "invariances": common + extra,
            # PWCCA weighs the components by X alone
            "symmetric": self.kind != "pwcca",
            "stateless": False,
        }

    def _fit(self, X, Y):
        self.cca_ = fit_cca(X, Y, kind=self.kind, variance_fraction=self.variance_fraction, tol=self.tol)
        self.canonical_correlations_ = self.cca_.correlations

    def _score(self, X, Y):
        return self.cca_.transfer_score(X, Y)

    def prepare(self, X, name="X"):
        """Centring and SVD whitening of one representation.

        Returns
        -------
        skalign.cca.PreparedCCA
        """
        self._validate_params()
        return prepare_cca(X, kind=self.kind, variance_fraction=self.variance_fraction, tol=self.tol, name=name)

    def combine(self, PX, PY):
        """In-sample score of two prepared representations (one SVD of an r_x x r_y product)."""
        self._check_prepared_settings(
            PreparedCCA, (PX, PY), kind=self.kind, variance_fraction=float(self.variance_fraction)
        )
        return combine_cca(PX, PY).score()
