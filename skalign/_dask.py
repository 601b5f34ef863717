"""Dask arrays: the d x d statistics of linear CKA, the shape metrics and ridge as sums over row chunks.

Linear CKA needs, of each representation, only the centred products
XᶜᵀXᶜ, YᶜᵀYᶜ, XᶜᵀYᶜ and, for the debiased estimator, the traces and the sum of
products of the centred squared row norms, Σᵢ ‖xᵢᶜ‖² ‖yᵢᶜ‖². Each is a sum over
rows, so a Dask array (one layer of 10⁷ tokens x 4,096 features, larger than one
machine, or a zarr store opened with ``dask.array.from_zarr``) is reduced chunk
by chunk on whatever scheduler is active (a ``dask.distributed.Client`` the
user runs, or Dask's default), and never held whole anywhere.

Two passes over the data by default. The first reads the first row, the column
sums of the differences from it and the largest absolute value; the second
centres each chunk (first row, then the mean, as the in-memory route does),
multiplies it by the power of two that brings the largest absolute difference
into [1/2, 1), and sums the products. With ``passes=1``, one pass: each row
block gives its moments about its own mean (to the fourth order in the squared
row norms, for the debiased estimator) and the blocks are merged as below. The
numbers equal the in-memory ones to rounding either way.

The shape metrics and ridge regression need the column means and the centred
products of several arrays at once (:func:`dask_moments`): one task per row
block computes, from that block alone, its mean (held as the block's first row
plus the mean of the differences from it, so that an offset far above the spread
does not round it) and the products of the rows centred at that mean, and the
blocks are merged pairwise with the update of Chan, Golub & LeVeque (1979),

.. math::

    M_{ab} = M_a + M_b + \\frac{n_a n_b}{n_a + n_b}\\,\\delta\\delta^\\top,
    \\qquad \\delta = \\bar x_b - \\bar x_a,

so the data are read once, no product of uncentred rows is formed (an offset
of 10⁶ times the spread costs no digit) and no task holds more than one row
block. Values whose squares could overflow or underflow are divided by the
exact power of two of the in-memory routes; that power is known only after a
pass over the data, so such data (rare) are read a second time.

This module imports Dask only when it is handed a Dask array.

References
----------
Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
representations revisited. ICML.

Chan, Golub & LeVeque (1979). Updating formulae and a pairwise algorithm for
computing sample variances. Technical report STAN-CS-79-773, Stanford.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from ._array_api import pow2_exponent
from ._validation import check_column_ranges, check_same_samples

__all__ = ["is_dask_array", "dask_linear_statistics", "as_dask_arrays", "dask_moments", "dask_scaled_moments",
           "dask_row_sum"]


def is_dask_array(X):
    """Whether ``X`` is a ``dask.array.Array`` (without importing Dask when it is not loaded)."""
    if "dask.array" not in sys.modules:
        return False
    import dask.array as da

    return isinstance(X, da.Array)


def _check_dask(X, name, min_samples):
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D Dask array (n_samples, n_features); got shape {X.shape}.")
    n, d = X.shape
    if math.isnan(n) or math.isnan(d):
        raise ValueError(
            f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() (or build it with known "
            "chunks) before comparing representations."
        )
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}.")
    if n < min_samples:
        raise ValueError(f"{name} has {n} samples; at least {min_samples} are needed.")
    if d < 1:
        raise ValueError(f"{name} has no features.")


def _cka_block(blocks, e):
    """Moments of one row block about its own mean, for linear CKA (see :func:`dask_linear_statistics`)."""
    n = blocks[0].shape[0]
    if n == 0:
        return None
    part = {"n": n}
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        dev = []
        for key, b in zip("xy", blocks):
            b = np.asarray(b)
            part["max" + key], part["min" + key] = b.max(axis=0), b.min(axis=0)
            D = np.ldexp(b.astype(np.float64), -e[key]) if e[key] else b.astype(np.float64, copy=True)
            # the mean as the first row plus the mean of the differences (see dask_moments)
            s = D[0].copy()
            D -= s
            m = D.mean(axis=0)
            D -= m
            part["s" + key], part["m" + key] = s, m
            dev.append(D)
        A, B = dev
        ra, rb = np.einsum("ij,ij->i", A, A), np.einsum("ij,ij->i", B, B)
        part.update(Gx=A.T @ A, Gy=B.T @ B, C=A.T @ B, Tx=ra.sum(), Ty=rb.sum(),
                    Qxx=ra @ ra, Qyy=rb @ rb, Qxy=ra @ rb,
                    Uxx=ra @ A, Uyx=rb @ A, Uxy=ra @ B, Uyy=rb @ B)
    return part


def _cka_shift(p, d, g):
    """The moments of block ``p`` about a mean moved by ``-d`` (X) and ``-g`` (Y): rows a + d, b + g."""
    n = p["n"]
    D, E = d @ d, g @ g
    Gd, Gg, Cg, Ctd = p["Gx"] @ d, p["Gy"] @ g, p["C"] @ g, p["C"].T @ d
    return {
        "Gx": p["Gx"] + n * np.outer(d, d), "Gy": p["Gy"] + n * np.outer(g, g), "C": p["C"] + n * np.outer(d, g),
        "Tx": p["Tx"] + n * D, "Ty": p["Ty"] + n * E,
        "Qxx": p["Qxx"] + 4 * (d @ p["Uxx"]) + 4 * (d @ Gd) + 2 * D * p["Tx"] + n * D * D,
        "Qyy": p["Qyy"] + 4 * (g @ p["Uyy"]) + 4 * (g @ Gg) + 2 * E * p["Ty"] + n * E * E,
        "Qxy": (p["Qxy"] + 2 * (g @ p["Uxy"]) + 2 * (d @ p["Uyx"]) + 4 * (d @ Cg) + E * p["Tx"] + D * p["Ty"]
                + n * D * E),
        "Uxx": p["Uxx"] + 2 * Gd + p["Tx"] * d + n * D * d,
        "Uyx": p["Uyx"] + 2 * Cg + p["Ty"] * d + n * E * d,
        "Uxy": p["Uxy"] + 2 * Ctd + p["Tx"] * g + n * D * g,
        "Uyy": p["Uyy"] + 2 * Gg + p["Ty"] * g + n * E * g,
    }


def _cka_merge(*parts):
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    acc = parts[0]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for b in parts[1:]:
            na, nb = acc["n"], b["n"]
            n = na + nb
            dx = (b["sx"] - acc["sx"]) + (b["mx"] - acc["mx"])
            dy = (b["sy"] - acc["sy"]) + (b["my"] - acc["my"])
            # each block's rows about the merged mean: a + (m_a - m), b + (m_b - m)
            sa, sb = _cka_shift(acc, -dx * (nb / n), -dy * (nb / n)), _cka_shift(b, dx * (na / n), dy * (na / n))
            merged = {k: sa[k] + sb[k] for k in sa}
            merged.update(n=n, sx=acc["sx"], sy=acc["sy"], mx=acc["mx"] + dx * (nb / n), my=acc["my"] + dy * (nb / n),
                          maxx=np.maximum(acc["maxx"], b["maxx"]), minx=np.minimum(acc["minx"], b["minx"]),
                          maxy=np.maximum(acc["maxy"], b["maxy"]), miny=np.minimum(acc["miny"], b["miny"]))
            acc = merged
    return acc


def _first_pass(X):
    """Lazy first row, column sums of the differences from it and max |difference|, in float64."""
    X = X.astype(np.float64)
    x0 = X[0]
    D = X - x0
    return x0, D.sum(axis=0), abs(D).max()


def dask_linear_statistics(X, Y, *, min_samples=2, names=("X", "Y"), passes=2):
    """The centred d x d statistics of linear CKA for two Dask arrays, in scaled units.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features_x)
    Y : dask.array.Array of shape (n_samples, n_features_y)
    min_samples : int
    names : tuple of str
    passes : {1, 2}, default=2
        2: the first pass reads the first row, the column sums of the differences
        from it and the largest absolute difference, the second the products of
        the centred rows. 1: one pass of per-block moments merged in a tree (see
        the module docstring); the statistics are then scaled by the power of
        two of the largest column range rather than of the largest difference
        from the first row, which changes no ratio of them. Both equal the
        in-memory numbers to rounding.

    Returns
    -------
    dict
        ``n``; ``xx``, ``yy``, ``xy``: ‖XᶜᵀXᶜ‖²_F, ‖YᶜᵀYᶜ‖²_F, ‖XᶜᵀYᶜ‖²_F; ``tx``,
        ``ty``: ‖Xᶜ‖²_F, ‖Yᶜ‖²_F; ``dxx``, ``dyy``, ``dxy``: Σᵢ of the products
        of centred squared row norms. Xᶜ, Yᶜ carry the power of two of the
        module docstring.

    Raises
    ------
    ValueError
        Wrong shape, unknown chunks, NaN or inf, a representation with zero variance.
    """
    import dask

    if passes == 1:
        return _linear_statistics_one_pass(X, Y, min_samples, names)
    if passes != 2:
        raise ValueError(f"passes must be 1 or 2; got {passes!r}.")
    for A, name in ((X, names[0]), (Y, names[1])):
        _check_dask(A, name, min_samples)
    check_same_samples(X.shape[0], Y.shape[0], names=names)
    n = X.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):
        (x0, sx, mx), (y0, sy, my) = dask.compute(_first_pass(X), _first_pass(Y))
    centred = []
    for A, a0, s, m, name in ((X, x0, sx, mx, names[0]), (Y, y0, sy, my, names[1])):
        if not (np.isfinite(s).all() and math.isfinite(m)):
            raise ValueError(
                f"{name} contains NaN or inf values, or values near the largest float64; remove or "
                "impute them (or rescale) before comparing representations."
            )
        if not m > 0:
            raise ValueError(f"{name} has zero variance (every row is the same point); CKA is undefined.")
        e = math.frexp(m)[1]
        # centred like the in-memory route: first row, then the mean of the differences
        C = ((A.astype(np.float64) - a0) - s / n) * math.ldexp(1.0, -e)
        centred.append(C)
    Xc, Yc = centred
    Yc = Yc.rechunk({0: Xc.chunks[0]})
    rx = (Xc * Xc).sum(axis=1)
    ry = (Yc * Yc).sum(axis=1)
    Gx, Gy, Gxy, tx, ty, dxx, dyy, dxy = dask.compute(
        Xc.T @ Xc, Yc.T @ Yc, Xc.T @ Yc, rx.sum(), ry.sum(), (rx * rx).sum(), (ry * ry).sum(), (rx * ry).sum()
    )
    return {
        "n": n, "xx": float(np.vdot(Gx, Gx)), "yy": float(np.vdot(Gy, Gy)), "xy": float(np.vdot(Gxy, Gxy)),
        "tx": float(tx), "ty": float(ty), "dxx": float(dxx), "dyy": float(dyy), "dxy": float(dxy),
    }


#: Ranges beyond 2**±this are rescaled before the fourth powers of the debiased
#: estimator are summed (they would overflow or underflow near 2**±256).
_CKA_RESCALE_EXPONENT = 100


def _linear_statistics_one_pass(X, Y, min_samples, names):
    """:func:`dask_linear_statistics` with ``passes=1``.

    Each block's moments about its own mean are moved to the merged mean
    (:func:`_cka_shift`) and added; data whose range lies beyond
    :math:`2^{\\pm 100}` are read a second time, divided by their power of two, so
    that the fourth powers neither overflow nor underflow.
    """
    import dask
    from dask import delayed

    for A, name in ((X, names[0]), (Y, names[1])):
        _check_dask(A, name, min_samples)
    check_same_samples(X.shape[0], Y.shape[0], names=names)
    n = X.shape[0]
    e = {"x": 0, "y": 0}
    while True:
        parts = [delayed(_cka_block, pure=True)(list(blocks), dict(e)) for blocks in _row_blocks([X, Y])]
        (st,) = dask.compute(_tree(parts, _cka_merge))
        want = {}
        for key, name in (("x", names[0]), ("y", names[1])):
            with np.errstate(over="ignore", invalid="ignore"):
                top = float(np.max(st["max" + key].astype(np.float64) - st["min" + key].astype(np.float64)))
            if not math.isfinite(top):
                raise ValueError(
                    f"{name} contains NaN or inf values, or values near the largest float64; remove or "
                    "impute them (or rescale) before comparing representations."
                )
            if not top > 0:
                raise ValueError(f"{name} has zero variance (every row is the same point); CKA is undefined.")
            # the range in the units of this pass
            top = math.ldexp(top, -e[key])
            want[key] = math.frexp(top)[1]
        if all(abs(want[k]) <= _CKA_RESCALE_EXPONENT or e[k] for k in "xy"):
            break
        e = {k: (want[k] + e[k] if abs(want[k]) > _CKA_RESCALE_EXPONENT else e[k]) for k in "xy"}
    # exact powers of two: the range of each side in [1/2, 1)
    kx, ky = want["x"], want["y"]
    Gx, Gy, C = np.ldexp(st["Gx"], -2 * kx), np.ldexp(st["Gy"], -2 * ky), np.ldexp(st["C"], -kx - ky)
    return {
        "n": n, "xx": float(np.vdot(Gx, Gx)), "yy": float(np.vdot(Gy, Gy)), "xy": float(np.vdot(C, C)),
        "tx": math.ldexp(float(st["Tx"]), -2 * kx), "ty": math.ldexp(float(st["Ty"]), -2 * ky),
        "dxx": math.ldexp(float(st["Qxx"]), -4 * kx), "dyy": math.ldexp(float(st["Qyy"]), -4 * ky),
        "dxy": math.ldexp(float(st["Qxy"]), -2 * kx - 2 * ky),
    }


# --------------------------------------------------------------------------- moments of several arrays
def as_dask_arrays(arrays, names, *, min_samples=1, same_samples=True):
    """Dask versions of ``arrays``, checked; NumPy-like ones take the row chunks of the first Dask array.

    Parameters
    ----------
    arrays : sequence of array-like
        At least one a Dask array.
    names : sequence of str
        Argument names for error messages.
    min_samples : int
    same_samples : bool
        Whether all arrays must have the same number of rows (checked pairwise with the first).

    Returns
    -------
    list of dask.array.Array
    """
    import dask.array as da

    first = next(A for A in arrays if is_dask_array(A))
    out = []
    for A, name in zip(arrays, names):
        if not is_dask_array(A):
            A = np.asarray(A)
            if A.ndim == 2 and A.shape[0] == first.shape[0]:
                A = da.from_array(A, chunks=(first.chunks[0], -1))
            else:
                A = da.from_array(A)
        _check_dask(A, name, min_samples)
        out.append(A)
    if same_samples:
        for A, name in zip(out[1:], names[1:]):
            check_same_samples(out[0].shape[0], A.shape[0], names=(names[0], name))
    return out


def _block_moments(blocks, exponents, centres, grams, crosses, derive):
    """Moments of one row block: see :func:`dask_moments`. None for a block without rows."""
    n = blocks[0].shape[0]
    if n == 0:
        return None
    if derive is not None:
        blocks = derive[0](blocks, *derive[1:])
    part = {"n": n, "max": [], "min": [], "shift": [], "mean": [], "m2": [], "cross": {}}
    dev = []
    # overflow here is detected on the host from the column extremes, and the pass rerun scaled
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for b, e, c, g in zip(blocks, exponents, centres, grams):
            b = np.asarray(b)
            part["max"].append(b.max(axis=0))
            part["min"].append(b.min(axis=0))
            # a new array: the block may be a chunk other tasks read
            D = np.ldexp(b.astype(np.float64), -e) if e else b.astype(np.float64, copy=True)
            if c is not None:
                D -= c
            # the mean as the block's first row plus the mean of the differences from it: at an
            # offset far above the spread a rounded mean would carry an error of eps x offset
            s = D[0].copy()
            D -= s
            m = D.mean(axis=0)
            D -= m
            part["shift"].append(s)
            part["mean"].append(m)
            part["m2"].append(D.T @ D if g else np.einsum("ij,ij->j", D, D))
            dev.append(D)
        for i, j in crosses:
            part["cross"][i, j] = dev[i].T @ dev[j]
    return part


def _merge_two(a, b):
    na, nb = a["n"], b["n"]
    n = na + nb
    f = na * nb / n
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        delta = [(sb - sa) + (mb - ma) for sa, sb, ma, mb in zip(a["shift"], b["shift"], a["mean"], b["mean"])]
        m2 = [A + B + (np.outer(d, d) if A.ndim == 2 else d * d) * f for A, B, d in zip(a["m2"], b["m2"], delta)]
        cross = {(i, j): C + b["cross"][i, j] + np.outer(delta[i], delta[j]) * f for (i, j), C in a["cross"].items()}
        mean = [ma + d * (nb / n) for ma, d in zip(a["mean"], delta)]
    return {"n": n, "shift": a["shift"], "max": [np.maximum(x, y) for x, y in zip(a["max"], b["max"])],
            "min": [np.minimum(x, y) for x, y in zip(a["min"], b["min"])],
            "mean": mean, "m2": m2, "cross": cross}


def _merge_moments(*parts):
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    acc = parts[0]
    for p in parts[1:]:
        acc = _merge_two(acc, p)
    return acc


def _row_blocks(arrays):
    """Delayed row blocks of each array at full width, on the row chunks of the first."""
    rows = arrays[0].chunks[0]
    return list(zip(*[A.rechunk({0: rows, 1: -1}).to_delayed().ravel() for A in arrays]))


def _tree(parts, merge, fan_in=8):
    from dask import delayed

    while len(parts) > 1:
        parts = [delayed(merge, pure=True)(*parts[i:i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


def _sum_parts(*parts):
    parts = [p for p in parts if p is not None]
    return None if not parts else sum(parts[1:], parts[0])


def dask_row_sum(arrays, func, *args):
    """``sum_b func(blocks_b, *args)`` over the row blocks ``b`` of Dask arrays on the same rows.

    ``func`` (a module-level function, so that it pickles) gets the list of the
    arrays' blocks of one row range, at full width, and returns a NumPy array
    (or None for a block without rows); the sums are formed in a tree.
    """
    import dask
    from dask import delayed

    parts = [delayed(func, pure=True)(list(blocks), *args) for blocks in _row_blocks(arrays)]
    (result,) = dask.compute(_tree(parts, _sum_parts))
    return result


def dask_moments(arrays, *, exponents=None, centres=None, grams=None, crosses=(), derive=None, fan_in=8):
    """Column extremes, means and centred second moments of Dask arrays on the same rows, in one pass.

    With :math:`D_i = x_i 2^{-e_i} - c_i` (float64) for array :math:`i`, its mean
    :math:`\\bar d_i` and :math:`D_i^c = D_i - \\bar d_i`, the result holds
    :math:`D_i^{c\\top} D_i^c` (or its diagonal), :math:`D_i^{c\\top} D_j^c` for the
    requested pairs, and the column maxima and minima of the values given. Each
    row block is one task that reads each array's block once (rechunked to the
    row chunks of the first array, at full width); blocks are merged by the
    update of the module docstring, in a tree of ``fan_in`` parts per task.

    Parameters
    ----------
    arrays : list of dask.array.Array
        Checked (see :func:`as_dask_arrays`), with equal numbers of rows.
    exponents : list of int, optional
        :math:`e_i`; default 0.
    centres : list of ndarray or None, optional
        :math:`c_i` (NumPy, in the units after scaling); default None (0).
    grams : list of bool, optional
        Whether to form the full :math:`d_i \\times d_i` product (else only its
        diagonal); default True.
    crosses : sequence of (int, int)
        Pairs ``(i, j)`` whose cross-product is wanted.
    derive : tuple, optional
        ``(func, *args)``: the moments are those of ``func(blocks, *args)``, a list
        of blocks formed from each row block of ``arrays`` (a module-level
        function, so that it pickles); ``exponents`` and the rest then refer
        to its outputs.

    Returns
    -------
    dict
        ``n``; lists ``max``, ``min`` (in each array's dtype), ``mean``
        (:math:`\\bar d_i`), ``m2``; dict ``cross`` keyed by the pairs.
    """
    import dask
    from dask import delayed

    k = len(arrays) if derive is None else len(centres if centres is not None else grams)
    exponents = [0] * k if exponents is None else [int(e) for e in exponents]
    centres = [None] * k if centres is None else list(centres)
    grams = [True] * k if grams is None else [bool(g) for g in grams]
    parts = [delayed(_block_moments, pure=True)(list(blocks), exponents, centres, grams, list(crosses), derive)
             for blocks in _row_blocks(arrays)]
    (result,) = dask.compute(_tree(parts, _merge_moments, fan_in))
    result["mean"] = [s + m for s, m in zip(result.pop("shift"), result["mean"])]
    return result


def _peak_exponent(result, i, dtype):
    """The power-of-two exponent the in-memory routes use for array ``i`` (``when='extreme'``)."""
    # the in-memory checks make integers float64 and float16 float32
    dtype = np.result_type(dtype, np.float32) if np.dtype(dtype).kind == "f" else np.float64
    peak = np.array([result["max"][i].max(), result["min"][i].min()]).astype(dtype)
    return pow2_exponent(peak, when="extreme")


def dask_scaled_moments(arrays, names, *, grams=None, crosses=(), nonconstant=True, exponent=None,
                        centre=None, derive=None, dtypes=None, checked=None):
    """:func:`dask_moments` at the power-of-two scale of the in-memory routes, with their checks.

    A first pass at the guessed exponents; when the column extremes it returns
    call for other exponents (values whose squares overflow or underflow), a
    second pass at those.

    Parameters
    ----------
    arrays : list of dask.array.Array
    names : list of str
    names : list of str
        One per array whose moments are formed (the outputs of ``derive``, if given).
    grams, crosses, derive
        As in :func:`dask_moments`.
    nonconstant : bool
        Raise when an array has zero variance.
    exponent : callable, optional
        ``exponent(es)``: the list of exponents to use when the in-memory
        exponents of the arrays are ``es`` (default ``es``). Called with
        ``es=None`` for the first guess, which it must give without the data.
    centre : callable, optional
        ``centre(i, e)``: :math:`c_i` for exponent ``e`` (default None).
    dtypes : list of dtype, optional
        The dtypes the exponents are chosen for (default: those of ``arrays``).
    checked : list of bool, optional
        Which arrays the NaN and zero-variance checks apply to (default all).

    Returns
    -------
    result : dict
        As :func:`dask_moments`.
    exponents : list of int
    """
    k = len(names)
    exponent = (lambda es: [0] * k if es is None else es) if exponent is None else exponent
    centre = (lambda i, e: None) if centre is None else centre
    dtypes = [A.dtype for A in arrays] if dtypes is None else dtypes
    exps = exponent(None)
    while True:
        result = dask_moments(arrays, exponents=exps, centres=[centre(i, exps[i]) for i in range(k)],
                              grams=grams, crosses=crosses, derive=derive)
        for i, name in enumerate(names):
            if checked is not None and not checked[i]:
                continue
            if not (np.isfinite(result["max"][i]).all() and np.isfinite(result["min"][i]).all()):
                raise ValueError(f"{name} contains NaN or inf values; remove or impute them before comparing "
                                 "representations.")
            if nonconstant:
                check_column_ranges(result["max"][i], result["min"][i], name, result["n"])
        want = exponent([_peak_exponent(result, i, dtypes[i]) for i in range(k)])
        if want == exps:
            return result, exps
        exps = want
