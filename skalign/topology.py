"""Topology of one representation: cubical Betti profiles and persistence summaries.

Two readings of the *shape* of a representation, both on gudhi:

Cubical Betti profiles (after Suresh et al., 2023)
    A feature map, an image or a conv layer's C x H x W volume is a function ``a``
    on a grid. Its superlevel sets ``{a >= eta}`` are cubical complexes; their Betti
    numbers ``beta_q(eta)`` over a grid of thresholds form the *Betti curves*. The
    persistence of the filtration of ``-a`` is computed once per sample and every
    curve is read off its bars: a bar ``(b, d)`` is alive at level ``-eta`` iff
    ``b <= -eta < d``, so ``beta_q(eta) = #{(b, d) in Dgm_q : b <= -eta < d}``.
    The topological complexity ``Omega`` of a layer is the mean over samples of
    ``sum_q beta_q`` (Naitzat, Zhitnikov & Lim, 2020; Suresh et al., 2023) and its
    decay ``theta`` with depth is the least-squares slope of ``Omega`` against
    normalised depth.

Persistence summaries of point clouds (after Tang, Wang, Garcia-Redondo & Monod)
    A point cloud (an embedding matrix at one checkpoint) gives a Vietoris-Rips
    filtration; its barcode is summarised per homology dimension by the maximum
    persistence, the total persistence ``sum (d - b)^p``, the number of bars longer
    than a threshold, and the persistent entropy.

Conventions
-----------
*T-construction* (``construction='T'``): every value is a top-dimensional cell
(a pixel is a closed unit square, a voxel a closed cube); cells that share only a
corner are adjacent, so superlevel sets have 8-connectivity in 2-D (26 in 3-D).
*V-construction* (``construction='V'``): every value is a vertex and a higher cell
enters when all its vertices have; superlevel sets have 4-connectivity in 2-D (6 in
3-D). See Bleile, Garin, Heiss, Maggs & Robins (2022), "The persistent homology of
dual digital image constructions".

References
----------
S. Suresh, B. Das, V. Abrol, S. Dutta Roy. On characterizing the evolution of
embedding space of neural networks using algebraic topology. arXiv:2311.04592, 2023.

G. Naitzat, A. Zhitnikov, L.-H. Lim. Topology of deep neural networks. JMLR 21, 2020.

Tang, Wang, Garcia-Redondo, Monod. Topological signatures of grokking.

H. Adams, M. Adamaszek. The Vietoris-Rips complexes of a circle. Pacific J. Math.
290, 2017 (the regular m-gon's H1 bar).

N. Atienza, R. Gonzalez-Diaz, M. Soriano-Trigueros. On the stability of persistent
entropy and new summary functions for topological data analysis. Pattern
Recognition 107, 2020.
"""

from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs

from ._validation import check_random_state, check_representation

__all__ = [
    "as_grids",
    "cubical_diagrams",
    "betti_curves",
    "quantile_thresholds",
    "minmax_per_sample",
    "topological_complexity",
    "complexity_decay",
    "ComplexityDecay",
    "as_point_clouds",
    "rips_diagrams",
    "diagram_features",
    "persistence_summary",
    "PERSISTENCE_FEATURES",
]

CONSTRUCTIONS = ("T", "V")
SCALES = ("none", "max_h0_death", "diameter")
#: Names of the per-dimension features of :func:`persistence_summary`, in column order.
PERSISTENCE_FEATURES = ("max_persistence", "total_persistence", "n_bars_above", "entropy")


