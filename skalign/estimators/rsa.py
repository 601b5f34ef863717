"""RSAScorer: representational similarity analysis as a paired scorer."""

from __future__ import annotations

from ..base import BasePairedScorer
from ..rsa import RSA_PARAMETER_CONSTRAINTS, PreparedRDM, combine_rsa, prepare_rsa

__all__ = ["RSAScorer"]


class RSAScorer(BasePairedScorer):
    """Representational similarity analysis (RSA) between two representations of the same samples.

    Each representation is reduced to its representational dissimilarity matrix
    (the dissimilarities of all n(n-1)/2 pairs of samples) and the two are compared
    with a correlation (Kriegeskorte et al. 2008). The single implementation is
    :func:`skalign.metrics.rsa`; see :mod:`skalign.rsa` for the formulas and the
    memory limit.

    RSA learns nothing: ``fit`` checks the input and records the widths, and
    ``score`` compares the RDMs of the rows given.

    Parameters
    ----------
    rdm_metric : {'correlation', 'euclidean', 'sqeuclidean', 'cosine'}, default='correlation'
        Dissimilarity of two samples within a representation.
    compare : {'spearman', 'pearson', 'kendall_tau_a', 'rho_a', 'cosine'}, default='spearman'
        Comparison of the two RDMs. 'kendall_tau_a' and 'rho_a' are the tie-robust
        rank comparators of Nili et al. (2014) and Schütt et al. (2023).

    Attributes
    ----------
    n_features_in_, n_features_y_, feature_names_in_, feature_names_y_
        As in :class:`skalign.base.BasePairedScorer`.

    Notes
    -----
    Score range [-1, 1] ([0, 1] for ``compare='cosine'``): 1 for RDMs equal up to a
    positive scale (for the rank comparators, in the same order), near 0 for
    independent representations except with ``compare='cosine'``, which compares
    non-negative RDMs and so has a chance level well above 0.

    The invariances follow the RDM: Euclidean distances do not change under
    translation or rotation of the features; the correlation distance between
    response patterns centres each row over its features, so it is changed by a
    translation or rotation of the feature space, but not by permuting features.

    References
    ----------
    Kriegeskorte, Mur & Bandettini (2008). Representational similarity analysis -
    connecting the branches of systems neuroscience. Front. Syst. Neurosci. 2, 4.
    Nili, Wingfield, Walther, Su, Marslen-Wilson & Kriegeskorte (2014). A toolbox for
    representational similarity analysis. PLoS Comput. Biol. 10(4).
    Schütt, Kipnis, Diedrichsen & Kriegeskorte (2023). Statistical inference on
    representational geometries. eLife 12, e82566.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import RSAScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 10))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    >>> est = RSAScorer(rdm_metric='euclidean').fit(X, X @ Q + 1)
    >>> round(est.score(X, X @ Q + 1), 10)
    1.0
    """

    _parameter_constraints: dict = {**RSA_PARAMETER_CONSTRAINTS}
    _needs_variation = True

    def __init__(self, rdm_metric="correlation", compare="spearman"):
        self.rdm_metric = rdm_metric
        self.compare = compare

    def _metadata(self):
        common = ("isotropic_scaling", "permutation", "sample_permutation")
        if self.rdm_metric in ("euclidean", "sqeuclidean"):
            invariances = ("translation", "orthogonal") + common
        elif self.rdm_metric == "cosine":
            invariances = ("orthogonal",) + common
        else:
            invariances = common
        return {
            # a cosine of two non-negative RDMs cannot be negative
            "score_range": (0.0, 1.0) if self.compare == "cosine" else (-1.0, 1.0),
            "invariances": invariances,
            "symmetric": True,
            "stateless": True,
            # a stimulus drawn twice adds zero dissimilarities to both RDMs
            "distinct_rows": True,
        }

    def _min_samples(self):
        return 3

    def prepare(self, X, name="X"):
        """The condensed RDM of one representation, ranked for the rank comparators.

        Returns
        -------
        skalign.rsa.PreparedRDM
        """
        self._validate_params()
        return prepare_rsa(X, rdm_metric=self.rdm_metric, compare=self.compare, name=name)

    def combine(self, PX, PY):
        """RSA score of two prepared representations (one dot product of the two RDMs)."""
        self._check_prepared_settings(PreparedRDM, (PX, PY), rdm_metric=self.rdm_metric, compare=self.compare)
        return combine_rsa(PX, PY)
