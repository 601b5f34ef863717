"""CKAScorer: centered kernel alignment as a paired scorer, with exact streaming.

The formulas are in :mod:`skalign.kernels` (one-shot CKA) and
:mod:`skalign.streaming` (streaming and minibatch CKA); the scorer calls their
public functions and holds no math of its own.
"""

from __future__ import annotations

from .._dask import is_dask_array
from .._validation import check_nonconstant, check_paired_on_host, pair_warnings_off
from ..base import BasePairedScorer
from ..kernels import CKA_PARAMETER_CONSTRAINTS, cka, combine_cka, prepare_cka
from ..streaming import LinearCKAAccumulator, MinibatchCKAAccumulator

__all__ = ["CKAScorer"]


class CKAScorer(BasePairedScorer):
    """Centered kernel alignment (CKA) between two representations of the same samples.

    Linear CKA on column-centred data Xᶜ, Yᶜ is

    .. math::

        \\mathrm{CKA} = \\frac{\\lVert Y^{c\\top} X^c \\rVert_F^2}
                             {\\lVert X^{c\\top} X^c \\rVert_F \\, \\lVert Y^{c\\top} Y^c \\rVert_F},

    computed in feature space when n > d and on Gram matrices when d >= n;
    RBF CKA uses the Gram matrices K_ij = exp(-||x_i - x_j||² / (2σ²)). The
    single implementation is :func:`skalign.metrics.cka`; see
    :mod:`skalign.kernels` for the formulas (Kornblith et al. 2019).

    CKA learns nothing: ``fit`` only checks the input and records the widths,
    and ``score`` computes CKA on the rows it is given, so a held-out
    ``cross_val_score`` is CKA on each test fold.

    Parameters
    ----------
    kernel : {'linear', 'rbf'}, default='linear'
    sigma : {'median', 'median_all'} or float, default='median'
        RBF bandwidth ('median_all': the median over all n² entries of the
        distance matrix, diagonal zeros included, as Kornblith et al.'s code).
        'median': σ = ``sigma_fraction`` x sqrt(median squared
        distance between distinct rows), computed separately for X and Y
        (Kornblith et al. 2019). A float is used as σ directly and
        ``sigma_fraction`` is ignored.
    sigma_fraction : float, default=1.0
        Fraction of the median distance (Kornblith et al. report 0.2, 0.4, 0.8).
    debiased : bool, default=False
        Use the unbiased HSIC estimator (Song et al. 2012); needs n >= 4.

    Attributes
    ----------
    n_features_in_ : int
    n_features_y_ : int
    feature_names_in_ : ndarray of str
        Only when X is a DataFrame with string column names.
    cka_ : float
        After :meth:`partial_fit`: CKA of all rows streamed so far (exact for
        the linear kernel, minibatch CKA of Nguyen et al. 2021 for RBF).
        Absent while it is undefined (too few rows, or zero variance so far).
    n_samples_seen_ : int
        After :meth:`partial_fit`: rows streamed so far.

    Notes
    -----
    Score range: [0, 1] with ``debiased=False`` (1 iff Y = c X Q + t for the
    linear kernel). With ``debiased=True`` it is [-1, 1]: near 0 for
    independent representations, and slightly negative by estimation noise.

    Declared invariances hold for the linear kernel and for RBF with
    ``sigma='median'``; RBF with a fixed float ``sigma`` is not invariant to
    isotropic scaling. The RBF Gram route is limited to
    ``skalign.kernels.RBF_MAX_SAMPLES`` rows; stream minibatches through
    :meth:`partial_fit` (or use :func:`skalign.metrics.minibatch_cka`) beyond.

    With ``sklearn.set_config(array_api_dispatch=True)``, CuPy or PyTorch input
    to the linear kernel is scored on its own device (``fit``, ``score``,
    ``prepare``, ``combine``); the RBF kernel and :meth:`partial_fit` validate
    it there and compute on a host copy (see :mod:`skalign.kernels`).

    ``dask.array`` input (linear kernel, either side or both): ``fit`` checks
    shapes and dtypes without reading the data, and ``score`` computes the d x d
    statistics as sums over row chunks on the cluster the arrays live on (one
    read of each array, which also refuses NaN, inf and zero variance); the
    score equals the in-memory one to rounding. :meth:`prepare` refuses Dask
    arrays (it would hold the data in memory).

    Each representation is rescaled by a power of two before any product, so
    the score is the same for data at 1e-150 as at 1e150. With
    ``kernel='rbf', debiased=True`` the unbiased HSIC is computed directly on
    the uncentred kernel with zeroed diagonal (Song et al. 2012), which stays
    accurate at narrow bandwidths.

    References
    ----------
    Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
    representations revisited. ICML.
    Song, Smola, Gretton, Bedo & Borgwardt (2012). Feature selection via
    dependence maximization. JMLR 13.
    Nguyen, Raghu & Kornblith (2021). Do wide and deep networks learn the same
    things? ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from skalign import CKAScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 20))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    >>> round(CKAScorer().fit(X, 3 * X @ Q).score(X, 3 * X @ Q), 10)
    1.0
    """

    def _metadata(self):
        return {
            # the debiased estimator is a cosine between unbiasedly centred Gram matrices
            "score_range": (-1.0, 1.0) if self.debiased else (0.0, 1.0),
            "invariances": ("translation", "isotropic_scaling", "orthogonal", "sample_permutation"),
            "symmetric": True,
            "stateless": True,
            # the unbiased HSIC leaves out i = j terms, which a duplicated row brings back
            "distinct_rows": self.debiased,
        }

    _array_api = True
    _dask = True

    _parameter_constraints: dict = {**CKA_PARAMETER_CONSTRAINTS}

    def __init__(self, kernel="linear", sigma="median", sigma_fraction=1.0, debiased=False):
        self.kernel = kernel
        self.sigma = sigma
        self.sigma_fraction = sigma_fraction
        self.debiased = debiased

    def _min_samples(self):
        return 4 if self.debiased else 2

    def _fit(self, X, Y):
        if not (is_dask_array(X) or is_dask_array(Y)):
            # Dask data are read once, by score, which refuses zero variance there
            check_nonconstant(X, "X")
            check_nonconstant(Y, "Y")
        # a new fit starts a new stream
        for attr in ("_stream", "cka_", "n_samples_seen_"):
            self.__dict__.pop(attr, None)

    def prepare(self, X, name="X"):
        """Validate and centre one representation; precompute its Gram or feature statistics.

        Returns
        -------
        skalign.kernels.PreparedKernel
            For the linear kernel with n > d: the centred data and ||Xᶜᵀ Xᶜ||_F,
            so that :meth:`combine` costs one (d_x x n)(n x d_y) product.
        """
        self._validate_params()
        if is_dask_array(X):
            raise TypeError(
                f"{name} is a Dask array: prepare keeps a representation in memory. Score Dask arrays with "
                "fit/score or skalign.metrics.cka, which sum the statistics over chunks on the cluster."
            )
        return prepare_cka(
            X, kernel=self.kernel, sigma=self.sigma, sigma_fraction=self.sigma_fraction,
            debiased=self.debiased, name=name,
        )

    def _score(self, X, Y):
        if is_dask_array(X) or is_dask_array(Y):
            # the d x d statistics are sums over row chunks, computed where the chunks live
            return cka(X, Y, kernel=self.kernel, debiased=self.debiased)
        # X and Y were validated by score: prepare without validating again
        kw = dict(kernel=self.kernel, sigma=self.sigma, sigma_fraction=self.sigma_fraction, debiased=self.debiased)
        PX = prepare_cka(X, name="X", validate=False, **kw)
        PY = prepare_cka(Y, name="Y", validate=False, **kw)
        return combine_cka(PX, PY, debiased=self.debiased)

    def combine(self, PX, PY):
        """CKA of two prepared representations (see :func:`skalign.metrics.combine_cka`)."""
        return combine_cka(PX, PY, debiased=self.debiased)

    def partial_fit(self, X, y):
        """Stream a batch of paired rows into the running CKA, stored in ``cka_``.

        Linear kernel: exact -- XᵀX, YᵀY, XᵀY, the column sums (and for
        ``debiased=True`` the row-norm statistics) are accumulated, so after the
        last batch ``cka_`` equals the CKA of all rows together, whatever the
        batch sizes and with O(d²) memory. RBF kernel: each batch is one
        minibatch of Nguyen et al.'s minibatch CKA (batches of >= 4 rows when
        debiased; with ``sigma='median'``, σ is fixed by the first batch).

        A call to :meth:`fit` discards the stream. Batches may be small, so
        the few-samples warning of :meth:`fit` is not raised here.

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features_x)
        y : array-like of shape (n_batch, n_features_y)
            The same rows in the second representation.

        Returns
        -------
        self
        """
        first = not hasattr(self, "_stream")
        if first:
            self._validate_params()
        X, Y = self._check_pair_batch(X, y, reset=first)
        if first:
            if self.kernel == "linear":
                self._stream = LinearCKAAccumulator(debiased=self.debiased)
            else:
                self._stream = MinibatchCKAAccumulator(
                    kernel="rbf", sigma=self.sigma, sigma_fraction=self.sigma_fraction, debiased=self.debiased
                )
        self._stream.update(X, Y, validate=False)
        self.n_samples_seen_ = self._stream.n_samples
        try:
            self.cka_ = self._stream.value()
        except ValueError:
            # undefined so far (too few rows, zero variance); later batches may fix it
            self.__dict__.pop("cka_", None)
        return self

    def _check_pair_batch(self, X, y, reset):
        # A streamed batch may hold a single row, below the scorer's minimum for a
        # whole data set; the RBF minibatch estimator checks its own per-batch minimum.
        # Array API batches are checked on their device and streamed through the NumPy accumulators
        with pair_warnings_off():
            Xa, Ya = check_paired_on_host(X, y, min_samples=1)
        self._check_widths(X, Ya, reset, y=y)
        return Xa, Ya