# ---------------------------------------------------------------------------
# Cubical input
# ---------------------------------------------------------------------------
def as_grids(X, *, grid_shape=None, name="X"):
    """Validate samples given on a regular grid and return them as ``(n, *grid)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), (n_samples, H, W) or (n_samples, H, W, D)
        One function on a grid per sample. A 2-D array with ``grid_shape=None`` is
        read as one 1-D signal per row (a grid of ``n_features`` cells).
    grid_shape : tuple of int or None
        Shape of one sample's grid (1 to 3 axes). With 2-D ``X`` its product must be
        ``n_features``; with 3-D or 4-D ``X`` it must equal ``X.shape[1:]``.
    name : str
        Argument name for error messages.

    Returns
    -------
    grids : ndarray of shape ``(n_samples, *grid)``
    """
    X = check_representation(X, name=name, ndim=(2, 3, 4))
    if grid_shape is None:
        return X
    shape = _check_grid_shape(grid_shape)
    if X.ndim == 2:
        if math.prod(shape) != X.shape[1]:
            raise ValueError(
                f"grid_shape={tuple(grid_shape)} holds {math.prod(shape)} cells but {name} has "
                f"{X.shape[1]} features per sample; got {name} of shape {X.shape}."
            )
        return X.reshape((X.shape[0],) + shape)
    if X.shape[1:] != shape:
        raise ValueError(
            f"grid_shape={tuple(grid_shape)} does not match the grid of {name}, whose samples "
            f"have shape {X.shape[1:]}; pass grid_shape=None for {X.ndim}-D input or flatten it."
        )
    return X


def _check_grid_shape(grid_shape):
    try:
        shape = tuple(grid_shape)
    except TypeError:
        raise TypeError(
            f"grid_shape must be a tuple of positive integers; got {grid_shape!r}."
        ) from None
    if not 1 <= len(shape) <= 3:
        raise ValueError(
            f"grid_shape must have 1, 2 or 3 axes (a signal, an image or a volume); "
            f"got {len(shape)} axes in {shape}."
        )
    for s in shape:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral) or s < 1:
            raise ValueError(f"grid_shape must hold positive integers; got {shape}.")
    return tuple(int(s) for s in shape)


def minmax_per_sample(X):
    """Rescale every sample (first axis) to [0, 1] by its own min and max.

    A constant sample becomes all zeros.
    """
    X = np.asarray(X, dtype=np.float64)
    flat = X.reshape(X.shape[0], -1)
    lo = flat.min(axis=1, keepdims=True)
    span = flat.max(axis=1, keepdims=True) - lo
    span[span == 0] = 1.0
    return ((flat - lo) / span).reshape(X.shape)


def quantile_thresholds(X, n_thresholds):
    """``n_thresholds`` evenly spaced quantiles (levels 0 to 1) of all values of ``X``."""
    values = np.asarray(X, dtype=np.float64).ravel()
    if n_thresholds == 1:
        return np.array([float(np.median(values))])
    return np.quantile(values, np.linspace(0.0, 1.0, n_thresholds))


# ---------------------------------------------------------------------------
# Cubical persistence and Betti curves
# ---------------------------------------------------------------------------
def _diagrams_of_block(block, dims, construction):
    """Diagrams of the filtration of ``-a`` for every sample of ``block``."""
    # gudhi's sklearn wrapper has a dedicated O(n log n) algorithm for 2-D top cells
    # (about 40x faster than the generic CubicalComplex on 28x28 images) and falls back
    # to CubicalComplex otherwise; a 1-D signal has the same H0 in T and V.
    from gudhi.sklearn.cubical_persistence import CubicalPersistence

    input_type = "top_dimensional_cells" if construction == "T" else "vertices"
    cp = CubicalPersistence(homology_dimensions=list(dims), input_type=input_type, n_jobs=1)
    return cp.fit_transform([-np.asarray(s, dtype=np.float64) for s in block])


def cubical_diagrams(X, *, homology_dimensions=(0, 1), construction="T", grid_shape=None, n_jobs=None):
    """Persistence diagrams of the superlevel filtrations of every sample.

    Parameters
    ----------
    X : array-like, see :func:`as_grids`
    homology_dimensions : sequence of int
    construction : {'T', 'V'}
        Pixels as top cells (8-connectivity in 2-D) or as vertices (4-connectivity).
    grid_shape : tuple of int or None
    n_jobs : int or None
        Threads over samples (gudhi releases the GIL).

    Returns
    -------
    diagrams : list of list of ndarray of shape (n_bars, 2)
        ``diagrams[i][j]`` holds the bars ``(b, d)`` of dimension
        ``homology_dimensions[j]`` of sample ``i`` in the filtration of ``-X[i]``:
        a feature appears when the superlevel threshold falls to ``-b`` and vanishes
        when it falls to ``-d`` (``d = inf`` for an essential class).
    """
    grids = as_grids(X, grid_shape=grid_shape)
    dims = _check_dims(homology_dimensions)
    _check_construction(construction)
    blocks = _split(grids, n_jobs)
    out = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_diagrams_of_block)(b, dims, construction) for b in blocks
    )
    return [d for part in out for d in part]


