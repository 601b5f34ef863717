"""CKA over data that arrive in batches: exact streaming linear CKA and minibatch CKA.

Streaming linear CKA (:class:`LinearCKAAccumulator`) is exact: the cross-products
it accumulates give every term of the one-shot :func:`skalign.metrics.linear_cka`
of all rows seen, biased or debiased, in O((d_x + d_y)²) memory whatever n.

Minibatch CKA (:class:`MinibatchCKAAccumulator`, :func:`minibatch_cka`) averages
HSIC over minibatches i = 1..k, each weighted equally, and then normalises
(Nguyen et al. 2021):

.. math::

    \\mathrm{CKA}_{mb} = \\frac{\\tfrac1k \\sum_i \\mathrm{HSIC}(K_i, L_i)}
        {\\sqrt{\\tfrac1k \\sum_i \\mathrm{HSIC}(K_i, K_i) \\; \\tfrac1k \\sum_i \\mathrm{HSIC}(L_i, L_i)}}.

With ``debiased=True`` (their choice) each HSIC is the unbiased HSIC₁ of Song et
al. (2012), so the estimate does not depend on the batch size; the biased HSIC
makes it do so. The per-batch HSICs are those of :mod:`skalign.kernels`, RBF
included (the direct unbiased estimator on the uncentred kernel).

Scale. Like one-shot CKA, both are free of the scale of each representation:
batches are multiplied by powers of two before any product (exact, so no bit of
an ordinary result changes), and the running sums are kept with a power-of-two
exponent that follows the largest batch seen, so no sum overflows or underflows
for data between about 1e-150 and 1e150 (batches of very different magnitude
included, as long as they are within about 1e150 of each other).

Array API input is validated on its device and copied to the host: the
accumulators are NumPy code.

References
----------
Nguyen, Raghu & Kornblith (2021). Do wide and deep networks learn the same
things? ICLR.
Song, Smola, Gretton, Bedo & Borgwardt (2012). Feature selection via dependence
maximization. JMLR 13.
Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
representations revisited. ICML.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils._param_validation import validate_parameter_constraints, validate_params

from ._array_api import pow2_exponent
from ._hsic import (
    BATCH_CONSTRAINTS,
    CKA_PARAMETER_CONSTRAINTS,
    RBF_MAX_SAMPLES,
    check_rbf_size,
    hsic_from_prepared,
    hsic_units,
    prepare_kernel,
    scale_fresh,
    unbiased_hsic_sum,
)
from ._validation import (
    check_column_ranges, check_int, check_paired_on_host, check_random_state, pair_warnings_off,
)

__all__ = [
    "LinearCKAAccumulator",
    "MinibatchCKAAccumulator",
    "minibatch_cka",
]


class LinearCKAAccumulator:
    """Exact streaming linear CKA (biased or debiased) over row batches.

    Accumulates, in float64, ZᵀZ, WᵀW, ZᵀW and the column sums of Z = X - s_x and
    W = Y - s_y, where the shifts s are the first row plus the mean offset of the
    first batch from it (CKA is translation-invariant; the shift keeps the sums
    nearly centred so that removing the final mean loses no precision, and a
    constant column exactly at 0). Z and W are kept in power-of-two units that
    follow the largest offset seen. The centred cross-products are
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
    """

    # accumulated statistic -> its degree in Z and in W (how it scales with each)
    _DEGREES = {
        "_zz": (2, 0), "_ww": (0, 2), "_zw": (1, 1), "_sz": (1, 0), "_sw": (0, 1),
        "_lo_x": (1, 0), "_hi_x": (1, 0), "_lo_y": (0, 1), "_hi_y": (0, 1),
        "_zk": (3, 0), "_zl": (1, 2), "_wk": (2, 1), "_wl": (0, 3),
        "_kl": (2, 2), "_kk": (4, 0), "_ll": (0, 4), "_ksum": (2, 0), "_lsum": (0, 2),
    }

    def __init__(self, debiased=False):
        validate_parameter_constraints({"debiased": ["boolean"]}, {"debiased": debiased}, type(self).__name__)
        self.debiased = bool(debiased)
        self.n_samples = 0

    def update(self, X, Y, *, validate=True):
        """Add a batch of paired rows.

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features_x)
        Y : array-like of shape (n_batch, n_features_y)
        validate : bool, default=True
            Validate the batch (turn off only for NumPy arrays already validated).

        Returns
        -------
        self
        """
        if validate:
            with pair_warnings_off():  # batches are small by design
                X, Y = check_paired_on_host(X, Y, min_samples=1)
        X, Y = X.astype(np.float64, copy=False), Y.astype(np.float64, copy=False)
        if self.n_samples == 0:
            dx, dy = X.shape[1], Y.shape[1]
            self._shift_x, self._shift_y = _first_shift(X), _first_shift(Y)
            self._ex = self._ey = None  # no variation seen yet: any units will do
            self._zz, self._ww, self._zw = np.zeros((dx, dx)), np.zeros((dy, dy)), np.zeros((dx, dy))
            self._sz, self._sw = np.zeros(dx), np.zeros(dy)
            self._lo_x, self._hi_x = np.zeros(dx), np.zeros(dx)
            self._lo_y, self._hi_y = np.zeros(dy), np.zeros(dy)
            if self.debiased:
                self._zk, self._zl, self._wk, self._wl = np.zeros(dx), np.zeros(dx), np.zeros(dy), np.zeros(dy)
                self._kl = self._ksum = self._lsum = self._kk = self._ll = 0.0
        elif X.shape[1] != self._sz.size or Y.shape[1] != self._sw.size:
            raise ValueError(
                f"Batch widths ({X.shape[1]}, {Y.shape[1]}) differ from the first batch's "
                f"({self._sz.size}, {self._sw.size})."
            )
        (Dx, px), (Dy, py) = _offsets(X, self._shift_x), _offsets(Y, self._shift_y)
        ex, ey = _batch_exponent(Dx, px, self._ex), _batch_exponent(Dy, py, self._ey)
        self._rescale(ex, ey)
        Z = scale_fresh(Dx, (self._ex or 0) - px, np)
        W = scale_fresh(Dy, (self._ey or 0) - py, np)
        np.minimum(self._lo_x, Z.min(axis=0), out=self._lo_x)
        np.maximum(self._hi_x, Z.max(axis=0), out=self._hi_x)
        np.minimum(self._lo_y, W.min(axis=0), out=self._lo_y)
        np.maximum(self._hi_y, W.max(axis=0), out=self._hi_y)
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

    def _rescale(self, ex, ey):
        """Move every statistic to the units 2**ex, 2**ey (exact: powers of two)."""
        dx = 0 if self._ex is None or ex is None else self._ex - ex
        dy = 0 if self._ey is None or ey is None else self._ey - ey
        self._ex, self._ey = ex, ey
        if not (dx or dy):
            return
        for attr, (px, py) in self._DEGREES.items():
            if attr in self.__dict__:
                value = np.ldexp(getattr(self, attr), px * dx + py * dy)
                setattr(self, attr, float(value) if np.ndim(value) == 0 else value)

    def _check_ready(self):
        n = self.n_samples
        need = 4 if self.debiased else 2
        if n < need:
            raise ValueError(f"{'debiased ' if self.debiased else ''}CKA needs at least {need} rows; {n} seen so far.")
        check_column_ranges(self._hi_x, self._lo_x, "X", n)
        check_column_ranges(self._hi_y, self._lo_y, "Y", n)

    def value(self):
        """CKA of all rows seen so far.

        Returns
        -------
        float
            In [0, 1] (biased) or [-1, 1] (debiased); equal to the one-shot
            :func:`~skalign.metrics.linear_cka` on the concatenated rows up to rounding.
        """
        self._check_ready()
        n = self.n_samples
        if not self.debiased:
            cxy = self._zw - np.outer(self._sz, self._sw) / n
            cxx = self._zz - np.outer(self._sz, self._sz) / n
            cyy = self._ww - np.outer(self._sw, self._sw) / n
            den = np.linalg.norm(cxx) * np.linalg.norm(cyy)
            if not den > 0:
                raise ValueError(
                    f"X or Y varies too little over the {n} rows seen so far for its centred "
                    "cross-products to be resolved in float64; CKA is undefined."
                )
            v = np.vdot(cxy, cxy) / den
            return float(min(max(v, 0.0), 1.0))

        sz, sw = self._sz, self._sw
        # n(n-3) HSIC_1 from the uncentred K = ZZᵀ: tr(K̃L̃) = <ZᵀZ-ish> - Σ k l,
        # 1ᵀK̃1 = |s_Z|² - Σk ; (K̃1)·(L̃1) = (Z s_Z - k)·(W s_W - l)
        #                                  = s_Zᵀ ZᵀW s_W - s_Zᵀ Zᵀl - s_Wᵀ Wᵀk + Σ k l
        kt1 = sz @ sz - self._ksum
        lt1 = sw @ sw - self._lsum
        kt_lt = sz @ self._zw @ sw - sz @ self._zl - sw @ self._wk + self._kl
        kt_kt = sz @ self._zz @ sz - 2.0 * (sz @ self._zk) + self._kk
        lt_lt = sw @ self._ww @ sw - 2.0 * (sw @ self._wl) + self._ll
        h_xy = unbiased_hsic_sum(np.vdot(self._zw, self._zw) - self._kl, kt1, lt1, kt_lt, n)
        h_xx = unbiased_hsic_sum(np.vdot(self._zz, self._zz) - self._kk, kt1, kt1, kt_kt, n)
        h_yy = unbiased_hsic_sum(np.vdot(self._ww, self._ww) - self._ll, lt1, lt1, lt_lt, n)
        if not (h_xx > 0 and h_yy > 0):
            raise ValueError(
                f"The unbiased HSIC of {'X' if not h_xx > 0 else 'Y'} with itself is not positive over the "
                f"{n} rows seen so far, so debiased CKA is undefined."
            )
        return float(min(max(h_xy / math.sqrt(h_xx * h_yy), -1.0), 1.0))


def _offsets(X, shift):
    """X - shift as (D, p) with D 2**p = X - shift; p = 1 where the difference would overflow."""
    with np.errstate(over="ignore", invalid="ignore"):
        D = X - shift
    if np.isfinite(D).all():
        return D, 0
    return X * 0.5 - shift * 0.5, 1


def _first_shift(X):
    """The first row plus the mean offset from it: a column constant so far is shifted to exactly 0."""
    D, p = _offsets(X, X[0])
    return X[0] + np.ldexp(D.mean(axis=0), p)


def _batch_exponent(D, p, current):
    """Units for the statistics after a batch of offsets D 2**p: the larger of the current
    ones and the batch's own (the binary exponent of its largest offset)."""
    e = pow2_exponent(D, np)
    if not e and not D.any():  # no variation yet
        return current
    e += p
    return e if current is None else max(e, current)


