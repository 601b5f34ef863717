"""Dask arrays: the d x d statistics of linear CKA as sums over row chunks.

Linear CKA needs, of each representation, only the centred products
XᶜᵀXᶜ, YᶜᵀYᶜ, XᶜᵀYᶜ and, for the debiased estimator, the traces and the sum of
products of the centred squared row norms, Σᵢ ‖xᵢᶜ‖² ‖yᵢᶜ‖². Each is a sum over
rows, so a Dask array (one layer of 10⁷ tokens x 4,096 features, larger than one
machine, or a zarr store opened with ``dask.array.from_zarr``) is reduced chunk
by chunk on whatever scheduler is active (a ``dask.distributed.Client`` the
user runs, or Dask's default), and never held whole anywhere.

Two passes over the data. The first reads the first row, the column sums of the
differences from it and the largest absolute value; the second centres each
chunk (first row, then the mean, as the in-memory route does), multiplies it by
the power of two that brings the largest absolute difference into [1/2, 1), and
sums the products. The numbers equal the in-memory ones to rounding.

This module imports Dask only when it is handed a Dask array.

References
----------
Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
representations revisited. ICML.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from ._validation import check_same_samples

__all__ = ["is_dask_array", "dask_linear_statistics"]


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


def _first_pass(X):
    """Lazy first row, column sums of the differences from it and max |difference|, in float64."""
    X = X.astype(np.float64)
    x0 = X[0]
    D = X - x0
    return x0, D.sum(axis=0), abs(D).max()


def dask_linear_statistics(X, Y, *, min_samples=2, names=("X", "Y")):
    """The centred d x d statistics of linear CKA for two Dask arrays, in scaled units.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features_x)
    Y : dask.array.Array of shape (n_samples, n_features_y)
    min_samples : int
    names : tuple of str

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
