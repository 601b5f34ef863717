"""Shared core of CKA and HSIC: per-representation kernel statistics and the HSIC estimators.

:mod:`skalign.kernels` (one-shot CKA/HSIC) and :mod:`skalign.streaming`
(minibatch and streaming CKA) both build on this module, so that the
unbiased-HSIC formula, the per-representation scale and the RBF kernel exist
once. Functions here take validated arrays; the public entry points validate.

Unbiased HSIC. For Gram matrices K, L whose diagonals are set to zero (K̃, L̃),
the estimator of Song et al. (2012) is

.. math::

    n(n-3)\\,\\mathrm{HSIC}_1(K, L) = \\operatorname{tr}(\\tilde K \\tilde L)
        + \\frac{1^\\top \\tilde K 1 \\; 1^\\top \\tilde L 1}{(n-1)(n-2)}
        - \\frac{2}{n-2} 1^\\top \\tilde K \\tilde L 1 ,

which :func:`unbiased_hsic_sum` evaluates from its four ingredients. It is
unchanged when the off-diagonal entries of K gain a_i + a_j + c, so a caller may
hand it any such transform of K̃ (the linear kernel's centred Gram matrix, the
RBF kernel's U-centred one).

Scale. CKA is free of the scale of each representation, but its products are
not: ||XᵀX||² overflows float64 for entries near 1e77 and underflows near 1e-77.
Each representation is therefore centred and multiplied by a power of two,
2^(-e) with e the binary exponent of max |Xᶜ|, before any product (the scale
of the centred data, so that a large offset does not hide the variation). A power of two rescales every floating
point operation exactly, so at ordinary magnitudes the numbers are bit for bit
those of the unscaled data, and HSIC in the data's own units is recovered with
``ldexp``.

Uncentred products. For float64 NumPy data on the feature route the centred
products come without a centred n x d copy,

.. math::

    X^{c\\top} Y^c = X^\\top Y - n\\, \\mu_x \\mu_y^\\top ,

which cancels when a mean dominates its column's spread (relative error of
the result about 1 + μ²/σ² times that of the centred product). It is taken
only when every column has |μ| <= 2σ, read from the diagonal of XᵀX without
cancellation, and when the unscaled products are in range; otherwise the data
are centred and scaled as above. Only the d x d results are rescaled. The two
routes agree to rounding (about 1e-15 relative on CKA at ordinary sizes).

References
----------
Song, Smola, Gretton, Bedo & Borgwardt (2012). Feature selection via dependence
maximization. JMLR 13.
Székely & Rizzo (2014). Partial distance correlation with methods for
dissimilarities. Annals of Statistics 42(6) (U-centring).
Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
representations revisited. ICML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions

from ._array_api import (
    acc_dtype, get_namespace, is_numpy_namespace, ldexp, matmul, pow2_exponent, sq_sum, to_numpy,
)
from ._validation import check_nonconstant
from .neighbors import block_rows, pairwise_block

__all__ = [
    "KERNELS",
    "METHODS",
    "RBF_MAX_SAMPLES",
    "CKA_PARAMETER_CONSTRAINTS",
    "METHOD_CONSTRAINTS",
    "BATCH_CONSTRAINTS",
    "PreparedKernel",
    "prepare_kernel",
    "cross_inner",
    "hsic_from_prepared",
    "unbiased_numerator",
    "with_unbiased_terms",
    "hsic_units",
    "check_rbf_size",
    "unbiased_hsic_sum",
    "scale_fresh",
]

#: Largest n for which the RBF Gram matrix is built (8 n² bytes: 800 MB at 10,000).
RBF_MAX_SAMPLES = 10_000

KERNELS = ("linear", "rbf")
#: bandwidth rules: the median squared distance over the pairs i < j, or over all n²
#: entries of the distance matrix, diagonal zeros included (Kornblith et al.'s code)
SIGMA_RULES = ("median", "median_all")
METHODS = ("auto", "feature", "gram")

#: Constraints of the hyper-parameters every CKA function and estimator shares.
CKA_PARAMETER_CONSTRAINTS = {
    "kernel": [StrOptions(set(KERNELS))],
    "sigma": [StrOptions(set(SIGMA_RULES)), Interval(Real, 0, None, closed="neither")],
    "sigma_fraction": [Interval(Real, 0, None, closed="neither")],
    "debiased": ["boolean"],
}
#: The linear kernel's route (feature space or Gram matrices).
METHOD_CONSTRAINTS = {"method": [StrOptions(set(METHODS))]}
#: Minibatch CKA's batching.
BATCH_CONSTRAINTS = {
    "batch_size": [Interval(Integral, 2, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
}


@dataclass
class PreparedKernel:
    """Per-representation part of CKA, reusable with any partner of the same n.

    The data are first multiplied by ``2**-log2_scale`` (see the module
    docstring), and every array and number below is in those units. Exactly one
    of ``features`` (column-centred data, linear feature route) and ``gram``
    (n x n) is set.

    Attributes
    ----------
    kernel : {'linear', 'rbf'}
    n : int
    features : array of shape (n, d) or None
    gram : array of shape (n, n) or None
        The double-centred Gram matrix HKH; for the RBF kernel prepared with
        ``debiased=True``, the U-centred Gram matrix (zero diagonal, zero row
        sums) of the direct unbiased estimator instead.
    diag : array of shape (n,) or None
        Diagonal of the centred Gram matrix (squared row norms of Xᶜ); None for
        the U-centred RBF Gram matrix.
    trace : float
    self_inner : float or None
        <HKH, HKH>_F, i.e. ||Xᶜᵀ Xᶜ||²_F for the linear kernel; None for the
        U-centred RBF Gram matrix.
    self_unbiased : float or None
        n(n-3) HSIC_1(K, K); None when n < 4 or when an RBF kernel was prepared
        with ``debiased=False``.
    sigma : float or None
        RBF bandwidth actually used, in the data's own units.
    log2_scale : int
        The data were multiplied by 2**-log2_scale.
    debiased : bool or None
        RBF kernel: the estimator ``gram`` serves. None for the linear kernel,
        which serves both.
    rowsum, total : array of shape (n,) and float, or None
        Row sums and total of the U-centred RBF Gram matrix (zero up to
        rounding), for the unbiased estimator's formula.
    mean : array of shape (d,) or None
        Set when ``features`` is the caller's float64 array itself, uncentred and
        in its own units (see :func:`prepare_kernel`): its column means. The
        centred, scaled data are then ``(features - mean) * 2**-log2_scale``;
        every other attribute is in the scaled units as usual.
    """

    kernel: str
    n: int
    features: object
    gram: object
    diag: object
    trace: float
    self_inner: float | None
    self_unbiased: float | None
    sigma: float | None = None
    log2_scale: int = 0
    debiased: bool | None = None
    rowsum: object = None
    total: float | None = None
    mean: object = None

    def permute(self, perm):
        """The same representation with its samples reordered by ``perm``.

        Centring, scale and every self-term are invariant to reordering the
        samples, so only the rows (and, for a Gram matrix, the columns) move:
        a permutation test then costs one cross term per permutation.

        Parameters
        ----------
        perm : ndarray of int
            Sample ``i`` of the result is sample ``perm[i]`` of this one.

        Returns
        -------
        PreparedKernel
        """
        arrays = [a for a in (self.features, self.gram) if a is not None]
        xp = get_namespace(*arrays)
        idx = perm if is_numpy_namespace(xp) else xp.asarray(perm, device=getattr(arrays[0], "device", None))

        def rows(A):
            return None if A is None else xp.take(A, idx, axis=0)

        gram = None if self.gram is None else xp.take(rows(self.gram), idx, axis=1)
        return replace(
            self, features=rows(self.features), gram=gram, diag=rows(self.diag), rowsum=rows(self.rowsum)
        )


# ----------------------------------------------------------------------------- formulas
def unbiased_hsic_sum(tr_kl, sum_k, sum_l, rowsum_dot, n):
    """n(n-3) HSIC_1 from tr(K̃L̃), 1ᵀK̃1, 1ᵀL̃1 and (K̃1)·(L̃1) (Song et al. 2012).

    See the module docstring for the formula; n >= 4.
    """
    return tr_kl + sum_k * sum_l / ((n - 1) * (n - 2)) - 2.0 * rowsum_dot / (n - 2)


def _inner(A, B, xp):
    """<A, B>_F accumulated in float64 where the device has it.

    NumPy: ``vdot`` forms no temporary A * B. Measured on two 4000 x 4000
    float64 arrays: 60 ms and no extra memory, against 175 ms and 122 MiB for
    ``xp.sum(A * B)`` (the Gram route's n x n arrays). Below about half a
    million entries (the d x d products of the feature route) ``einsum`` runs
    single-threaded and wins: 0.04 ms against 10 ms for ``vdot`` on 256 x 256
    on a loaded 2-core machine, where waking BLAS threads costs milliseconds.
    """
    if is_numpy_namespace(xp):
        if A.size < 1 << 19:
            return float(np.einsum("i,i->", A.ravel(), B.ravel()))
        return float(np.vdot(A, B))
    return float(xp.sum(A * B, dtype=acc_dtype(xp, A)))


def scale_fresh(A, e, xp):
    """``A * 2**-e`` exactly, in place when ``A`` is a fresh array and one factor is exact.

    One factor is exact in float32 and float64 for |e| <= 100, every ordinary
    magnitude: then no second n x d array is allocated (:func:`skalign._array_api.ldexp`
    returns a new one, and needs two factors). Beyond, the shared ``ldexp``.
    """
    if not e:
        return A
    if abs(e) <= 100:
        A *= math.ldexp(1.0, -e)
        return A
    return ldexp(A, -e, xp)


# ----------------------------------------------------------------------------- prepare
def check_rbf_size(n, name, limit=None):
    """Refuse an RBF Gram matrix of more than ``limit`` (default :data:`RBF_MAX_SAMPLES`) rows."""
    limit = RBF_MAX_SAMPLES if limit is None else limit
    if n > limit:
        raise ValueError(
            f"{name} has {n} samples; the RBF kernel builds an n x n Gram matrix ({8 * n * n / 2**30:.1f} GiB) "
            f"and is limited to n <= RBF_MAX_SAMPLES = {limit}. Use kernel='linear', "
            "skalign.metrics.minibatch_cka, or CKAScorer.partial_fit on minibatches."
        )


def prepare_kernel(X, *, kernel, sigma, sigma_fraction, debiased, method, name, xp=None):
    """Per-representation statistics of a validated array (no parameter checks here).

    The zero-variance check runs, from ||Xᶜ||²_F which CKA needs anyway.
    """
    xp = get_namespace(X) if xp is None else xp
    if kernel == "linear":
        return _prepare_linear(X, method, name, xp, unbiased=debiased)
    # the RBF route (row blocks, median, in-place exp) is NumPy code: on a host copy
    return _prepare_rbf(to_numpy(X, xp), sigma, sigma_fraction, debiased, name)


def _centred_scaled(X, xp, dtype=None):
    """Column-centred X times the power of two 2**-e that brings max |Xᶜ| into [0.5, 1); and e.

    Centring subtracts the first row, then the mean of the differences: a
    constant column becomes exactly 0 (its mean alone would be rounded, leaving
    eps x value, which for a column at 1e300 dwarfs the varying ones). So Xᶜ is
    all zero exactly when every row is the same point, and the zero-variance
    check costs nothing more. The scale is that of the centred data, so that a
    large offset does not push the variation towards underflow.

    Returns
    -------
    Xc : array in ``dtype`` (X's by default)
    e : int
    """
    if dtype is not None and X.dtype != dtype:
        X = xp.astype(X, dtype)
    acc = acc_dtype(xp, X)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is detected below
        Xc = X - X[0:1, :]
        sums = xp.sum(Xc, axis=0, dtype=acc)
    if not bool(xp.all(xp.isfinite(sums))):
        # values near the largest float: the differences overflowed; bring the data down first
        e_raw = pow2_exponent(X, xp)
        Xc, e = _centred_scaled(ldexp(X, -e_raw, xp), xp)
        return Xc, e + e_raw
    Xc -= xp.astype(sums / X.shape[0], Xc.dtype)
    e = pow2_exponent(Xc, xp)
    return scale_fresh(Xc, e, xp), e


def _check_varies(X, name, xp, sq_norm):
    """The zero-variance check from ||Xᶜ||²_F of :func:`_centred_scaled`, which costs nothing.

    Its Xᶜ is all zero exactly when every row of X is the same point (a
    constant column is shifted to exactly 0), and otherwise has its largest
    value in [1/2, 1), so ``sq_norm`` is 0 or at least 1/4.
    """
    if not sq_norm > 0:
        check_nonconstant(X, name, xp=xp)  # words the error


#: The uncentred route is taken when every column has n·μ² <= this fraction of Σx²,
#: i.e. |μ| <= 2σ: then the cancellation in XᵀX - nμμᵀ costs at most a factor
#: 1 + μ²/σ² <= 5 on the rounding error of the centred products.
_UNCENTRED_MEAN_FRACTION = 0.8
#: Range of max_j Σx_j² in which the unscaled products neither overflow (nor their
#: squares, once the d x d results are rescaled) nor underflow where it matters.
_UNCENTRED_RANGE = (2.0**-600, 2.0**600)


def _prepare_linear(X, method, name, xp, unbiased=True):
    n, d = X.shape
    gram_route = method == "gram" or (method == "auto" and d >= n)
    # NumPy float64 only: the cancellation bound is read against float64 rounding (in
    # float32 a factor 5 on ~1e-6 is not safe); other namespaces keep the one code path.
    if not gram_route and is_numpy_namespace(xp) and X.dtype == np.float64:
        P = _prepare_linear_uncentred(X, n, name, unbiased)
        if P is not None:
            return P
    acc = acc_dtype(xp, X)
    Xc, e = _centred_scaled(X, xp)
    if gram_route:
        diag = sq_sum(Xc, xp, axis=1)
        trace = float(xp.sum(diag))
        _check_varies(X, name, xp, trace)
        Xc = xp.astype(Xc, acc)
        gram = Xc @ Xc.T
        P = PreparedKernel("linear", n, None, gram, diag, trace, _inner(gram, gram, xp), None, log2_scale=e)
        return with_unbiased_terms(P)
    G = xp.astype(Xc.T @ Xc, acc)
    if unbiased:
        diag = sq_sum(Xc, xp, axis=1)
        trace = float(xp.sum(diag))
    else:
        # the debiased estimator alone needs the row norms: the trace of XᶜᵀXᶜ is ||Xᶜ||²_F
        diag, trace = None, _trace(G, xp)
    _check_varies(X, name, xp, trace)
    P = PreparedKernel("linear", n, Xc, None, diag, trace, _inner(G, G, xp), None, log2_scale=e)
    return with_unbiased_terms(P) if unbiased else P


def _trace(G, xp):
    linalg = getattr(xp, "linalg", None)
    if linalg is not None and hasattr(linalg, "diagonal"):
        return float(xp.sum(linalg.diagonal(G)))
    return float(np.trace(to_numpy(G, xp)))


def with_unbiased_terms(P):
    """``P`` with the row norms and self-term of the debiased estimator, computed if missing.

    A linear feature-route representation prepared for biased CKA leaves them out
    (two passes over the data it does not need); a debiased combine fills them in
    from the centred data here.
    """
    if P.kernel != "linear" or P.n < 4 or (P.diag is not None and P.self_unbiased is not None):
        return P
    if P.diag is None:
        xp = get_namespace(P.features)
        if P.mean is None:
            diag = sq_sum(P.features, xp, axis=1)
            # the trace as the debiased route has always formed it, from the row norms
            P = replace(P, trace=float(xp.sum(diag)))
        else:
            # ||x_i - μ||² = ||x_i||² - 2 x_i·μ + ||μ||², in the scaled units of the other terms
            X, mu = P.features, P.mean
            diag = np.einsum("ij,ij->i", X, X)
            diag -= 2.0 * (X @ mu)
            diag += float(mu @ mu)
            diag *= math.ldexp(1.0, -2 * P.log2_scale)
        P = replace(P, diag=diag)
    xp = get_namespace(P.diag)
    self_unb = _centred_unbiased(P.self_inner, P.diag, P.diag, P.trace, P.trace, P.n, xp)
    return replace(P, self_unbiased=self_unb)


def _prepare_linear_uncentred(X, n, name, unbiased=True):
    """The feature route without an n x d centred copy, or None where it is not safe.

    XᶜᵀXᶜ = XᵀX - n μμᵀ and ||x_i - μ||² = ||x_i||² - 2 x_i·μ + ||μ||²: the data
    are read by one product and three passes (column sums, row norms, X μ), and
    ``features`` is ``X`` itself. Exact algebra, but the subtraction cancels when a
    column's mean dominates its spread, so it is used only when every column has
    |μ| <= 2σ (checked from the diagonal of XᵀX, without cancellation) and the
    products are in range; otherwise None, and the caller centres. The d x d
    results are multiplied by a power of two into the units of the centred route.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # out of range: refused below
        # column sums as a BLAS product: threaded, 3x faster than sum(axis=0) at n=1e5, d=256
        s = np.ones(n) @ X
        G = X.T @ X
    g = np.diagonal(G)
    g_max = float(g.max()) if g.size else 0.0
    lo, hi = _UNCENTRED_RANGE
    if not (lo < g_max < hi and np.isfinite(G).all()):
        return None
    if not bool(np.all(s * s <= _UNCENTRED_MEAN_FRACTION * n * g)):
        return None
    mu = s / n
    G -= np.outer(s, mu)
    # max Σx² = m 2^k: halving k puts the largest centred square sum near 1
    e = math.frexp(g_max)[1] // 2
    unit = math.ldexp(1.0, -2 * e)  # exact: |2e| <= 600
    G *= unit
    trace = float(np.trace(G))
    _check_varies(X, name, np, trace)
    self_inner = _inner(G, G, np)
    P = PreparedKernel("linear", n, X, None, None, trace, self_inner, None, log2_scale=e, mean=mu)
    return with_unbiased_terms(P) if unbiased else P


def _centred_features(P, xp):
    """The centred, scaled data of a feature-route representation (a copy when ``P.mean`` is set)."""
    if P.mean is None:
        return P.features
    return scale_fresh(P.features - P.mean, P.log2_scale, xp)


def _centred_unbiased(inner, diag_x, diag_y, trace_x, trace_y, n, xp):
    """n(n-3) HSIC_1 from two *double-centred* Gram matrices (K1 = 0).

    Their diagonals zeroed: tr(K̃L̃) = <K,L> - kd·ld, 1ᵀK̃1 = -tr K, (K̃1)·(L̃1) = kd·ld.
    """
    dd = _inner(diag_x, diag_y, xp)
    return unbiased_hsic_sum(inner - dd, -trace_x, -trace_y, dd, n)


def _median_sq_distance_and_gram(Xc):
    """Squared distances of the rows of Xc into an n x n array, and their median over i < j."""
    n = Xc.shape[0]
    sq = np.einsum("ij,ij->i", Xc, Xc, dtype=np.float64)
    D = np.empty((n, n))
    upper = np.empty(n * (n - 1) // 2)
    pos = 0
    for rows in gen_batches(n, block_rows(n)):
        D[rows] = pairwise_block(Xc, sq, rows, "sqeuclidean")  # clipped at 0, diagonal -inf
        for i in range(rows.start, rows.stop):
            D[i, i] = 0.0
            m = n - 1 - i
            upper[pos:pos + m] = D[i, i + 1:]
            pos += m
    return D, upper


def _median_all_entries(upper, n):
    """Median of the n x n squared-distance matrix from its upper triangle ``upper``.

    Sorted, the n² entries are n diagonal zeros followed by each pair's value twice,
    so entry k >= n of the sorted matrix is ``sort(upper)[(k - n) // 2]``.
    """
    lo, hi = (n * n - 1) // 2, (n * n) // 2
    picks = sorted({(k - n) // 2 for k in (lo, hi) if k >= n})
    part = np.partition(upper, picks) if picks else upper

    def entry(k):
        return 0.0 if k < n else float(part[(k - n) // 2])

    return 0.5 * (entry(lo) + entry(hi))


def _prepare_rbf(X, sigma, sigma_fraction, debiased, name):
    n = X.shape[0]
    # distances are translation-invariant; centring in float64 helps rounding
    Xc, e = _centred_scaled(X, np, dtype=np.float64)
    total_sq = float(sq_sum(Xc))
    _check_varies(X, name, np, total_sq)
    D, upper = _median_sq_distance_and_gram(Xc)
    if isinstance(sigma, str):
        med = _median_all_entries(upper, n) if sigma == "median_all" else (
            float(np.median(upper, overwrite_input=True)) if upper.size else 0.0)
        if not med > 0:
            raise ValueError(
                f"{name}: at least half of the pairs of rows are identical, so the median squared "
                f"distance is 0 and sigma={sigma!r} is undefined; pass a positive float sigma."
            )
        sigma_scaled = float(sigma_fraction) * math.sqrt(med)
        sigma_used = math.ldexp(sigma_scaled, e)
    else:
        sigma_used = float(sigma)
        sigma_scaled = math.ldexp(sigma_used, -e)
    del upper
    width = 2.0 * sigma_scaled**2
    if not (math.isfinite(width) and width > 0):
        raise ValueError(
            f"sigma={sigma_used!r} is out of proportion to {name} (largest |value| about 2**{e}): "
            "the RBF kernel would be constant or the identity; pass a sigma nearer the data's spread."
        )
    D *= -1.0 / width
    # Centring and the unbiased estimator ignore a constant added to every entry, so a
    # wide kernel (typical entry above 1/2) is kept as K - 1, whose small entries keep
    # the digits that K, all near 1, would round away; a narrow one as K, near 0.
    # The typical exponent is the mean squared distance over pairs, 2n/(n-1) ||Xᶜ||²/n.
    if 2.0 * total_sq / (n - 1) / width < math.log(2.0):
        np.expm1(D, out=D)
    else:
        np.exp(D, out=D)
    if debiased:
        return _u_centred_rbf(D, n, sigma_used, e, name)
    r = D.mean(axis=1)
    D -= r[:, None]
    D -= r[None, :]
    D += r.mean()
    diag = np.diag(D).copy()
    trace = float(diag.sum())
    self_inner = float(np.vdot(D, D))
    if not self_inner > 0:
        raise ValueError(
            f"The RBF kernel of {name} with sigma={sigma_used!r} is constant, so CKA is undefined; "
            "pass a smaller sigma."
        )
    return PreparedKernel("rbf", n, None, D, diag, trace, self_inner, None, sigma_used, e, False)


def _u_centred_rbf(K, n, sigma_used, e, name):
    """The direct unbiased estimator's Gram matrix: K's diagonal zeroed, then U-centred, in place.

    Zeroing the diagonal of the *uncentred* kernel first keeps its unit diagonal
    out of every other entry: after double centring, a nearly diagonal kernel
    (narrow bandwidth) leaves O(n) terms that cancel to nothing. U-centring
    then adds only terms a_i + a_j + c off the diagonal, which the estimator
    ignores, and removes the kernel's common level (wide bandwidth).
    """
    np.fill_diagonal(K, 0.0)
    r = K.sum(axis=1)
    a = r / (n - 2)
    K -= a[:, None]
    K -= a[None, :]
    K += r.sum() / ((n - 1) * (n - 2))
    np.fill_diagonal(K, 0.0)
    rowsum = K.sum(axis=1)
    total = float(rowsum.sum())
    self_unb = unbiased_hsic_sum(float(np.vdot(K, K)), total, total, float(rowsum @ rowsum), n)
    if not self_unb > 0:
        raise ValueError(
            f"The RBF kernel of {name} with sigma={sigma_used!r} has no off-diagonal variation at "
            "these samples, so debiased CKA is undefined; pass a larger sigma or sigma_fraction."
        )
    return PreparedKernel("rbf", n, None, K, None, 0.0, None, self_unb, sigma_used, e, True, rowsum, total)


# ----------------------------------------------------------------------------- combine
def cross_inner(PX, PY):
    """<HKH, HLH>_F of two prepared representations (both in their scaled units)."""
    arrays = [a for P in (PX, PY) for a in (P.features, P.gram) if a is not None]
    on_host = [isinstance(a, np.ndarray) for a in arrays]
    if any(on_host) and not all(on_host):
        raise TypeError(
            "One representation was prepared as a NumPy array and the other in another array "
            "library; prepare both from arrays of the same library and device."
        )
    xp = get_namespace(*arrays)
    A, B = PX.features, PY.features
    if A is not None and B is not None:
        M = xp.astype(matmul(A.T, B, xp), acc_dtype(xp, A))
        if PX.mean is not None or PY.mean is not None:
            M = _uncentred_cross(M, PX, PY)
        return _inner(M, M, xp)
    if A is None and B is None:
        return _inner(PX.gram, PY.gram, xp)
    K, F = (PX.gram, _centred_features(PY, xp)) if A is None else (PY.gram, _centred_features(PX, xp))
    F = xp.astype(F, K.dtype)
    # <K, F Fᵀ> = tr(Fᵀ K F): O(n² d) without forming the second Gram matrix
    return _inner(K @ F, F, xp)


def _uncentred_cross(M, PX, PY):
    """XᶜᵀYᶜ in scaled units from the product of the two ``features`` arrays (NumPy, float64).

    Both uncentred: subtract n μₓμᵧᵀ. One of them centred: its columns sum to
    zero up to rounding, so the other's mean adds only that rounding times
    |μ| <= 2σ, and nothing is subtracted.
    """
    if PX.mean is not None and PY.mean is not None:
        M = M - PX.n * np.outer(PX.mean, PY.mean)
    e = sum(P.log2_scale for P in (PX, PY) if P.mean is not None)
    return M * math.ldexp(1.0, -e)  # exact: |e| <= 600


def unbiased_numerator(PX, PY, inner=None):
    """n(n-3) HSIC_1 of two prepared representations, in their scaled units.

    ``inner`` is :func:`cross_inner` when the caller has it.
    """
    n = PX.n
    inner = cross_inner(PX, PY) if inner is None else inner
    PX, PY = with_unbiased_terms(PX), with_unbiased_terms(PY)
    if PX.debiased or PY.debiased:  # U-centred RBF Gram matrices: the direct estimator
        return unbiased_hsic_sum(inner, PX.total, PY.total, float(PX.rowsum @ PY.rowsum), n)
    xp = get_namespace(PX.diag, PY.diag)
    return _centred_unbiased(inner, PX.diag, PY.diag, PX.trace, PY.trace, n, xp)


def hsic_from_prepared(PX, PY, debiased, inner=None):
    """HSIC of two prepared representations in their scaled units (HSIC_0, or HSIC_1 if ``debiased``).

    Multiply by ``2**(hsic_units(PX) + hsic_units(PY))`` for the HSIC in the
    data's own units.
    """
    n = PX.n
    if debiased:
        return unbiased_numerator(PX, PY, inner) / (n * (n - 3))
    return (cross_inner(PX, PY) if inner is None else inner) / (n - 1) ** 2


def hsic_units(P):
    """log2 of the factor a prepared representation's HSIC terms were divided by (per side)."""
    return 2 * P.log2_scale if P.kernel == "linear" else 0
