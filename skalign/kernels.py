"""Centered kernel alignment (CKA) and HSIC, linear and RBF, biased and debiased.

For two representations X (n, d_x) and Y (n, d_y) of the same samples with Gram
matrices K and L, and the centring matrix H = I - 11ᵀ/n,

.. math::

    \\mathrm{CKA}(K, L) = \\frac{\\langle HKH, HLH \\rangle_F}
                              {\\lVert HKH \\rVert_F \\, \\lVert HLH \\rVert_F},
    \\qquad
    \\mathrm{HSIC}_0(K, L) = \\frac{\\langle HKH, HLH \\rangle_F}{(n-1)^2}

(HSIC₀ is the biased estimator of Gretton et al. 2005).

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
median heuristic. Their reference code (and ckatorch) takes the median over all
n² entries, diagonal zeros included: ``sigma='median_all'`` reproduces it (σ
0.46% smaller at n = 50, 0.10% at n = 300). Each
representation gets its own σ. The Gram matrix is built in row blocks and needs
about 8 n² bytes per representation (plus 4 n² transient for the median), so
n is refused above :data:`RBF_MAX_SAMPLES`; use
:func:`skalign.streaming.minibatch_cka` beyond.

Debiased. ``debiased=True`` replaces both HSICs by the unbiased estimator of
Song et al. (2012),

.. math::

    \\mathrm{HSIC}_1(K, L) = \\frac{1}{n(n-3)} \\Big[ \\operatorname{tr}(\\tilde K \\tilde L)
        + \\frac{1^\\top \\tilde K 1 \\; 1^\\top \\tilde L 1}{(n-1)(n-2)}
        - \\frac{2}{n-2} 1^\\top \\tilde K \\tilde L 1 \\Big],

K̃, L̃ being K, L with zeroed diagonals (n >= 4), as in Kornblith et al.'s
debiased CKA. For the linear kernel it is computed from the centred Gram matrix
(or in feature space), which the estimator cannot tell from K. For the RBF
kernel it is computed directly: the diagonal of the *uncentred* kernel is set
to zero first, since centring spreads the unit diagonal over every entry and a
narrow kernel's O(n) terms then cancel to nothing. An RBF representation is
therefore prepared for one estimator (``prepare_cka(..., debiased=...)``).

Scale. Each representation is centred and multiplied by a power of two that
brings its largest absolute centred value into [0.5, 1) before any product, so
CKA is the same number for data at 1e-150 as at 1 or 1e150 (and in float32
across its range); a power of two rescales every operation exactly, so at
ordinary magnitudes this changes no bit of the result. Centring subtracts the
first row and then the mean, so that a constant column becomes exactly zero.

Precision: float32 input keeps its products in float32 (half the memory and
time of float64, relative error ~1e-6); every reduction to a scalar, the Gram
route and the RBF kernel use float64.

Array API (GPU). With ``sklearn.set_config(array_api_dispatch=True)``, linear
CKA (biased and debiased, both routes) and HSIC of CuPy, PyTorch or other Array
API arrays are computed with that library's operations on the input's device;
reductions use float64 where the device has it. Only the final scalars come
back to the host. The RBF kernel is NumPy code: Array API input is validated
on its device and then copied to the host for it.

Ranges: biased CKA lies in [0, 1]. Debiased CKA lies in [-1, 1] (it is a cosine
between two "unbiasedly centred" Gram matrices); it is near 0 for independent
representations and goes slightly negative by estimation noise.

References
----------
Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
representations revisited. ICML.
Song, Smola, Gretton, Bedo & Borgwardt (2012). Feature selection via dependence
maximization. JMLR 13.
Gretton, Bousquet, Smola & Schölkopf (2005). Measuring statistical dependence
with Hilbert-Schmidt norms. ALT.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils._param_validation import validate_params

from ._hsic import (
    CKA_PARAMETER_CONSTRAINTS,
    METHOD_CONSTRAINTS,
    RBF_MAX_SAMPLES,
    PreparedKernel,
    check_rbf_size,
    cross_inner,
    hsic_from_prepared,
    hsic_units,
    prepare_kernel,
    unbiased_hsic_sum,
    unbiased_numerator,
    with_unbiased_terms,
)
from ._dask import dask_linear_statistics, is_dask_array
from ._validation import check_representation_xp, check_same_samples

__all__ = [
    "RBF_MAX_SAMPLES",
    "PreparedKernel",
    "prepare_cka",
    "combine_cka",
    "cka",
    "linear_cka",
    "rbf_cka",
    "hsic",
]


def _check_rbf_size(n, kernel, name):
    # the limit is read here, at the public entry, so that this module's attribute is the one in force
    if kernel == "rbf":
        check_rbf_size(n, name, RBF_MAX_SAMPLES)


def _prepare_pair(X, Y, kernel, sigma, sigma_fraction, debiased, method):
    X, Y, _ = check_representation_xp(X, Y, min_samples=4 if debiased else 2)
    for A, name in ((X, "X"), (Y, "Y")):
        _check_rbf_size(A.shape[0], kernel, name)
    kw = dict(kernel=kernel, sigma=sigma, sigma_fraction=sigma_fraction, debiased=debiased, method=method)
    return prepare_kernel(X, name="X", **kw), prepare_kernel(Y, name="Y", **kw)


# ----------------------------------------------------------------------------- prepare / combine
@validate_params(
    {
        "X": ["array-like"],
        **CKA_PARAMETER_CONSTRAINTS,
        **METHOD_CONSTRAINTS,
        "name": [str],
        "validate": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def prepare_cka(
    X, *, kernel="linear", sigma="median", sigma_fraction=1.0, debiased=False, method="auto", name="X",
    validate=True,
):
    """Per-representation work of CKA: validation, scaling, centring, Gram or feature statistics.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    kernel : {'linear', 'rbf'}
    sigma : {'median', 'median_all'} or float
        RBF bandwidth, or the median heuristic over the pairs i < j or over all n²
        entries (see the module docstring).
    sigma_fraction : float
        σ = sigma_fraction x sqrt(median squared pairwise distance) when ``sigma='median'``.
    debiased : bool
        The estimator the result will be combined with. It requires n >= 4, and
        for the RBF kernel selects the Gram matrix kept (double-centred, or
        U-centred for the direct unbiased estimator of Song et al. 2012).
    method : {'auto', 'feature', 'gram'}
        Linear kernel only: 'auto' uses the Gram route iff n_features >= n_samples.
    name : str
        Argument name for error messages.
    validate : bool
        Run :func:`~skalign._validation.check_representation_xp` (turn off only
        for arrays already validated). The zero-variance check always runs.

    Returns
    -------
    PreparedKernel
        For float64 NumPy data whose column means are small next to their spread,
        ``features`` is ``X`` itself (no n x d copy): do not modify ``X`` in place
        while the prepared object is in use, or combine it after doing so.
    """
    if validate:
        X, _ = check_representation_xp(X, name=name, min_samples=4 if debiased else 2)
    _check_rbf_size(X.shape[0], kernel, name)
    return prepare_kernel(
        X, kernel=kernel, sigma=sigma, sigma_fraction=sigma_fraction, debiased=debiased, method=method, name=name,
    )


def _combine(PX, PY, debiased):
    if PX is PY:
        return 1.0
    if not debiased:
        value = cross_inner(PX, PY) / math.sqrt(PX.self_inner * PY.self_inner)
        return float(min(max(value, 0.0), 1.0))
    value = unbiased_numerator(PX, PY) / math.sqrt(PX.self_unbiased * PY.self_unbiased)
    # a cosine: |value| <= 1 up to rounding
    return float(min(max(value, -1.0), 1.0))


@validate_params(
    {"PX": [PreparedKernel], "PY": [PreparedKernel], "debiased": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def combine_cka(PX, PY, *, debiased=False):
    """CKA of two prepared representations of the same samples.

    The cross term is the only work left: one (d_x x n)(n x d_y) product on the
    feature route, one n² inner product on the Gram route.

    Parameters
    ----------
    PX, PY : PreparedKernel
        Results of :func:`prepare_cka` on the same samples (RBF kernels prepared
        with the same ``debiased``).
    debiased : bool, default=False

    Returns
    -------
    float
        In [0, 1] (biased) or [-1, 1] (debiased).
    """
    if debiased:
        # a linear representation prepared for biased CKA gets its row norms now
        PX, PY = with_unbiased_terms(PX), with_unbiased_terms(PY)
    _check_combinable(PX, PY, debiased)
    return _combine(PX, PY, debiased)


def _check_combinable(PX, PY, debiased, names=("PX", "PY")):
    check_same_samples(PX.n, PY.n, names=names)
    for P, name in zip((PX, PY), names):
        if P.debiased is not None and P.debiased != debiased:
            raise ValueError(
                f"{name} holds an RBF kernel prepared with debiased={P.debiased}; prepare it with "
                f"prepare_cka(..., debiased={debiased}) to combine it with debiased={debiased}."
            )
        if not debiased and P.self_inner is None:
            raise ValueError(f"{name} was prepared for debiased CKA only; prepare it with debiased=False.")
    if debiased:
        if PX.self_unbiased is None or PY.self_unbiased is None:
            raise ValueError(f"debiased CKA needs at least 4 samples; got {PX.n}.")
        if (PX.debiased is None) != (PY.debiased is None):
            raise ValueError(
                "PX and PY hold different kernels; debiased CKA combines two linear or two RBF kernels."
            )
        for P, name in zip((PX, PY), names):
            if not P.self_unbiased > 0:
                raise ValueError(
                    f"The unbiased HSIC of {name} with itself is not positive on these {P.n} samples, "
                    "so debiased CKA is undefined; use more samples or debiased=False."
                )


def _dask_cka(X, Y, kernel, debiased):
    if kernel != "linear":
        raise ValueError(
            f"kernel={kernel!r} needs the n x n Gram matrix; Dask arrays are supported for kernel='linear' "
            "only (or compute X and Y first)."
        )
    import dask.array as da

    X, Y = (A if is_dask_array(A) else da.from_array(np.asarray(A)) for A in (X, Y))
    # one read of each array: per-chunk moments merged in a tree (see skalign._dask)
    st = dask_linear_statistics(X, Y, min_samples=4 if debiased else 2, passes=1)
    if not debiased:
        return float(min(max(st["xy"] / math.sqrt(st["xx"] * st["yy"]), 0.0), 1.0))
    n = st["n"]
    num = unbiased_hsic_sum(st["xy"] - st["dxy"], -st["tx"], -st["ty"], st["dxy"], n)
    self_x = unbiased_hsic_sum(st["xx"] - st["dxx"], -st["tx"], -st["tx"], st["dxx"], n)
    self_y = unbiased_hsic_sum(st["yy"] - st["dyy"], -st["ty"], -st["ty"], st["dyy"], n)
    for value, name in ((self_x, "X"), (self_y, "Y")):
        if not value > 0:
            raise ValueError(
                f"The unbiased HSIC of {name} with itself is not positive on these {n} samples, "
                "so debiased CKA is undefined; use more samples or debiased=False."
            )
    return float(min(max(num / math.sqrt(self_x * self_y), -1.0), 1.0))


# ----------------------------------------------------------------------------- one-shot functions
@validate_params(
    {"X": ["array-like"], "Y": ["array-like"], **CKA_PARAMETER_CONSTRAINTS, **METHOD_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def cka(X, Y, *, kernel="linear", sigma="median", sigma_fraction=1.0, debiased=False, method="auto"):
    """Centered kernel alignment of two representations of the same samples.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
    kernel : {'linear', 'rbf'}, default='linear'
    sigma : {'median', 'median_all'} or float, default='median'
        RBF bandwidth ('median_all': the median over all n² entries, as Kornblith
        et al.'s code); 'median' gives σ = sigma_fraction x sqrt(median squared
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

    Notes
    -----
    Kornblith et al. (2019); the debiased form after Song et al. (2012).

    ``dask.array`` input (linear kernel): the d x d statistics are summed over
    row chunks by Dask, on the active scheduler, without materialising either
    array (see :mod:`skalign._dask`); ``method`` is then irrelevant.
    """
    if is_dask_array(X) or is_dask_array(Y):
        return _dask_cka(X, Y, kernel, debiased)
    PX, PY = _prepare_pair(X, Y, kernel, sigma, sigma_fraction, debiased, method)
    _check_combinable(PX, PY, debiased, names=("X", "Y"))
    return _combine(PX, PY, debiased)


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"], "debiased": ["boolean"], **METHOD_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def linear_cka(X, Y, *, debiased=False, method="auto"):
    """Linear CKA, ``cka(X, Y, kernel='linear', ...)``; see :func:`cka`."""
    return cka(X, Y, kernel="linear", debiased=debiased, method=method)


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"], **{k: v for k, v in CKA_PARAMETER_CONSTRAINTS.items() if k != "kernel"}},
    prefer_skip_nested_validation=True,
)
def rbf_cka(X, Y, *, sigma="median", sigma_fraction=1.0, debiased=False):
    """RBF CKA, ``cka(X, Y, kernel='rbf', ...)``; see :func:`cka`. Refused for n > RBF_MAX_SAMPLES."""
    return cka(X, Y, kernel="rbf", sigma=sigma, sigma_fraction=sigma_fraction, debiased=debiased)


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"], **CKA_PARAMETER_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def hsic(X, Y, *, kernel="linear", sigma="median", sigma_fraction=1.0, debiased=False):
    """Hilbert-Schmidt independence criterion of two representations.

    Biased: HSIC₀ = <HKH, HLH>_F / (n-1)² (Gretton et al. 2005). Debiased: HSIC₁
    of Song et al. (2012), see the module docstring (n >= 4).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
    Y : array-like of shape (n_samples, n_features_y)
    kernel : {'linear', 'rbf'}, default='linear'
    sigma : 'median' or float, default='median'
    sigma_fraction : float, default=1.0
    debiased : bool, default=False

    Returns
    -------
    float
        Biased: >= 0. Debiased: unbiased, so it can be slightly negative. In the
        data's units (the linear kernel's HSIC scales with the fourth power of
        the data).

    Raises
    ------
    ValueError
        As :func:`cka`; also when the value is outside the range of float64 (the
        linear kernel's HSIC of data near 1e77 or 1e-77).
    """
    PX, PY = _prepare_pair(X, Y, kernel, sigma, sigma_fraction, debiased, "auto")
    value = hsic_from_prepared(PX, PY, debiased)
    exponent = hsic_units(PX) + hsic_units(PY)
    try:
        result = math.ldexp(value, exponent)
    except OverflowError:
        result = math.inf
    if value != 0 and not 2.2250738585072014e-308 <= abs(result) < math.inf:
        raise ValueError(
            f"The HSIC of X and Y (about 2**{exponent + math.frexp(value)[1]}) is outside the range of "
            "float64; rescale X or Y, or use cka, which is free of scale."
        )
    return float(result)