def _bars_to_curves(diagrams, levels_sorted, n_dims):
    """Betti curves of many samples from their bars, in one vectorised pass.

    ``levels_sorted`` are the sublevel values ``t_k = -eta_k`` in increasing order.
    A bar ``(b, d)`` is alive exactly for ``lo <= k < hi`` with ``lo = #{t_k < b}``
    and ``hi = #{t_k < d}``; adding +1 at ``lo`` and -1 at ``hi`` of a difference
    array and taking the running sum counts the live bars at every level at once.
    """
    n = len(diagrams)
    K = levels_sorted.size
    flat = [per_dim[j] for per_dim in diagrams for j in range(n_dims)]
    counts = np.fromiter((len(b) for b in flat), dtype=np.int64, count=len(flat))
    if not counts.any():
        return np.zeros((n, n_dims, K), dtype=np.int64)
    bars = np.concatenate([np.asarray(b, dtype=np.float64).reshape(-1, 2) for b in flat if len(b)])
    rows = np.repeat(np.arange(n * n_dims, dtype=np.int64), counts)
    lo = np.searchsorted(levels_sorted, bars[:, 0], side="left")
    hi = np.searchsorted(levels_sorted, bars[:, 1], side="left")
    width = K + 1
    size = n * n_dims * width
    diff = np.bincount(rows * width + lo, minlength=size) - np.bincount(rows * width + hi, minlength=size)
    curves = np.cumsum(diff.reshape(n * n_dims, width), axis=1)[:, :K]
    return curves.reshape(n, n_dims, K)


def _curves_of_block(block, dims, construction, levels_sorted):
    return _bars_to_curves(_diagrams_of_block(block, dims, construction), levels_sorted, len(dims))


def betti_curves(
    X, thresholds, *, homology_dimensions=(0, 1), construction="T", grid_shape=None, n_jobs=None
):
    """Betti numbers of the superlevel sets ``{X[i] >= eta}`` at every threshold.

    The persistence of ``-X[i]`` is computed once per sample; the Betti numbers at
    all thresholds are then counted from the bars,
    ``beta_q(eta) = #{(b, d) in Dgm_q(-X[i]) : b <= -eta < d}``, for all samples
    and thresholds in one vectorised pass. No complex is rebuilt per threshold.

    Parameters
    ----------
    X : array-like, see :func:`as_grids`
    thresholds : array-like of float, shape (n_thresholds,)
        The levels ``eta``, in any order; the output follows it.
    homology_dimensions : sequence of int
        Dimensions at or above the grid's dimension are identically zero (a subset
        of R^d has no d-dimensional homology) and are returned as zero curves.
    construction : {'T', 'V'}
    grid_shape : tuple of int or None
    n_jobs : int or None
        Threads over blocks of samples.

    Returns
    -------
    curves : ndarray of int64, shape (n_samples, n_dims, n_thresholds)
    """
    grids = as_grids(X, grid_shape=grid_shape)
    dims = _check_dims(homology_dimensions)
    _check_construction(construction)
    eta = _check_thresholds(thresholds)
    levels = -eta
    order = np.argsort(levels, kind="stable")
    levels_sorted = levels[order]
    blocks = _split(grids, n_jobs)
    parts = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_curves_of_block)(b, dims, construction, levels_sorted) for b in blocks
    )
    sorted_curves = np.concatenate(parts, axis=0)
    curves = np.empty_like(sorted_curves)
    curves[:, :, order] = sorted_curves
    return curves


def _split(grids, n_jobs):
    n = grids.shape[0]
    n_blocks = max(1, min(n, 4 * effective_n_jobs(n_jobs)))
    return [grids[s] for s in np.array_split(np.arange(n), n_blocks) if s.size]


def _check_dims(homology_dimensions):
    dims = np.atleast_1d(np.asarray(homology_dimensions)).ravel()
    if dims.size == 0 or dims.dtype.kind not in "iu" or (dims < 0).any() or np.unique(dims).size != dims.size:
        raise ValueError(
            "homology_dimensions must be distinct non-negative integers; "
            f"got {homology_dimensions!r}."
        )
    return tuple(int(d) for d in dims)


