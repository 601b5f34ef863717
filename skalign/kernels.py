"""Centered kernel alignment (CKA) and HSIC, linear and RBF, biased and debiased.

For two representations X (n, d_x) and Y (n, d_y) of the same samples with Gram
matrices K and L, and the centring matrix H = I - 11ᵀ/n,

.. math::

    \\mathrm{CKA}(K, L) = \\frac{\\langle HKH, HLH \\rangle_F}
                              {\\lVert HKH \\rVert_F \\, \\lVert HLH \\rVert_F}.

Linear kernel (K = XXᵀ). With column-centred Xᶜ, Yᶜ this is

.. math::

    \\mathrm{CKA} = \\frac{\\lVert Y^{c\\top} X^c \\rVert_F^2}
                         {\\lVert X^{c\\top} X^c \\rVert_F \\, \\lVert Y^{c\\top} Y^c \\rVert_F},

computed in feature space (O(n d²) time, O(d²) extra memory beyond the centred
copy) whenever n > d, and on n x n Gram matrices only when d >= n; the two routes
give the same number to rounding.

RBF kernel. K_ij = exp(-||x_i - x_j||² / (2σ²)). With ``sigma='median'`` the
bandwidth is σ = ``sigma_fraction`` x sqrt(median of ||x_i - x_j||² over the
n(n-1)/2 pairs i < j) -- the median heuristic of Kornblith et al. (2019), who
report fractions 0.2, 0.4 and 0.8; the default fraction 1.0 is the classical
median heuristic. (Their reference code takes the median over all n² entries,
diagonal zeros included; the difference vanishes as n grows.) Each
representation gets its own σ. The Gram matrix is built in row blocks and needs
about 8 n² bytes per representation (plus 4 n² transient for the median), so
n is refused above :data:`RBF_MAX_SAMPLES`; use :func:`minibatch_cka` beyond.

Debiased. ``debiased=True`` replaces both HSICs by the unbiased estimator of
Song et al. (2012),

.. math::

    \\mathrm{HSIC}_1(K, L) = \\frac{1}{n(n-3)} \\Big[ \\operatorname{tr}(\\tilde K \\tilde L)
        + \\frac{1^\\top \\tilde K 1 \\; 1^\\top \\tilde L 1}{(n-1)(n-2)}
        - \\frac{2}{n-2} 1^\\top \\tilde K \\tilde L 1 \\Big],

K̃, L̃ being K, L with zeroed diagonals (n >= 4), as in Kornblith et al.'s
debiased CKA. The estimator is unchanged when K gains terms a_i + a_j + c, so it
is computed on the centred Gram matrix (or, for the linear kernel, in feature
space) with the same cost as the biased one.

Precision: float32 input keeps its products in float32 (half the memory and
time of float64, relative error ~1e-6); every reduction to a scalar, the Gram
route, the RBF kernel and the streaming accumulators use float64.

Array API (GPU). With ``sklearn.set_config(array_api_dispatch=True)``, linear
CKA (biased and debiased, both routes) and HSIC of CuPy, PyTorch or other Array
API arrays are computed with that library's operations on the input's device;
reductions use float64 where the device has it. Only the final scalars come
back to the host. The RBF kernel, minibatch CKA and the streaming
accumulators are NumPy code: Array API input is validated on its device and
then copied to the host for them.

Ranges: biased CKA lies in [0, 1]. Debiased CKA lies in [-1, 1] (it is a cosine
between two "unbiasedly centred" Gram matrices); it is near 0 for independent
representations and goes slightly negative by estimation noise.

References
----------
Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
representations revisited. ICML.
Song, Smola, Gretton, Bedo & Borgwardt (2012). Feature selection via dependence
maximization. JMLR 13.
Nguyen, Raghu & Kornblith (2021). Do wide and deep networks learn the same
things? ICLR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from .neighbors import block_rows, pairwise_block
from sklearn.utils import gen_batches

from ._validation import (
    check_nonconstant, check_random_state, check_representation_xp,
)

__all__ = [
    "RBF_MAX_SAMPLES",
    "PreparedKernel",
    "prepare_cka",
    "combine_cka",
    "cka",
    "linear_cka",
    "rbf_cka",
    "hsic",
    "minibatch_cka",
    "LinearCKAAccumulator",
    "MinibatchCKAAccumulator",
]

#: Largest n for which the RBF Gram matrix is built (8 n² bytes: 800 MB at 10,000).
RBF_MAX_SAMPLES = 10_000

_KERNELS = ("linear", "rbf")
_METHODS = ("auto", "feature", "gram")


@dataclass
class PreparedKernel:
    """Per-representation part of CKA, reusable with any partner of the same n.

    Exactly one of ``features`` (column-centred data, linear feature route) and
    ``gram`` (double-centred n x n Gram matrix) is set.

    Attributes
    ----------
    kernel : {'linear', 'rbf'}
    n : int
    features : ndarray of shape (n, d) or None
    gram : ndarray of shape (n, n) or None
    diag : ndarray of shape (n,)
        Diagonal of the centred Gram matrix (squared row norms of Xᶜ).
    trace : float
    self_inner : float
        <HKH, HKH>_F, i.e. ||Xᶜᵀ Xᶜ||²_F for the linear kernel.
    self_unbiased : float or None
        n(n-3) HSIC_1(K, K); None when n < 4.
    sigma : float or None
        RBF bandwidth actually used.
    """

    kernel: str
    n: int
    features: np.ndarray | None
    gram: np.ndarray | None
    diag: np.ndarray
    trace: float
    self_inner: float
    self_unbiased: float | None
    sigma: float | None = None


# ----------------------------------------------------------------------------- helpers
def _varies_tol(X):
    # A constant column's mean is rounded, so its "variance" is (eps x value)² per
    # column rather than 0; the tolerance sits above that floor.
    eps = np.finfo(X.dtype if X.dtype.kind == "f" else np.float64).eps
    return X.shape[1] * (64 * eps) ** 2


def _check_varies(X, name):
    xp = _namespace_of(X)
    if xp is None:
        check_nonconstant(X, name, tol=_varies_tol(X))
        return
    # on the device: ||Xᶜ||²_F, the same quantity _screen_varies screens
    Xc = _centre_xp(X, xp)
    _screen_varies_xp(X, float(xp.sum(Xc * Xc, dtype=_acc_dtype(xp, X))), name, xp)


# ----------------------------------------------------------------------------- Array API path
def _namespace_of(*arrays):
    """Namespace of non-NumPy Array API arrays (already admitted by check_representation_xp), else None.

    Uses array_api_compat directly, not sklearn's config: once an array passed
    validation on its device, later steps follow the array.
    """
    if all(isinstance(a, np.ndarray) for a in arrays):
        return None
    from sklearn.externals import array_api_compat

    return array_api_compat.array_namespace(*arrays)


def _acc_dtype(xp, X):
    """float64 for reductions wherever the device supports it (not e.g. on Apple MPS)."""
    from sklearn.externals.array_api_compat import device
    from sklearn.utils._array_api import _max_precision_float_dtype

    return _max_precision_float_dtype(xp, device(X))


def _centre_xp(X, xp):
    mean = xp.sum(X, axis=0, dtype=_acc_dtype(xp, X)) / X.shape[0]
    return X - xp.astype(mean, X.dtype)


def _screen_varies_xp(X, trace, name, xp):
    scale = max(float(xp.max(X)), -float(xp.min(X)))
    eps = xp.finfo(X.dtype).eps
    # divided, not squared, so that neither 1e200 overflows nor 1e-200 underflows
    if scale == 0 or not trace / X.shape[0] / scale / scale > 2.0 * X.shape[1] * (64 * eps) ** 2:
        # rare (near-constant input): the shared check words the error, on a host copy
        from sklearn.utils._array_api import _convert_to_numpy

        Xh = _convert_to_numpy(X, xp)
        check_nonconstant(Xh, name, tol=_varies_tol(Xh))


def _paired_on_host(X, Y, *, min_samples, names=("X", "Y")):
    """:func:`check_paired` for the NumPy-only routes (streaming, minibatch).

    Array API input is validated on its device (clear errors, not a failed
    conversion), then copied to the host.
    """
    X, Y, xp = check_representation_xp(X, Y, name=names[0], name_y=names[1], min_samples=min_samples)
    if xp is not None:
        from sklearn.utils._array_api import _convert_to_numpy

        X, Y = _convert_to_numpy(X, xp), _convert_to_numpy(Y, xp)
    return X, Y


def _prepare_linear_xp(X, method, name, xp):
    n, d = X.shape
    acc = _acc_dtype(xp, X)
    Xc = _centre_xp(X, xp)
    diag = xp.astype(xp.sum(Xc * Xc, axis=1), acc)
    trace = float(xp.sum(diag))
    _screen_varies_xp(X, trace, name, xp)
    if method == "gram" or (method == "auto" and d >= n):
        Xc = xp.astype(Xc, acc)
        gram = Xc @ Xc.T
        self_inner = float(xp.sum(gram * gram))
        features = None
    else:
        G = xp.astype(Xc.T @ Xc, acc)
        self_inner = float(xp.sum(G * G))
        features, gram = Xc, None
    self_unb = _unbiased_term(self_inner, diag, diag, trace, trace, n) if n >= 4 else None
    return PreparedKernel("linear", n, features, gram, diag, trace, self_inner, self_unb)


def _cross_inner_xp(PX, PY, xp):
    A, B = PX.features, PY.features
    if A is not None and B is not None:
        if A.dtype != B.dtype:
            t = xp.result_type(A, B)
            A, B = xp.astype(A, t), xp.astype(B, t)
        M = xp.astype(A.T @ B, _acc_dtype(xp, A))
        return float(xp.sum(M * M))
    if A is None and B is None:
        return float(xp.sum(PX.gram * PY.gram))
    K, F = (PX.gram, B) if A is None else (PY.gram, A)
    F = xp.astype(F, K.dtype)
    return float(xp.sum((K @ F) * F))


def _screen_varies(X, trace, name):
    """Zero-variance check from ||Xᶜ||²_F, which CKA computes anyway.

    The shared :func:`check_nonconstant` costs a temporary n x d array; it runs
    (and words the error) only when the total variance trace / n is within a
    factor 2 of its threshold.
    """
    scale = max(float(X.max()), -float(X.min()))
    # divided, not squared, so that neither 1e200 overflows nor 1e-200 underflows
    if scale == 0 or not trace / X.shape[0] / scale / scale > 2.0 * _varies_tol(X):
        _check_varies(X, name)


def _centre(X):
    mean = X.mean(axis=0, dtype=np.float64)
    return X - mean.astype(X.dtype, copy=False)


def _unbiased_term(inner, diag_x, diag_y, trace_x, trace_y, n):
    """n(n-3) HSIC_1 from quantities of two *centred* Gram matrices.

    With K1 = 0: tr(K̃L̃) = <K,L> - kd·ld, 1ᵀK̃1 = -tr K and 1ᵀK̃L̃1 = kd·ld.
    """
    xp = _namespace_of(diag_x, diag_y)
    dd = float(np.dot(diag_x, diag_y)) if xp is None else float(xp.sum(diag_x * diag_y))
    return inner - dd + trace_x * trace_y / ((n - 1) * (n - 2)) - 2.0 * dd / (n - 2)


def _check_kernel_args(kernel, sigma, sigma_fraction, method):
    if kernel not in _KERNELS:
        raise ValueError(f"kernel must be one of {_KERNELS}; got {kernel!r}.")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; got {method!r}.")
    if not (isinstance(sigma, str) and sigma == "median"):
        if isinstance(sigma, str) or isinstance(sigma, bool) or not np.isscalar(sigma):
            raise ValueError(f"sigma must be 'median' or a positive float; got {sigma!r}.")
        if not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be a positive finite float; got {sigma!r}.")
    if isinstance(sigma_fraction, bool) or not np.isscalar(sigma_fraction) or not (
        np.isfinite(sigma_fraction) and sigma_fraction > 0
    ):
        raise ValueError(f"sigma_fraction must be a positive finite float; got {sigma_fraction!r}.")


# ----------------------------------------------------------------------------- prepare / combine
def _prepare_linear(X, method, name):
    n, d = X.shape
    Xc = _centre(X)
    diag = np.einsum("ij,ij->i", Xc, Xc).astype(np.float64, copy=False)
    trace = float(diag.sum())
    _screen_varies(X, trace, name)
    if method == "gram" or (method == "auto" and d >= n):
        Xc = Xc.astype(np.float64, copy=False)
        gram = Xc @ Xc.T
        self_inner = float(np.vdot(gram, gram))
        features = None
    else:
        G = (Xc.T @ Xc).astype(np.float64, copy=False)
        self_inner = float(np.vdot(G, G))
        features, gram = Xc, None
    self_unb = _unbiased_term(self_inner, diag, diag, trace, trace, n) if n >= 4 else None
    return PreparedKernel("linear", n, features, gram, diag, trace, self_inner, self_unb)


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


def _prepare_rbf(X, sigma, sigma_fraction, name):
    n = X.shape[0]
    if n > RBF_MAX_SAMPLES:
        raise ValueError(
            f"{name} has {n} samples; the RBF kernel builds an n x n Gram matrix ({8 * n * n / 2**30:.1f} GiB) "
            f"and is limited to n <= RBF_MAX_SAMPLES = {RBF_MAX_SAMPLES}. Use kernel='linear', "
            "skalign.metrics.minibatch_cka, or CKAScorer.partial_fit on minibatches."
        )
    Xc = _centre(X).astype(np.float64, copy=False)  # distances are translation-invariant; centring helps rounding
    _screen_varies(X, float(np.einsum("ij,ij->", Xc, Xc)), name)
    D, upper = _median_sq_distance_and_gram(Xc)
    if isinstance(sigma, str):
        med = float(np.median(upper, overwrite_input=True)) if upper.size else 0.0
        if not med > 0:
            raise ValueError(
                f"{name}: at least half of the pairs of rows are identical, so the median squared "
                "distance is 0 and sigma='median' is undefined; pass a positive float sigma."
            )
        sigma_used = float(sigma_fraction) * math.sqrt(med)
    else:
        sigma_used = float(sigma)
    del upper
    D *= -1.0 / (2.0 * sigma_used**2)
    np.exp(D, out=D)
    r = D.mean(axis=1)
    D -= r[:, None]
    D -= r[None, :]
    D += r.mean()
    diag = np.diag(D).copy()
    trace = float(diag.sum())
    self_inner = float(np.vdot(D, D))
    self_unb = _unbiased_term(self_inner, diag, diag, trace, trace, n) if n >= 4 else None
    return PreparedKernel("rbf", n, None, D, diag, trace, self_inner, self_unb, sigma_used)


def prepare_cka(
    X, *, kernel="linear", sigma="median", sigma_fraction=1.0, debiased=False, method="auto", name="X",
    validate=True,
):
    """Per-representation work of CKA: validation, centring, Gram or feature statistics.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    kernel : {'linear', 'rbf'}
    sigma : 'median' or float
        RBF bandwidth, or the median heuristic (see the module docstring).
    sigma_fraction : float
        σ = sigma_fraction x sqrt(median squared pairwise distance) when ``sigma='median'``.
    debiased : bool
        Only used to require n >= 4.
    method : {'auto', 'feature', 'gram'}
        Linear kernel only: 'auto' uses the Gram route iff n_features >= n_samples.
    name : str
        Argument name for error messages.
    validate : bool
        Run :func:`check_representation` (turn off only for arrays already
        validated). The zero-variance check always runs.

    Returns
    -------
    PreparedKernel
    """
    _check_kernel_args(kernel, sigma, sigma_fraction, method)
    if validate:
        X, xp = check_representation_xp(X, name=name, min_samples=4 if debiased else 2)
    else:
        xp = _namespace_of(X)
    if xp is not None:
        if kernel == "linear":
            return _prepare_linear_xp(X, method, name, xp)
        # the RBF route (row blocks, median, in-place exp) is NumPy code: run it on a host copy
        from sklearn.utils._array_api import _convert_to_numpy

        X = _convert_to_numpy(X, xp)
    if kernel == "linear":
        return _prepare_linear(X, method, name)
    return _prepare_rbf(X, sigma, sigma_fraction, name)


def _cross_inner(PX, PY):
    """<HKH, HLH>_F from two prepared representations."""
    arrays = [a for P in (PX, PY) for a in (P.features, P.gram) if a is not None]
    if not all(isinstance(a, np.ndarray) for a in arrays):
        if any(isinstance(a, np.ndarray) for a in arrays):
            raise TypeError(
                "One representation was prepared as a NumPy array and the other in another array "
                "library; prepare both from arrays of the same library and device."
            )
        return _cross_inner_xp(PX, PY, _namespace_of(*arrays))
    A, B = PX.features, PY.features
    if A is not None and B is not None:
        if A.dtype != B.dtype:
            t = np.result_type(A, B)
            A, B = A.astype(t, copy=False), B.astype(t, copy=False)
        M = (A.T @ B).astype(np.float64, copy=False)
        return float(np.vdot(M, M))
    if A is None and B is None:
        return float(np.vdot(PX.gram, PY.gram))
    K, F = (PX.gram, B) if A is None else (PY.gram, A)
    F = F.astype(np.float64, copy=False)
    # <K, F Fᵀ> = tr(Fᵀ K F): O(n² d) without forming the second Gram matrix
    return float(np.einsum("ij,ij->", K @ F, F))


def _hsic_from_prepared(PX, PY, inner, debiased):
    n = PX.n
    if debiased:
        return _unbiased_term(inner, PX.diag, PY.diag, PX.trace, PY.trace, n) / (n * (n - 3))
    return inner / (n - 1) ** 2


def combine_cka(PX, PY, *, debiased=False):
    """CKA of two prepared representations of the same samples.

    The cross term is the only work left: one (d_x x n)(n x d_y) product on the
    feature route, one n² inner product on the Gram route.

    Returns
    -------
    float
        In [0, 1] (biased) or [-1, 1] (debiased).
    """
    if PX.n != PY.n:
        raise ValueError(
            f"The two representations must describe the same samples, but they have {PX.n} and {PY.n} rows."
        )
    if debiased and (PX.self_unbiased is None or PY.self_unbiased is None):
        raise ValueError(f"debiased CKA needs at least 4 samples; got {PX.n}.")
    if PX is PY:
        return 1.0
    inner = _cross_inner(PX, PY)
    if not debiased:
        value = inner / math.sqrt(PX.self_inner * PY.self_inner)
        return float(min(max(value, 0.0), 1.0))
    num = _unbiased_term(inner, PX.diag, PY.diag, PX.trace, PY.trace, PX.n)
    den_sq = PX.self_unbiased * PY.self_unbiased
    if not (PX.self_unbiased > 0 and PY.self_unbiased > 0):
        raise ValueError(
            "The unbiased HSIC of a representation with itself is not positive on these "
            f"{PX.n} samples, so debiased CKA is undefined; use more samples or debiased=False."
        )
    return float(num / math.sqrt(den_sq))


# ----------------------------------------------------------------------------- one-shot functions
def cka(X, Y, *, kernel="linear", sigma="median", sigma_fraction=1.0, debiased=False, method="auto"):
    """Centered kernel alignment of two representations of the same samples.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
    kernel : {'linear', 'rbf'}, default='linear'
    sigma : 'median' or float, default='median'
        RBF bandwidth; 'median' gives σ = sigma_fraction x sqrt(median squared
        distance over pairs i < j), separately for X and Y.
    sigma_fraction : float, default=1.0
    debiased : bool, default=False
        Use the unbiased HSIC estimator of Song et al. (2012); needs n >= 4.
    method : {'auto', 'feature', 'gram'}, default='auto'
        Linear kernel: feature space (O(n d²)) or n x n Gram matrices; 'auto'
        takes the Gram route only for a representation with d >= n.

    Returns
    -------
    float
        Biased: in [0, 1], 1 iff Yᶜ = c Xᶜ Q for an orthogonal Q (linear kernel).
        Debiased: in [-1, 1], near 0 for independent representations.

    Raises
    ------
    ValueError
        Zero-variance representation, mismatched rows, RBF with n > RBF_MAX_SAMPLES.

    References
    ----------
    Kornblith et al. (2019), ICML; Song et al. (2012), JMLR 13.
    """
    _check_kernel_args(kernel, sigma, sigma_fraction, method)
    X, Y, _ = check_representation_xp(X, Y, min_samples=4 if debiased else 2)
    kw = dict(kernel=kernel, sigma=sigma, sigma_fraction=sigma_fraction, method=method, validate=False)
    return combine_cka(prepare_cka(X, name="X", **kw), prepare_cka(Y, name="Y", **kw), debiased=debiased)


def linear_cka(X, Y, *, debiased=False, method="auto"):
    """Linear CKA, ``cka(X, Y, kernel='linear', ...)``; see :func:`cka`.

    References
    ----------
    Kornblith et al. (2019), ICML.
    """
    return cka(X, Y, kernel="linear", debiased=debiased, method=method)


def rbf_cka(X, Y, *, sigma="median", sigma_fraction=1.0, debiased=False):
    """RBF CKA, ``cka(X, Y, kernel='rbf', ...)``; see :func:`cka`. Refused for n > RBF_MAX_SAMPLES.

    References
    ----------
    Kornblith et al. (2019), ICML.
    """
    return cka(X, Y, kernel="rbf", sigma=sigma, sigma_fraction=sigma_fraction, debiased=debiased)


def hsic(X, Y, *, kernel="linear", sigma="median", sigma_fraction=1.0, debiased=False):
    """Hilbert-Schmidt independence criterion of two representations.

    Biased: <HKH, HLH>_F / (n-1)² (Gretton et al. 2005). Debiased: HSIC_1 of
    Song et al. (2012), see the module docstring (n >= 4).

    Returns
    -------
    float
        Biased: >= 0. Debiased: unbiased, so it can be slightly negative.

    References
    ----------
    Gretton, Bousquet, Smola & Schölkopf (2005), ALT; Song et al. (2012), JMLR 13.
    """
    _check_kernel_args(kernel, sigma, sigma_fraction, "auto")
    X, Y, _ = check_representation_xp(X, Y, min_samples=4 if debiased else 2)
    kw = dict(kernel=kernel, sigma=sigma, sigma_fraction=sigma_fraction, validate=False)
    PX, PY = prepare_cka(X, name="X", **kw), prepare_cka(Y, name="Y", **kw)
    return float(_hsic_from_prepared(PX, PY, _cross_inner(PX, PY), debiased))


# ----------------------------------------------------------------------------- streaming
class LinearCKAAccumulator:
    """Exact streaming linear CKA (biased or debiased) over row batches.

    Accumulates, in float64, ZᵀZ, WᵀW, ZᵀW and the column sums of Z = X - s_x and
    W = Y - s_y, where the shifts s are the column means of the first batch (CKA
    is translation-invariant; the shift keeps the sums nearly centred so that
    removing the final mean loses no precision). The centred cross-products are
    then Zᵀ W - s_Z s_Wᵀ / n. The debiased estimator additionally accumulates the
    squared row norms k_i = ||z_i||², l_i = ||w_i||² through Σ k_i l_i, Σ k_i,
    Σ k_i², Zᵀk, Zᵀl, Wᵀk, Wᵀl, which give every term of Song et al.'s formula
    for the uncentred K = ZZᵀ exactly. Memory is O((d_x + d_y)²), whatever n.

    Parameters
    ----------
    debiased : bool, default=False

    Attributes
    ----------
    n_samples : int
        Rows seen so far.

    References
    ----------
    Kornblith et al. (2019), ICML; Song et al. (2012), JMLR 13.
    """

    def __init__(self, debiased=False):
        self.debiased = bool(debiased)
        self.n_samples = 0

    def update(self, X, Y):
        """Add a batch of paired rows (validated arrays or array-likes)."""
        X, Y = _paired_on_host(X, Y, min_samples=1)
        if self.n_samples == 0:
            self._shift_x = X.mean(axis=0, dtype=np.float64)
            self._shift_y = Y.mean(axis=0, dtype=np.float64)
            dx, dy = X.shape[1], Y.shape[1]
            self._zz, self._ww, self._zw = np.zeros((dx, dx)), np.zeros((dy, dy)), np.zeros((dx, dy))
            self._sz, self._sw = np.zeros(dx), np.zeros(dy)
            if self.debiased:
                self._zk, self._zl, self._wk, self._wl = np.zeros(dx), np.zeros(dx), np.zeros(dy), np.zeros(dy)
                self._kl = self._ksum = self._lsum = self._kk = self._ll = 0.0
        elif X.shape[1] != self._sz.size or Y.shape[1] != self._sw.size:
            raise ValueError(
                f"Batch widths ({X.shape[1]}, {Y.shape[1]}) differ from the first batch's "
                f"({self._sz.size}, {self._sw.size})."
            )
        Z = X.astype(np.float64, copy=False) - self._shift_x
        W = Y.astype(np.float64, copy=False) - self._shift_y
        self._zz += Z.T @ Z
        self._ww += W.T @ W
        self._zw += Z.T @ W
        self._sz += Z.sum(axis=0)
        self._sw += W.sum(axis=0)
        if self.debiased:
            k = np.einsum("ij,ij->i", Z, Z)
            l = np.einsum("ij,ij->i", W, W)  # noqa: E741
            self._zk += Z.T @ k
            self._zl += Z.T @ l
            self._wk += W.T @ k
            self._wl += W.T @ l
            self._kl += float(k @ l)
            self._kk += float(k @ k)
            self._ll += float(l @ l)
            self._ksum += float(k.sum())
            self._lsum += float(l.sum())
        self.n_samples += X.shape[0]
        return self

    def _check_ready(self):
        n = self.n_samples
        need = 4 if self.debiased else 2
        if n < need:
            raise ValueError(f"{'debiased ' if self.debiased else ''}CKA needs at least {need} rows; {n} seen so far.")
        for which, zz, s in (("X", self._zz, self._sz), ("Y", self._ww, self._sw)):
            var = np.trace(zz) - s @ s / n
            if not var > zz.shape[0] * (64 * np.finfo(np.float64).eps) ** 2 * max(np.trace(zz), 1.0):
                raise ValueError(f"{which} has zero variance over the {n} rows seen so far.")

    def value(self):
        """CKA of all rows seen so far.

        Returns
        -------
        float
            In [0, 1] (biased) or [-1, 1] (debiased); equal to the one-shot
            :func:`linear_cka` on the concatenated rows up to rounding.
        """
        self._check_ready()
        n = self.n_samples
        if not self.debiased:
            cxy = self._zw - np.outer(self._sz, self._sw) / n
            cxx = self._zz - np.outer(self._sz, self._sz) / n
            cyy = self._ww - np.outer(self._sw, self._sw) / n
            v = np.vdot(cxy, cxy) / (np.linalg.norm(cxx) * np.linalg.norm(cyy))
            return float(min(max(v, 0.0), 1.0))

        def unbiased(inner, kl, kt1, lt1, kt_lt):
            # n(n-3) HSIC_1 = tr(K̃L̃) + 1ᵀK̃1 1ᵀL̃1 / ((n-1)(n-2)) - 2 (K̃1)·(L̃1) / (n-2)
            return inner - kl + kt1 * lt1 / ((n - 1) * (n - 2)) - 2.0 * kt_lt / (n - 2)

        sz, sw = self._sz, self._sw
        # 1ᵀK̃1 = |s_Z|² - Σk ; (K̃1)·(L̃1) = (Z s_Z - k)·(W s_W - l)
        #                                  = s_Zᵀ ZᵀW s_W - s_Zᵀ Zᵀl - s_Wᵀ Wᵀk + Σ k l
        kt1 = sz @ sz - self._ksum
        lt1 = sw @ sw - self._lsum
        kt_lt = sz @ self._zw @ sw - sz @ self._zl - sw @ self._wk + self._kl
        kt_kt = sz @ self._zz @ sz - 2.0 * (sz @ self._zk) + self._kk
        lt_lt = sw @ self._ww @ sw - 2.0 * (sw @ self._wl) + self._ll
        h_xy = unbiased(np.vdot(self._zw, self._zw), self._kl, kt1, lt1, kt_lt)
        h_xx = unbiased(np.vdot(self._zz, self._zz), self._kk, kt1, kt1, kt_kt)
        h_yy = unbiased(np.vdot(self._ww, self._ww), self._ll, lt1, lt1, lt_lt)
        if not (h_xx > 0 and h_yy > 0):
            raise ValueError(
                f"The unbiased HSIC of a representation with itself is not positive over the {n} rows "
                "seen so far, so debiased CKA is undefined."
            )
        return float(h_xy / math.sqrt(h_xx * h_yy))


class MinibatchCKAAccumulator:
    """Minibatch CKA: HSIC averaged over minibatches, then normalised.

    .. math::

        \\mathrm{CKA}_{mb} = \\frac{\\tfrac1k \\sum_i \\mathrm{HSIC}(K_i, L_i)}
            {\\sqrt{\\tfrac1k \\sum_i \\mathrm{HSIC}(K_i, K_i) \\; \\tfrac1k \\sum_i \\mathrm{HSIC}(L_i, L_i)}}

    over minibatches i = 1..k, each batch weighted equally (Nguyen et al. 2021).
    With ``debiased=True`` (their choice) each HSIC is unbiased, so the estimate
    does not depend on the batch size; the biased HSIC makes it do so. With
    ``kernel='rbf'`` and ``sigma='median'``, σ is set from the first batch
    (separately for X and Y) and then held fixed, so that every batch estimates
    the HSIC of the same kernel.

    Parameters
    ----------
    kernel : {'linear', 'rbf'}, default='linear'
    sigma : 'median' or float, default='median'
    sigma_fraction : float, default=1.0
    debiased : bool, default=True

    Attributes
    ----------
    n_batches : int
    n_samples : int
    sigma_x, sigma_y : float or None
        RBF bandwidths in use.

    References
    ----------
    Nguyen, Raghu & Kornblith (2021). Do wide and deep networks learn the same
    things? ICLR. Song et al. (2012), JMLR 13.
    """

    def __init__(self, kernel="linear", sigma="median", sigma_fraction=1.0, debiased=True):
        _check_kernel_args(kernel, sigma, sigma_fraction, "auto")
        self.kernel, self.sigma, self.sigma_fraction, self.debiased = kernel, sigma, sigma_fraction, bool(debiased)
        self.n_batches = 0
        self.n_samples = 0
        self.sigma_x = self.sigma_y = None if isinstance(sigma, str) else float(sigma)
        self._sums = np.zeros(3)  # xy, xx, yy

    def update(self, X, Y):
        """Add one minibatch (n_batch >= 4 when debiased)."""
        X, Y = _paired_on_host(X, Y, min_samples=4 if self.debiased else 2, names=("X_batch", "Y_batch"))
        kw = dict(kernel=self.kernel, sigma_fraction=self.sigma_fraction, validate=False)
        sx = self.sigma if self.sigma_x is None else self.sigma_x
        sy = self.sigma if self.sigma_y is None else self.sigma_y
        PX = prepare_cka(X, sigma=sx, name="X_batch", **kw)
        PY = prepare_cka(Y, sigma=sy, name="Y_batch", **kw)
        if self.kernel == "rbf":
            self.sigma_x, self.sigma_y = PX.sigma, PY.sigma
        d = self.debiased
        self._sums += (
            _hsic_from_prepared(PX, PY, _cross_inner(PX, PY), d),
            _hsic_from_prepared(PX, PX, PX.self_inner, d),
            _hsic_from_prepared(PY, PY, PY.self_inner, d),
        )
        self.n_batches += 1
        self.n_samples += X.shape[0]
        return self

    def value(self):
        """Minibatch CKA over the batches seen so far (range as for :func:`cka`)."""
        if self.n_batches == 0:
            raise ValueError("No minibatch has been added yet.")
        xy, xx, yy = self._sums
        if not (xx > 0 and yy > 0):
            raise ValueError(
                "The averaged HSIC of a representation with itself is not positive, so minibatch CKA is "
                "undefined; use larger batches."
            )
        v = xy / math.sqrt(xx * yy)
        return float(v if self.debiased else min(max(v, 0.0), 1.0))


def minibatch_cka(
    X, Y, *, kernel="linear", sigma="median", sigma_fraction=1.0, debiased=True, batch_size=256,
    shuffle=True, random_state=None,
):
    """Minibatch CKA (Nguyen et al. 2021) of two representations of the same samples.

    The rows are shuffled (``shuffle=True``) and split into ``n // batch_size``
    batches of nearly equal size (each at least ``batch_size``); see
    :class:`MinibatchCKAAccumulator` for the estimator. Cost O(n · batch_size · d)
    and O(batch_size²) memory, so it scales to any n, RBF included.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
    kernel : {'linear', 'rbf'}, default='linear'
    sigma : 'median' or float, default='median'
        With 'median', σ comes from the first (random) batch and is then fixed.
    sigma_fraction : float, default=1.0
    debiased : bool, default=True
    batch_size : int, default=256
        At least 4 when debiased (2 otherwise).
    shuffle : bool, default=True
    random_state : int, RandomState instance or None

    Returns
    -------
    float
        In [-1, 1] (debiased) or [0, 1] (biased).

    References
    ----------
    Nguyen, Raghu & Kornblith (2021). Do wide and deep networks learn the same
    things? ICLR.
    """
    _check_kernel_args(kernel, sigma, sigma_fraction, "auto")
    min_b = 4 if debiased else 2
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < min_b:
        raise ValueError(f"batch_size must be an integer >= {min_b}; got {batch_size!r}.")
    if batch_size > RBF_MAX_SAMPLES and kernel == "rbf":
        raise ValueError(f"batch_size must be <= RBF_MAX_SAMPLES = {RBF_MAX_SAMPLES} for the RBF kernel.")
    X, Y = _paired_on_host(X, Y, min_samples=batch_size)
    n = X.shape[0]
    order = check_random_state(random_state).permutation(n) if shuffle else np.arange(n)
    acc = MinibatchCKAAccumulator(kernel=kernel, sigma=sigma, sigma_fraction=sigma_fraction, debiased=debiased)
    for idx in np.array_split(order, n // batch_size):
        if shuffle:
            acc.update(X[idx], Y[idx])
        else:
            acc.update(X[idx[0]:idx[-1] + 1], Y[idx[0]:idx[-1] + 1])
    return acc.value()
