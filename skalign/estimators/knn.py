"""Nearest-neighbour scorers: CKNNA, mutual k-NN alignment and the k-NN Jaccard index."""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval

from ..base import BasePairedScorer
from ..cknna import CKNNA_PARAMETER_CONSTRAINTS, PreparedCKNNA, combine_cknna, prepare_cknna
from ..spectrum import MIN_SAMPLES, TAS_PARAMETER_CONSTRAINTS, combine_neighborhoods, prepare_neighborhoods

__all__ = ["CKNNAScorer", "MutualKNNScorer", "KNNJaccardScorer"]


class CKNNAScorer(BasePairedScorer):
    """Centered kernel nearest-neighbour alignment (CKNNA) of two representations.

    CKA of the cosine kernels restricted to the pairs of samples that are among
    each other's ``n_neighbors`` nearest neighbours in both representations, with
    the unbiased HSIC (Huh et al. 2024). The single implementation is
    :func:`skalign.metrics.cknna`; see :mod:`skalign.cknna` for the formula. The
    work after the neighbour search is O(n k): no n x n kernel is formed.

    CKNNA learns nothing: ``fit`` checks the input and records the widths, and
    ``score`` compares the neighbourhoods of the rows given.

    Parameters
    ----------
    n_neighbors : int, default=10
        Neighbours per sample (cosine distance), self excluded.
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}, default='auto'
        Neighbour search, as in :func:`skalign.neighbors.kneighbors`.
    random_state : int, RandomState or None, default=None
        Seeds the approximate search.
    n_jobs : int or None, default=None
        Threads of the approximate search.
    metric : {'cosine', 'ip'}, default='cosine'
        The kernel the neighbours and the HSIC terms come from: cosine similarities
        of the L2-normalised rows (Huh et al.'s pipeline), or raw inner products of
        the features as given (their function on unnormalised features; exact
        search only).

    Attributes
    ----------
    n_features_in_, n_features_y_, feature_names_in_, feature_names_y_
        As in :class:`skalign.base.BasePairedScorer`.

    Notes
    -----
    1 for representations with the same cosine kernel (equal up to rotation and
    uniform scale); near 0 for independent ones. The masked kernels are not
    symmetric, so the score has no hard bound; it lies in [-1, 1] in practice.
    The rows are L2-normalised (as in Huh et al.'s code), so the score is not
    invariant to translation. As in their code, swapping X and Y changes the
    score slightly (the masked kernels are not symmetric), so ``symmetric`` is False.

    References
    ----------
    Huh, Cheung, Wang & Isola (2024). The platonic representation hypothesis. ICML.
    Song, Smola, Gretton, Bedo & Borgwardt (2012). Feature selection via
    dependence maximization. JMLR 13.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import CKNNAScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 8))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    >>> round(CKNNAScorer().fit(X, X @ Q).score(X, X @ Q), 10)
    1.0
    """

    _parameter_constraints: dict = {**CKNNA_PARAMETER_CONSTRAINTS}
    _needs_variation = True

    def __init__(self, n_neighbors=10, algorithm="auto", random_state=None, n_jobs=None, metric="cosine"):
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.metric = metric

    def _metadata(self):
        return {
            # the numerator's kernels carry the mutual mask, each denominator only its own,
            # so Cauchy-Schwarz does not bound the ratio: values a little above 1 occur
            # (1.003 seen on 30 rows); near [-1, 1] in practice, 1 for identical kernels
            "score_range": (-float("inf"), float("inf")),
            # both kernels (cosine, raw inner product) are kept by rotations and a positive
            # scale (which CKA's normalisation removes), neither by a translation
            "invariances": ("isotropic_scaling", "orthogonal", "permutation", "sample_permutation"),
            # the term 1^T A B 1 of the unbiased HSIC changes when the two masked
            # (non-symmetric) kernels swap places: a small but real asymmetry
            "symmetric": False,
            "stateless": True,
            "distinct_rows": True,
        }

    def _min_samples(self):
        return 4

    def prepare(self, X, name="X"):
        """Neighbour search and the neighbour-masked cosine kernel of one representation.

        Returns
        -------
        skalign.cknna.PreparedCKNNA
        """
        self._validate_params()
        return prepare_cknna(
            X, self.n_neighbors, metric=self.metric, algorithm=self.algorithm,
            random_state=self.random_state, n_jobs=self.n_jobs, name=name,
        )

    def combine(self, PX, PY):
        """CKNNA of two prepared representations (sparse work of O(n k))."""
        self._check_prepared_settings(
            PreparedCKNNA, (PX, PY), n_neighbors=int(self.n_neighbors), metric=str(self.metric),
            algorithm=str(self.algorithm),
        )
        return combine_cknna(PX, PY)


#: One neighbourhood size per scorer (an int, or a fraction of n as TAS takes it).
_KNN_PARAMETER_CONSTRAINTS = {
    "n_neighbors": [Interval(Integral, 1, None, closed="left"), Interval(Real, 0, 1, closed="neither")],
    **{key: TAS_PARAMETER_CONSTRAINTS[key] for key in ("metric", "algorithm", "random_state", "n_jobs")},
}