def _check_construction(construction):
    if construction not in CONSTRUCTIONS:
        raise ValueError(f"construction must be 'T' or 'V'; got {construction!r}.")


def _check_thresholds(thresholds):
    eta = np.asarray(thresholds, dtype=np.float64).ravel()
    if eta.size == 0 or not np.isfinite(eta).all():
        raise ValueError(f"thresholds must be a non-empty array of finite numbers; got {thresholds!r}.")
    return eta


# ---------------------------------------------------------------------------
# Layer-level complexity and its decay
# ---------------------------------------------------------------------------
ComplexityDecay = namedtuple("ComplexityDecay", ["theta", "intercept", "r2"])
ComplexityDecay.__doc__ = """Least-squares fit ``Omega ~ intercept + theta * depth`` (depth in [0, 1]).

``theta < 0`` means the complexity falls with depth; ``r2`` is the coefficient of
determination of the fit (nan when Omega is constant)."""


def topological_complexity(
    layers,
    *,
    homology_dimensions=(0, 1),
    construction="T",
    summary="area",
    eta=0.5,
    n_thresholds=20,
    per_channel=True,
    channel_axis=1,
    normalize="sample",
    relative=False,
    n_jobs=None,
):
    """Topological complexity Omega of every layer of a network.

    ``Omega = mean_i sum_q beta_q({a_i >= eta})`` over the samples ``i`` of a layer,
    at one threshold (``summary='threshold'``), or its mean over an even grid of
    thresholds spanning the values, i.e. the area under the summed Betti curve
    divided by the value range (``summary='area'``).

    The paper (Suresh et al., 2023) does not fix every step; the choices below are
    the library's, each a parameter:

    * thresholds are taken in per-sample min-max units by default
      (``normalize='sample'``), so that layers of different scale are comparable;
    * the T-construction (8-connectivity) by default;
    * conv volumes are read per channel and averaged over channels by default
      (``per_channel=True``), so that a wider layer does not count more; with
      ``per_channel=False`` the C x H x W volume is one 3-D grid;
    * the raw Omega by default; ``relative=True`` adds ``omega_relative``, Omega
      divided by the first layer's.

    Parameters
    ----------
    layers : list or dict of array-like
        Per-layer activations, samples first, in depth order: (n, C, H, W) conv
        volumes (channel axis ``channel_axis``), (n, H, W) single-channel maps, or
        (n, d) vectors (read as 1-D signals, so only beta_0 is non-zero and it depends
        on the unit order). A dict's keys name the layers.
    homology_dimensions : sequence of int
    construction : {'T', 'V'}
    summary : {'area', 'threshold'}
    eta : float
        Threshold for ``summary='threshold'``, in the units set by ``normalize``
        (default 0.5: half-way between each sample's min and max).
    n_thresholds : int
        Grid size for ``summary='area'``: midpoints of ``n_thresholds`` equal bins
        of [0, 1] for ``normalize='sample'`` or ``'layer'``, or of the layer's
        [min, max] for ``normalize='none'``.
    per_channel : bool
    channel_axis : int
        Axis of the channels in 4-D layers (1 for PyTorch's NCHW, -1 or 3 for NHWC).
    normalize : {'sample', 'layer', 'none'}
        Min-max rescaling of each sample (each sample's channel when per channel),
        of the whole layer, or none.
    relative : bool
    n_jobs : int or None

    Returns
    -------
    profile : pandas.DataFrame
        One row per layer (index: layer name) with ``depth`` (layer position scaled
        to [0, 1]), ``omega``, ``betti<q>`` (the per-dimension means that sum to
        Omega), ``n_samples`` and, when ``relative``, ``omega_relative``.
    """
    import pandas as pd

    if isinstance(layers, dict):
        names = [str(k) for k in layers]
        arrays = list(layers.values())
    else:
        arrays = list(layers)
        names = [f"layer{i}" for i in range(len(arrays))]
    if not arrays:
        raise ValueError("layers is empty; pass a list or dict of per-layer activations.")
    if summary not in ("area", "threshold"):
        raise ValueError(f"summary must be 'area' or 'threshold'; got {summary!r}.")
    if normalize not in ("sample", "layer", "none"):
        raise ValueError(f"normalize must be 'sample', 'layer' or 'none'; got {normalize!r}.")
    if isinstance(n_thresholds, bool) or not isinstance(n_thresholds, numbers.Integral) or n_thresholds < 1:
        raise ValueError(f"n_thresholds must be a positive integer; got {n_thresholds!r}.")
    dims = _check_dims(homology_dimensions)
    _check_construction(construction)

    rows = []
    for name, A in zip(names, arrays):
        A = check_representation(A, name=f"layers[{name!r}]", ndim=(2, 3, 4))
        n = A.shape[0]
        if A.ndim == 4 and per_channel:
            A = np.moveaxis(A, channel_axis, 1)
            n_maps = A.shape[1]
            grids = A.reshape((n * n_maps,) + A.shape[2:])
        else:
            n_maps = 1
            grids = A
        if normalize == "sample":
            grids = minmax_per_sample(grids)
        elif normalize == "layer":
            lo, hi = float(grids.min()), float(grids.max())
            grids = (grids - lo) / (hi - lo if hi > lo else 1.0)
        if summary == "threshold":
            thresholds = np.array([float(eta)])
        else:
            lo, hi = (0.0, 1.0) if normalize != "none" else (float(grids.min()), float(grids.max()))
            edges = np.linspace(lo, hi, n_thresholds + 1)
            thresholds = 0.5 * (edges[:-1] + edges[1:])
        curves = betti_curves(
            grids, thresholds, homology_dimensions=dims, construction=construction, n_jobs=n_jobs
        )
        # mean over thresholds, then over channels and samples
        per_dim = curves.mean(axis=2).reshape(n, n_maps, len(dims)).mean(axis=(0, 1))
        row = {"layer": name, "omega": float(per_dim.sum()), "n_samples": n}
        row.update({f"betti{q}": float(v) for q, v in zip(dims, per_dim)})
        rows.append(row)
    profile = pd.DataFrame(rows).set_index("layer")
    L = len(rows)
    profile.insert(0, "depth", np.linspace(0.0, 1.0, L) if L > 1 else np.zeros(1))
    if relative:
        first = profile["omega"].iloc[0]
        profile["omega_relative"] = profile["omega"] / first if first > 0 else np.nan
    return profile