def _self_hsic(P, debiased):
    # the prepared self terms: n(n-3) HSIC_1 and <HKH, HKH>
    if debiased:
        return P.self_unbiased / (P.n * (P.n - 3))
    return P.self_inner / (P.n - 1) ** 2


class _ScaledSum:
    """A running sum of floats given as (mantissa, power-of-two exponent), kept in the largest units seen."""

    def __init__(self):
        self.value, self.exponent = 0.0, None

    def add(self, value, exponent):
        if self.exponent is None:
            self.value, self.exponent = float(value), exponent
        elif exponent > self.exponent:
            self.value = math.ldexp(self.value, self.exponent - exponent) + float(value)
            self.exponent = exponent
        else:
            self.value += math.ldexp(float(value), exponent - self.exponent)


class MinibatchCKAAccumulator:
    """Minibatch CKA: HSIC averaged over minibatches, then normalised (see the module docstring).

    With ``kernel='rbf'`` and ``sigma='median'``, σ is set from the first batch
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
    """

    def __init__(self, kernel="linear", sigma="median", sigma_fraction=1.0, debiased=True):
        params = dict(kernel=kernel, sigma=sigma, sigma_fraction=sigma_fraction, debiased=debiased)
        validate_parameter_constraints(CKA_PARAMETER_CONSTRAINTS, params, type(self).__name__)
        self.kernel, self.sigma, self.sigma_fraction, self.debiased = kernel, sigma, sigma_fraction, bool(debiased)
        self.n_batches = 0
        self.n_samples = 0
        self.sigma_x = self.sigma_y = None if isinstance(sigma, str) else float(sigma)
        self._sums = (_ScaledSum(), _ScaledSum(), _ScaledSum())  # xy, xx, yy

    def update(self, X, Y, *, validate=True):
        """Add one minibatch (n_batch >= 4 when debiased).

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features_x)
        Y : array-like of shape (n_batch, n_features_y)
        validate : bool, default=True
            Validate the batch (turn off only for NumPy arrays already validated).

        Returns
        -------
        self
        """
        need = 4 if self.debiased else 2
        if validate:
            with pair_warnings_off():  # batches are small by design
                X, Y = check_paired_on_host(X, Y, min_samples=need, names=("X_batch", "Y_batch"))
        elif X.shape[0] < need:
            raise ValueError(
                f"X_batch has {X.shape[0]} sample(s) but at least {need} are needed; got shape {X.shape}."
            )
        if self.kernel == "rbf":
            check_rbf_size(X.shape[0], "X_batch")
        # a batch is small: float64 throughout, so that float32 input gets the float64 number
        X, Y = X.astype(np.float64, copy=False), Y.astype(np.float64, copy=False)
        kw = dict(kernel=self.kernel, sigma_fraction=self.sigma_fraction, debiased=self.debiased, method="auto")
        sx = self.sigma if self.sigma_x is None else self.sigma_x
        sy = self.sigma if self.sigma_y is None else self.sigma_y
        PX = prepare_kernel(X, sigma=sx, name="X_batch", **kw)
        PY = prepare_kernel(Y, sigma=sy, name="Y_batch", **kw)
        if self.kernel == "rbf":
            self.sigma_x, self.sigma_y = PX.sigma, PY.sigma
        d = self.debiased
        ux, uy = hsic_units(PX), hsic_units(PY)
        self._sums[0].add(hsic_from_prepared(PX, PY, d), ux + uy)
        self._sums[1].add(_self_hsic(PX, d), 2 * ux)
        self._sums[2].add(_self_hsic(PY, d), 2 * uy)
        self.n_batches += 1
        self.n_samples += X.shape[0]
        return self

    def value(self):
        """Minibatch CKA over the batches seen so far (range as for :func:`~skalign.metrics.cka`)."""
        if self.n_batches == 0:
            raise ValueError("No minibatch has been added yet.")
        xy, xx, yy = self._sums
        for s, name in ((xx, "X"), (yy, "Y")):
            if not s.value > 0:
                raise ValueError(
                    f"The averaged HSIC of {name} with itself is not positive, so minibatch CKA is "
                    "undefined; use larger batches."
                )
        # the exponents of xx and yy are multiples of 4 (or 0), so their mean is an integer
        v = math.ldexp(xy.value / math.sqrt(xx.value * yy.value), xy.exponent - (xx.exponent + yy.exponent) // 2)
        return float(max(min(v, 1.0), -1.0 if self.debiased else 0.0))


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"], **CKA_PARAMETER_CONSTRAINTS, **BATCH_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def minibatch_cka(
    X, Y, *, kernel="linear", sigma="median", sigma_fraction=1.0, debiased=True, batch_size=256,
    shuffle=True, random_state=None,
):
    """Minibatch CKA (Nguyen et al. 2021) of two representations of the same samples.

    The rows are shuffled (``shuffle=True``) and split into ``n // batch_size``
    batches of nearly equal size (each at least ``batch_size``); see
    :class:`MinibatchCKAAccumulator` and the module docstring for the estimator.
    Cost O(n · batch_size · d) and O(batch_size²) memory, so it scales to any n,
    RBF included.

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
    """
    check_int(batch_size, "batch_size", low=4 if debiased else 2)
    if kernel == "rbf":
        check_int(batch_size, "batch_size", high=RBF_MAX_SAMPLES)
    X, Y = check_paired_on_host(X, Y, min_samples=batch_size)
    n = X.shape[0]
    order = check_random_state(random_state).permutation(n) if shuffle else np.arange(n)
    acc = MinibatchCKAAccumulator(kernel=kernel, sigma=sigma, sigma_fraction=sigma_fraction, debiased=debiased)
    for idx in np.array_split(order, n // batch_size):
        if shuffle:
            acc.update(X[idx], Y[idx], validate=False)
        else:
            acc.update(X[idx[0]:idx[-1] + 1], Y[idx[0]:idx[-1] + 1], validate=False)
    return acc.value()
