"""Estimator for the Topological Alignment Spectrum (functions in :mod:`skalign.spectrum`)."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..base import BasePairedScorer
from ..inference import INFERENCE_PARAMETER_CONSTRAINTS, bootstrap, permutation_test
from ..spectrum import (
    MIN_SAMPLES,
    TAS_PARAMETER_CONSTRAINTS,
    combine_neighborhoods,
    combine_tas,
    prepare_neighborhoods,
    tas_chance,
    tas_from_jaccard,
    tas_spectrum,
)

__all__ = ["TopologicalAlignmentSpectrum"]


class TopologicalAlignmentSpectrum(BasePairedScorer):
    r"""Agreement of the k-nearest-neighbour structure of two representations at every scale.

    For every sample i and neighbourhood size k, the k nearest neighbours of i in X
    and in Y (self excluded) are compared by their Jaccard index
    :math:`J_i(k) = o / (2k - o)`, :math:`o = |N_k^X(i) \cap N_k^Y(i)|`. The mean
    over samples is normalised by its chance level :math:`E_k`:

    .. math::

        \mathrm{TAS}(k) = \frac{\frac{1}{n}\sum_i J_i(k) - E_k}{1 - E_k}

    so TAS is 1 when every neighbourhood agrees, about 0 for unrelated
    representations, and negative when they overlap less than chance. The spectrum
    over k shows at which scales two representations agree (Tavares, Ayres &
    Smaragdis 2024). All k come out of one pass over the neighbour ranks.

    Parameters
    ----------
    n_neighbors : None, int, float in (0, 1) or array-like of those, default=None
        Neighbourhood sizes. None: every k in ``[1, n - 2]`` on the exact path, a
        log-spaced grid up to 100 on the approximate one. An int is a count in
        ``[1, n - 2]``. A float is a fraction of ``n - 1``, resolved against the rows
        given to each call, so one setting means the same scale on cross-validation
        folds of different sizes.
    summary : {'mean', 'max', 'min'}, default='mean'
        How :meth:`score` reduces the spectrum over the swept k; with a single k the
        score is TAS at that k.
    chance : {'paper', 'exact'}, default='paper'
        ``'paper'``: ``E_k = k / (2(n-1) - k)`` as published; ``'exact'``: the
        expected Jaccard of two independent random k-subsets (hypergeometric overlap).
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'ip', 'precomputed'}, default='euclidean'
        Neighbours by distance, by cosine, or by raw inner product (``'ip'``, largest
        first; exact search only); ``'precomputed'`` takes n x n distance matrices.
    algorithm : {'auto', 'brute', 'pynndescent', 'cuml'}, default='auto'
        Neighbour backend; 'auto' is exact up to 50,000 samples.
    n_permutations : int, default=0
        Permutations of Y's rows in :meth:`fit` and :meth:`spectrum` for a p-value at
        every k (:func:`skalign.inference.permutation_test` with
        ``statistic='spectrum'``: every k over the same permutations, Y's held
        ranks relabelled, never recomputed).
    n_resamples : int, default=0
        Half-sample resamples in :meth:`fit` and :meth:`spectrum` for a confidence
        interval at every k (:func:`skalign.inference.bootstrap` with
        ``statistic='spectrum'``); 0 skips them. A half-sample of m rows reads each
        k at the same fraction of its rows, ``round(k (m - 1) / (n - 1))``, as a
        fractional ``n_neighbors`` is resolved on a cross-validation fold.
    confidence_level : float in (0, 1), default=0.95
        Coverage of the per-k intervals.
    random_state : int, RandomState or None, default=None
        Seeds the permutations, the resamples and the approximate search.
    n_jobs : int or None, default=None
        Threads of the approximate neighbour search.
    verbose : int, default=0
        Show progress over the rank blocks, the permutations and the resamples when > 0.

    Attributes
    ----------
    ks_ : ndarray of int
        Neighbourhood sizes swept on the training rows.
    spectrum_ : ndarray
        TAS at ``ks_`` on the training rows.
    jaccard_ : ndarray
        Mean Jaccard index at ``ks_``.
    chance_ : ndarray
        Chance level at ``ks_``.
    pvalues_ : ndarray
        Permutation p-value at ``ks_``; only when ``n_permutations > 0``.
    ci_low_, ci_high_ : ndarray
        Percentile half-sample interval of TAS at ``ks_``; only when ``n_resamples > 0``.
    n_samples_fit_ : int
    n_features_in_, n_features_y_ : int

    Notes
    -----
    The measure is fully determined by each sample's neighbour order, so it is
    invariant to any transformation that keeps it (rotation, translation, uniform
    scaling) and to permuting the samples of X and Y together. ``fit`` learns
    nothing that ``score`` uses: ``score`` computes the spectrum on the rows it is
    given, so ``cross_val_score`` reports the spectrum's stability across folds and
    ``GridSearchCV`` over ``n_neighbors`` finds the dominant scale of alignment.
    Neighbours are ordered by the exact distances of the values given, so
    float32 data far from the origin or of extreme magnitude score as their
    neighbour order says (:mod:`skalign.neighbors`).

    References
    ----------
    Tavares, Ayres & Smaragdis (2024), "Diagnosing Neural Convergence with
    Topological Alignment Spectra", arXiv:2411.08687.

    Examples
    --------
    >>> from skalign import TopologicalAlignmentSpectrum
    >>> from skalign.datasets import make_alignment_pair
    >>> X, Y, _ = make_alignment_pair("shuffle_centers", random_state=0)
    >>> tas = TopologicalAlignmentSpectrum(n_neighbors=[10, 124]).fit(X, Y)
    >>> tas.spectrum_.round(3).tolist()
    [1.0, 1.0]
    """

    def _metadata(self):
        if self.metric in ("euclidean", "sqeuclidean"):
            invariances = ("translation", "isotropic_scaling", "orthogonal", "monotone_distance",
                           "sample_permutation")
        elif self.metric in ("cosine", "ip"):
            # inner products keep their order under a positive scale and rotations, not under a
            # translation, which moves each product by a different amount
            invariances = ("isotropic_scaling", "orthogonal", "sample_permutation")
        else:  # precomputed distances: only the order of the samples
            invariances = ("sample_permutation",)
        return {
            "score_range": (-1.0, 1.0),
            "invariances": invariances,
            "symmetric": True,
            "stateless": True,
            # built from neighbour sets: resamples draw rows without replacement
            "distinct_rows": True,
        }

    _parameter_constraints: dict = {
        **TAS_PARAMETER_CONSTRAINTS,
        "n_resamples": [Interval(Integral, 0, None, closed="left")],
        "confidence_level": INFERENCE_PARAMETER_CONSTRAINTS["confidence_level"],
    }

    def __init__(
        self,
        n_neighbors=None,
        summary="mean",
        chance="paper",
        metric="euclidean",
        algorithm="auto",
        n_permutations=0,
        n_resamples=0,
        confidence_level=0.95,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_neighbors = n_neighbors
        self.summary = summary
        self.chance = chance
        self.metric = metric
        self.algorithm = algorithm
        self.n_permutations = n_permutations
        self.n_resamples = n_resamples
        self.confidence_level = confidence_level
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _min_samples(self):
        return MIN_SAMPLES

    def _spectrum(self, X, Y):
        """The spectrum, with per-k p-values and intervals from :mod:`skalign.inference`."""
        res = tas_spectrum(
            X,
            Y,
            self.n_neighbors,
            chance=self.chance,
            metric=self.metric,
            algorithm=self.algorithm,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        res.ci_low = res.ci_high = None
        if self.n_permutations:
            res.p_value = permutation_test(
                self,
                X,
                Y,
                n_permutations=self.n_permutations,
                random_state=self.random_state,
                verbose=self.verbose,
                statistic="spectrum",
            ).pvalue
        if self.n_resamples:
            res.ci_low, res.ci_high = bootstrap(
                self,
                X,
                Y,
                n_resamples=self.n_resamples,
                confidence_level=self.confidence_level,
                random_state=self.random_state,
                statistic="spectrum",
                verbose=self.verbose,
            ).confidence_interval
        return res

    def _fit(self, X, Y):
        for name in ("pvalues_", "ci_low_", "ci_high_"):
            self.__dict__.pop(name, None)  # a refit without them has none
        res = self._spectrum(X, Y)
        self.ks_ = res.k
        self.spectrum_ = res.tas
        self.jaccard_ = res.jaccard
        self.chance_ = res.chance
        if res.p_value is not None:
            self.pvalues_ = res.p_value
        if res.ci_low is not None:
            self.ci_low_, self.ci_high_ = res.ci_low, res.ci_high
        self.n_samples_fit_ = res.n_samples

    def prepare(self, X, name="X"):
        """Validate X and hold its neighbour ranks or lists for the sizes swept.

        Returns
        -------
        prepared : skalign.spectrum.PreparedNeighborhoods
            The rank matrix when it fits in ``skalign.spectrum.RANK_CACHE_MAX_BYTES``,
            the k_max-neighbour lists for few small k or approximate search, or the
            validated points (ranks then streamed in :meth:`combine`).
        """
        return prepare_neighborhoods(
            X,
            self.n_neighbors,
            metric=self.metric,
            algorithm=self.algorithm,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            name=name,
        )

    def combine(self, PX, PY):
        """``summary`` of the spectrum of two prepared representations
        (:func:`skalign.spectrum.combine_tas`)."""
        return combine_tas(PX, PY, summary=self.summary, chance=self.chance)

    def combine_spectrum(self, PX, PY):
        """TAS at every size both were prepared for (``PX.ks``), of two prepared representations.

        The vector statistic of :func:`skalign.inference.permutation_test` with
        ``statistic='spectrum'`` (built on
        :func:`skalign.spectrum.combine_neighborhoods`, :func:`~skalign.spectrum.tas_chance`
        and :func:`~skalign.spectrum.tas_from_jaccard`).

        Returns
        -------
        tas : ndarray of shape (n_sizes,)
        """
        mean = combine_neighborhoods(PX, PY)
        return tas_from_jaccard(mean.jaccard, tas_chance(mean.k, PX.n_samples, self.chance))

    def spectrum_at(self, X, Y, ks):
        """TAS of X and Y at the neighbour counts ``ks``, in their order (repeats allowed).

        What :func:`skalign.inference.bootstrap` with ``statistic='spectrum'``
        evaluates on every resample, after scaling the full sample's sizes to
        the resample's rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_x)
        Y : array-like of shape (n_samples, n_features_y)
        ks : array-like of int
            Neighbour counts in ``[1, n_samples - 2]``.

        Returns
        -------
        tas : ndarray of shape (len(ks),)
        """
        ks = np.asarray(ks, dtype=np.int64)
        sizes = np.unique(ks)
        est = clone(self).set_params(n_neighbors=sizes.tolist())
        tas = est.combine_spectrum(est.prepare(X, "X"), est.prepare(Y, "Y"))
        return tas[np.searchsorted(sizes, ks)]

    def score(self, X, y):
        """``summary`` of TAS over the swept k, on the rows given.

        Fractional ``n_neighbors`` resolve against these rows. No permutations are
        run here.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_x)
        y : array-like of shape (n_samples, n_features_y)
            The second representation, ``Y``, of the same samples.

        Returns
        -------
        score : float
            In [-1, 1] (at least -1/2 with ``chance='paper'``); higher = more aligned.
        """
        return super().score(X, y)

    def spectrum(self, X, Y):
        """The spectrum of X and Y as a table (p-values when ``n_permutations > 0``,
        intervals when ``n_resamples > 0``).

        Needs no fitting; computes on the rows given.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``k``, ``tas``, ``jaccard``, ``chance`` and ``p_value`` (NaN when
            ``n_permutations=0``), one row per neighbourhood size, and
            ``ci_low``, ``ci_high`` when ``n_resamples > 0``.
        """
        import pandas as pd

        self._validate_params()
        res = self._spectrum(X, Y)  # validated there, once
        pv = np.full(res.k.shape, np.nan) if res.p_value is None else res.p_value
        columns = {"k": res.k, "tas": res.tas, "jaccard": res.jaccard, "chance": res.chance, "p_value": pv}
        if res.ci_low is not None:
            columns.update(ci_low=res.ci_low, ci_high=res.ci_high)
        return pd.DataFrame(columns)

    def plot(self, ax=None, *, x="k", **kwargs):
        """Draw the fitted spectrum; see :func:`skalign.plotting.plot_spectrum`."""
        from ..plotting import plot_spectrum

        check_is_fitted(self)
        return plot_spectrum(self, ax=ax, x=x, **kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.metric == "precomputed"
        return tags