def complexity_decay(profile, depth=None, *, log=False, column="omega"):
    """Decay rate theta of the topological complexity with depth.

    Least squares fit of ``Omega`` (or ``log Omega`` with ``log=True``) against
    depth scaled to [0, 1]: ``Omega_l ~ intercept + theta * depth_l``. A negative
    ``theta`` means complexity falls with depth, as Suresh et al. (2023) report for
    well-generalising networks.

    Parameters
    ----------
    profile : pandas.DataFrame or array-like of shape (n_layers,)
        The output of :func:`topological_complexity` (column ``column`` is used,
        and its ``depth`` column when ``depth`` is None) or the Omega values.
    depth : array-like of shape (n_layers,) or None
        Layer depths (any increasing scale, e.g. layer index or cumulative FLOPs);
        rescaled to [0, 1]. None: the profile's ``depth`` or evenly spaced.
    log : bool
        Fit log Omega (an exponential decay ``Omega ~ exp(theta * depth)``).
    column : str

    Returns
    -------
    ComplexityDecay
        ``(theta, intercept, r2)``.
    """
    if hasattr(profile, "columns"):
        if column not in profile.columns:
            raise ValueError(f"profile has no column {column!r}; columns are {list(profile.columns)}.")
        omega = profile[column].to_numpy(dtype=np.float64)
        if depth is None and "depth" in profile.columns:
            depth = profile["depth"].to_numpy(dtype=np.float64)
    else:
        omega = np.asarray(profile, dtype=np.float64).ravel()
    L = omega.size
    if L < 2:
        raise ValueError(f"complexity_decay needs at least 2 layers; got {L}.")
    if not np.isfinite(omega).all():
        raise ValueError("profile contains NaN or inf complexity values.")
    if depth is None:
        depth = np.linspace(0.0, 1.0, L)
    depth = np.asarray(depth, dtype=np.float64).ravel()
    if depth.size != L or not np.isfinite(depth).all():
        raise ValueError(f"depth must hold {L} finite values, one per layer; got {depth.size}.")
    span = depth.max() - depth.min()
    if span <= 0:
        raise ValueError("depth must not be constant: every layer would sit at the same depth.")
    x = (depth - depth.min()) / span
    y = omega
    if log:
        if (omega <= 0).any():
            raise ValueError("log=True needs Omega > 0 at every layer; some layers have Omega <= 0.")
        y = np.log(omega)
    A = np.column_stack([np.ones(L), x])
    (intercept, theta), *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ np.array([intercept, theta])
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    return ComplexityDecay(float(theta), float(intercept), r2)