class _NeighbourOverlapScorer(BasePairedScorer):
    """Shared parameters and neighbour preparation of the two overlap scorers."""

    _parameter_constraints: dict = {**_KNN_PARAMETER_CONSTRAINTS}

    def __init__(self, n_neighbors=10, metric="euclidean", algorithm="auto", random_state=None, n_jobs=None):
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _metadata(self):
        if self.metric in ("euclidean", "sqeuclidean"):
            invariances = ("translation", "isotropic_scaling", "orthogonal", "permutation",
                           "monotone_distance", "sample_permutation")
        elif self.metric in ("cosine", "ip"):
            # inner products are kept in order by a positive scale and rotations, not by
            # a translation, which moves each product by a different amount
            invariances = ("isotropic_scaling", "orthogonal", "permutation", "sample_permutation")
        else:  # precomputed distances: only the order of the samples
            invariances = ("sample_permutation",)
        return {
            "score_range": (0.0, 1.0), "invariances": invariances, "symmetric": True, "stateless": True,
            "distinct_rows": True,
        }

    def _min_samples(self):
        return MIN_SAMPLES

    def _fit(self, X, Y):
        if self.metric != "precomputed":
            self._check_pair_varies(X, Y)

    def prepare(self, X, name="X"):
        """Neighbour lists (or ranks) of one representation for ``n_neighbors``.

        Returns
        -------
        skalign.spectrum.PreparedNeighborhoods
        """
        self._validate_params()
        return prepare_neighborhoods(
            X, self.n_neighbors, metric=self.metric, algorithm=self.algorithm,
            random_state=self.random_state, n_jobs=self.n_jobs, name=name,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.metric == "precomputed"
        return tags


class MutualKNNScorer(_NeighbourOverlapScorer):
    """Mutual k-nearest-neighbour alignment: the mean fraction of shared neighbours.

    For every sample, the fraction :math:`o_i / k` of its k nearest neighbours in X
    that are also among its k nearest neighbours in Y (self excluded), averaged over
    samples (Huh et al. 2024). The single implementation is
    :func:`skalign.metrics.mutual_knn_alignment`.

    Parameters
    ----------
    n_neighbors : int or float in (0, 1), default=10
        k, or a fraction of the number of samples as
        :func:`skalign.spectrum.resolve_n_neighbors` resolves it.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}, default='euclidean'
        'ip': neighbours by decreasing inner product (exact search only).
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}, default='auto'
    random_state : int, RandomState or None, default=None
        Seeds the approximate search.
    n_jobs : int or None, default=None
        Threads of the approximate search.

    Attributes
    ----------
    n_features_in_, n_features_y_, feature_names_in_, feature_names_y_
        As in :class:`skalign.base.BasePairedScorer`.

    Notes
    -----
    In [0, 1]; about :math:`k / (n - 1)` by chance. Huh et al.'s code takes the
    neighbours of largest inner product of the features it is given:
    ``metric='ip'`` here, which is ``metric='cosine'`` when those features are
    L2-normalised. With 'ip' the score is not invariant to translation.

    References
    ----------
    Huh, Cheung, Wang & Isola (2024). The platonic representation hypothesis. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import MutualKNNScorer
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> MutualKNNScorer(n_neighbors=5).fit(X, 2 * X).score(X, 2 * X)
    1.0
    """

    def combine(self, PX, PY):
        """Mean :math:`o_i / k` of two prepared representations."""
        res = combine_neighborhoods(PX, PY)
        return float(res.overlap[0] / res.k[0])


class KNNJaccardScorer(_NeighbourOverlapScorer):
    """Mean Jaccard index of the k-nearest-neighbour sets of two representations.

    :math:`\\frac1n \\sum_i o_i / (2k - o_i)`, with :math:`o_i` the number of shared
    neighbours of sample i among its k nearest in X and in Y (self excluded), not
    normalised for chance (TAS is its chance-normalised spectrum over k). The single
    implementation is :func:`skalign.metrics.knn_jaccard`.

    Parameters
    ----------
    n_neighbors : int or float in (0, 1), default=10
        k, or a fraction of the number of samples.
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}, default='euclidean'
        'ip': neighbours by decreasing inner product (exact search only).
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}, default='auto'
    random_state : int, RandomState or None, default=None
        Seeds the approximate search.
    n_jobs : int or None, default=None
        Threads of the approximate search.

    Attributes
    ----------
    n_features_in_, n_features_y_, feature_names_in_, feature_names_y_
        As in :class:`skalign.base.BasePairedScorer`.

    Notes
    -----
    In [0, 1]; about :math:`k / (2(n-1) - k)` by chance.

    References
    ----------
    Tavares, Ayres & Smaragdis (2024). Diagnosing neural convergence with
    topological alignment spectra. arXiv:2411.08687.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import KNNJaccardScorer
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> KNNJaccardScorer(n_neighbors=5).fit(X, X + 1).score(X, X + 1)
    1.0
    """

    def combine(self, PX, PY):
        """Mean Jaccard index of two prepared representations."""
        return float(combine_neighborhoods(PX, PY).jaccard[0])