# ---------------------------------------------------------------------------
# Point clouds: Rips persistence and its summaries
# ---------------------------------------------------------------------------
def as_point_clouds(X, *, metric="euclidean", name="X"):
    """Validate a collection of point clouds (or distance matrices).

    Parameters
    ----------
    X : list of array-like, or ndarray of 2 or 3 dimensions
        A list (or 3-D array) of clouds, each (n_points, d); with
        ``metric='precomputed'`` a list (or 3-D array) of square distance matrices.
        A 2-D numeric array is read as one cloud of scalar points per row (so that
        ``n_samples`` is the number of clouds, as scikit-learn expects).
    metric : str

    Returns
    -------
    clouds : list of ndarray
    """
    import scipy.sparse as sp

    if isinstance(X, np.ndarray) or hasattr(X, "to_numpy") or sp.issparse(X):
        arr = check_representation(X, name=name, ndim=(2, 3))
        if arr.ndim == 2:
            if metric == "precomputed":
                raise ValueError(
                    f"with metric='precomputed', {name} must be a list or 3-D array of square "
                    f"distance matrices; got a single 2-D array of shape {arr.shape}."
                )
            clouds = [row.reshape(-1, 1) for row in arr]
        else:
            clouds = list(arr)
    else:
        try:
            clouds = list(X)
        except TypeError:
            raise TypeError(
                f"{name} must be a list of point clouds (arrays of shape (n_points, d)); "
                f"got {type(X).__name__}."
            ) from None
        if not clouds:
            raise ValueError(f"{name} is empty; pass at least one point cloud.")
    out = []
    for i, c in enumerate(clouds):
        cname = f"{name}[{i}]"
        c = check_representation(c, name=cname, ndim=2)
        if c.shape[0] < 3:
            raise ValueError(
                f"{cname} has {c.shape[0]} point(s) ({c.shape[1]} feature(s) each); a Rips "
                "persistence summary needs at least 3 points per cloud."
            )
        if metric == "precomputed":
            if c.shape[0] != c.shape[1]:
                raise ValueError(
                    f"{cname} must be a square distance matrix with metric='precomputed'; got shape {c.shape}."
                )
            if (c < 0).any() or not np.allclose(c, c.T) or np.any(np.diag(c) != 0):
                raise ValueError(
                    f"{cname} is not a distance matrix: it must be symmetric, non-negative and "
                    "zero on the diagonal."
                )
        out.append(c)
    return out


def _distance_matrix(cloud, metric):
    if metric == "precomputed":
        return np.asarray(cloud, dtype=np.float64)
    from sklearn.metrics import pairwise_distances

    D = pairwise_distances(np.asarray(cloud, dtype=np.float64), metric=metric)
    D = 0.5 * (D + D.T)
    np.fill_diagonal(D, 0.0)
    return D


def _max_h0_death(D):
    """Longest edge of a minimum spanning tree = largest finite H0 death of the Rips filtration."""
    from scipy.sparse.csgraph import minimum_spanning_tree

    W = D.copy()
    # scipy reads zero entries as missing edges; duplicates are at a tiny positive distance instead
    off = ~np.eye(W.shape[0], dtype=bool)
    W[off & (W == 0)] = np.finfo(np.float64).tiny
    return float(minimum_spanning_tree(W).max())


def _farthest_points(cloud, m, metric, start):
    """Indices of ``m`` max-min (farthest-point) landmarks, the first one ``start``.

    The landmarks are a ``2r``-approximation of the cloud for their covering radius
    ``r``, so the Rips diagrams move by at most ``2r`` in bottleneck distance (Chazal,
    de Silva & Oudot, Geom. Dedicata 173, 2014). Distances are computed one landmark
    row at a time: O(n m) time, O(n) memory.
    """
    from sklearn.metrics import pairwise_distances

    n = cloud.shape[0]
    idx = np.empty(m, dtype=np.intp)
    idx[0] = start
    nearest = np.full(n, np.inf)
    for k in range(1, m + 1):
        j = idx[k - 1]
        if metric == "precomputed":
            row = cloud[j]
        else:
            row = pairwise_distances(cloud[j : j + 1], cloud, metric=metric)[0]
        np.minimum(nearest, row, out=nearest)
        if k < m:
            idx[k] = int(np.argmax(nearest))
    return idx


def _cloud_diagrams(cloud, dims, metric, max_edge_length, collapse_edges, sparse, max_points, scale, seed):
    from gudhi.sklearn.rips_persistence import RipsPersistence

    n = cloud.shape[0]
    if max_points is not None and n > max_points:
        idx = _farthest_points(cloud, max_points, metric, np.random.RandomState(seed).randint(n))
        D = cloud[np.ix_(idx, idx)] if metric == "precomputed" else _distance_matrix(cloud[idx], metric)
    else:
        D = _distance_matrix(cloud, metric)

    if scale == "none":
        s = 1.0
    elif scale == "diameter":
        s = float(D.max())
    else:
        s = _max_h0_death(D)
    if not s > 0:
        raise ValueError("a point cloud has all its points equal, so its scale is zero and cannot be normalised.")
    D = D / s

    if sparse is not None:
        from gudhi import RipsComplex

        rc = RipsComplex(distance_matrix=D, max_edge_length=max_edge_length, sparse=sparse)
        st = rc.create_simplex_tree(max_dimension=max(dims) + 1)
        st.compute_persistence(persistence_dim_max=True)
        dgms = [st.persistence_intervals_in_dimension(q) for q in dims]
    else:
        num_collapses = "auto" if collapse_edges == "auto" else (1 if collapse_edges else 0)
        rp = RipsPersistence(
            homology_dimensions=list(dims),
            threshold=max_edge_length,
            input_type="full distance matrix",
            num_collapses=num_collapses,
            n_jobs=1,
        )
        dgms = rp.fit_transform([D])[0]
    out = []
    for bars in dgms:
        bars = np.asarray(bars, dtype=np.float64).reshape(-1, 2)
        inf = ~np.isfinite(bars[:, 1])
        if inf.any():
            if np.isfinite(max_edge_length):
                bars = bars.copy()
                bars[inf, 1] = max_edge_length
            else:
                bars = bars[~inf]
        out.append(bars)
    return out


def rips_diagrams(
    X,
    *,
    homology_dimensions=(1,),
    metric="euclidean",
    max_edge_length=np.inf,
    collapse_edges="auto",
    sparse=None,
    max_points=1000,
    scale="none",
    random_state=None,
    n_jobs=None,
):
    """Vietoris-Rips persistence diagrams of point clouds.

    Parameters
    ----------
    X : list of clouds, see :func:`as_point_clouds`
    homology_dimensions : sequence of int
    metric : str
        Any metric of :func:`sklearn.metrics.pairwise_distances`, or 'precomputed'.
    max_edge_length : float
        Largest edge of the filtration, in the units after ``scale``. Classes still
        alive there get ``d = max_edge_length``; with an infinite value the only
        essential class (the H0 component) is dropped.
    collapse_edges : {'auto', True, False}
        Edge collapse before the expansion (gudhi's ``reduce_graph``), which keeps
        the persistence exactly. 'auto' is gudhi's heuristic (collapse when H2 or
        above is asked for): on a dense cloud in R^16 with 2,000 points one
        collapse took 20 to 60 times longer than the whole H1 computation without it.
    sparse : float or None
        Use gudhi's sparse Rips complex with this approximation parameter epsilon
        (a (1 + epsilon)-interleaving of the exact filtration) instead of the exact one.
        It is built by expansion in a simplex tree, which pays off in low ambient
        dimension only: 500 points of a noisy circle in R^16 with epsilon = 0.5 took
        about 2 minutes and 3.4 GB, against 2 s exact, so ``max_points`` landmarks are
        the default route for large clouds.
    max_points : int or None, default=1000
        Clouds with more points are replaced by this many farthest-point landmarks
        (the first chosen with ``random_state``); the bars then move by at most twice
        the landmarks' covering radius. Exact Rips persistence grows steeply with the
        number of points (a 2,000-point noisy circle in R^16 takes minutes, 1,000
        landmarks of it about 10 s); None keeps every point.
    scale : {'none', 'max_h0_death', 'diameter'}
        Divide all distances by the longest edge of a minimum spanning tree (the
        largest finite H0 death) or by the diameter of the cloud, so that a uniform
        shrinkage (e.g. by weight decay) is not read as a topological change.
    random_state : int, RandomState or None
    n_jobs : int or None
        Threads over clouds.

    Returns
    -------
    diagrams : list of list of ndarray of shape (n_bars, 2)
    """
    dims = _check_dims(homology_dimensions)
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}; got {scale!r}.")
    if not (isinstance(max_edge_length, numbers.Real) and max_edge_length > 0):
        raise ValueError(f"max_edge_length must be a positive number; got {max_edge_length!r}.")
    if max_points is not None and (
        isinstance(max_points, bool) or not isinstance(max_points, numbers.Integral) or max_points < 3
    ):
        raise ValueError(f"max_points must be None or an integer >= 3; got {max_points!r}.")
    if sparse is not None and not (isinstance(sparse, numbers.Real) and sparse > 0):
        raise ValueError(f"sparse must be None or a positive number; got {sparse!r}.")
    clouds = as_point_clouds(X, metric=metric)
    rs = check_random_state(random_state)
    # one seed for every cloud, so that a cloud's landmarks do not depend on its
    # position in X (transforming a subset of clouds gives a subset of rows)
    seed = int(rs.randint(np.iinfo(np.int32).max))
    return Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_cloud_diagrams)(
            c, dims, metric, float(max_edge_length), collapse_edges, sparse, max_points, scale, seed
        )
        for c in clouds
    )


def diagram_features(bars, *, p=1.0, persistence_threshold=0.1):
    """Summaries of one barcode.

    With lifetimes ``l_i = d_i - b_i`` and ``L = sum_i l_i``:

    * maximum persistence ``max_i l_i``;
    * total persistence ``sum_i l_i^p``;
    * the number of bars with ``l_i > persistence_threshold``;
    * persistent entropy ``-sum_i (l_i / L) log(l_i / L)`` (Atienza et al., 2020).

    An empty barcode gives zeros.

    Returns
    -------
    features : ndarray of shape (4,)
        In the order of :data:`PERSISTENCE_FEATURES`.
    """
    bars = np.asarray(bars, dtype=np.float64).reshape(-1, 2)
    life = bars[:, 1] - bars[:, 0]
    life = life[life > 0]
    if life.size == 0:
        return np.zeros(4)
    total = life.sum()
    q = life / total
    entropy = float(-(q * np.log(q)).sum()) + 0.0  # no -0.0 for a single bar
    return np.array([life.max(), (life**p).sum(), float((life > persistence_threshold).sum()), entropy])


def persistence_summary(
    X,
    *,
    homology_dimensions=(1,),
    p=1.0,
    persistence_threshold=0.1,
    metric="euclidean",
    max_edge_length=np.inf,
    collapse_edges="auto",
    sparse=None,
    max_points=1000,
    scale="none",
    random_state=None,
    n_jobs=None,
):
    """Rips persistence summaries of point clouds, one row per cloud.

    Parameters are those of :func:`rips_diagrams` and :func:`diagram_features`.

    Returns
    -------
    features : ndarray of shape (n_clouds, 4 * n_dims)
        For each homology dimension in turn, the features of
        :data:`PERSISTENCE_FEATURES`.
    """
    dgms = rips_diagrams(
        X,
        homology_dimensions=homology_dimensions,
        metric=metric,
        max_edge_length=max_edge_length,
        collapse_edges=collapse_edges,
        sparse=sparse,
        max_points=max_points,
        scale=scale,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    return np.array(
        [
            np.concatenate(
                [diagram_features(b, p=p, persistence_threshold=persistence_threshold) for b in per_dim]
            )
            for per_dim in dgms
        ]
    )
